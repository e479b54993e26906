#include "run_watcher.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <utility>
#include <exception>

#include "train/metrics_log.h"

namespace latent::ui {

RunWatcher::RunWatcher(QObject* parent) : QObject(parent) {
  timer_.setInterval(kPollMs);
  connect(&timer_, &QTimer::timeout, this, &RunWatcher::poll);
}

RunWatcher::~RunWatcher() = default;

QString RunWatcher::stateText(State s) {
  switch (s) {
    case Waiting: return tr("waiting for its first line");
    case Running: return tr("running");
    case Stalled: return tr("stalled");
    case Ended: return tr("ended");
    case ProcessGone: return tr("stopped: its process is gone");
  }
  return {};
}

void RunWatcher::watch(const QString& runDir, int stallSeconds) {
  stop();
  runDir_ = QDir(runDir).absolutePath();
  stallSeconds_ = stallSeconds;
  tail_ = std::make_unique<MetricsTail>(QDir(runDir_).filePath("metrics.jsonl").toStdString());
  lastLine_ = QDateTime::currentDateTimeUtc();
  lastCheckpoint_[0] = lastCheckpoint_[1] = QDateTime();
  totalSteps_ = 0;
  state_ = Waiting;
  timer_.start();
  poll();
}

void RunWatcher::stop() {
  timer_.stop();
  tail_.reset();
}

void RunWatcher::setState(State s, const QString& detail) {
  if (s == state_) return;
  state_ = s;
  Q_EMIT stateChanged(s, detail.isEmpty() ? stateText(s) : stateText(s) + ": " + detail);
}

// The run's writer per run.json, when it ran on this machine: is that process gone?
bool RunWatcher::writerGone() const {
  QFile f(QDir(runDir_).filePath("run.json"));
  if (!f.open(QIODevice::ReadOnly)) return false;
  const QJsonObject j = QJsonDocument::fromJson(f.read(1 << 16)).object();
  const qint64 pid = j.value("pid").toInteger(0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  if (pid <= 0 || j.value("host").toString() != QString::fromLocal8Bit(host)) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void RunWatcher::poll() {
  if (!tail_) return;
  MetricsTail::Update u;
  try {
    u = tail_->poll();
  } catch (const std::exception& e) {
    Q_EMIT logLines({tr("cannot read %1: %2").arg(QString::fromStdString(tail_->path()), QString::fromUtf8(e.what()))});
    return;
  }
  QStringList log;
  if (u.restarted) log << tr("metrics.jsonl was rewritten: the run restarted in this folder");
  for (const auto& p : u.problems) log << QString::fromStdString(p);
  QVector<TrainPoint> pts;
  bool ended = false;
  for (const auto& m : u.lines) {
    if (m.type == "train") {
      TrainPoint p;
      p.step = m.step;
      p.seconds = m.value("elapsed");
      p.loss = m.value("loss"), p.rec = m.value("rec"), p.kl = m.value("kl"), p.ddpm = m.value("ddpm");
      p.lr = m.value("lr"), p.gradNorm = m.value("grad_norm");
      p.sentencesPerSec = m.value("sentences_per_sec");
      totalSteps_ = static_cast<qint64>(m.value("total_steps", static_cast<double>(totalSteps_)));
      p.totalSteps = totalSteps_;
      if (p.sentencesPerSec > 0 && totalSteps_ > p.step && p.step > 0)
        p.etaSeconds = p.seconds / static_cast<double>(p.step) * static_cast<double>(totalSteps_ - p.step);
      pts.push_back(p);
    } else if (m.type == "eval") {
      if (!pts.isEmpty()) Q_EMIT points(std::exchange(pts, {}));  // curves before the evaluation that follows them
      if (!log.isEmpty()) Q_EMIT logLines(std::exchange(log, {}));
      EvalPoint e;
      e.step = m.step;
      e.bleu = m.value("bleu");
      e.n = static_cast<int>(m.value("n"));
      e.best = m.value("best") != 0;
      for (const auto& s : m.samples) e.samples << QString::fromStdString(s);
      Q_EMIT eval(e);
    } else if (m.type == "end") {
      const auto it = m.texts.find("message");
      log << tr("run ended at step %1 (%2): %3")
                 .arg(m.step)
                 .arg(QString::fromStdString(m.texts.count("status") ? m.texts.at("status") : std::string("?")))
                 .arg(it == m.texts.end() ? QString() : QString::fromStdString(it->second));
      ended = true;
    }
  }
  if (!pts.isEmpty()) Q_EMIT points(pts);
  if (!log.isEmpty()) Q_EMIT logLines(log);
  const QDateTime now = QDateTime::currentDateTimeUtc();
  if (!u.lines.empty()) lastLine_ = now;

  // A checkpoint swapped into last/ or best/ (the trainer renames a complete folder in).
  const char* names[2] = {"last", "best"};
  for (int i = 0; i < 2; ++i) {
    const QFileInfo cfg(QDir(runDir_).filePath(QString(names[i]) + "/config.json"));
    if (!cfg.exists()) continue;
    const QDateTime t = cfg.lastModified();
    if (t != lastCheckpoint_[i]) {
      lastCheckpoint_[i] = t;
      Q_EMIT checkpoint(cfg.absolutePath());
    }
  }

  if (ended) setState(Ended);
  else if (!u.lines.empty()) setState(Running);
  else if (state_ == Ended) return;
  else if (writerGone()) setState(ProcessGone, tr("no end line; its last checkpoint is in %1/last").arg(runDir_));
  else if (state_ != Waiting && lastLine_.secsTo(now) > stallSeconds_) setState(Stalled, tr("no new line for %1 s").arg(lastLine_.secsTo(now)));
}

}  // namespace latent::ui
