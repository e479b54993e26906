#include "training_worker.h"

#include <QDir>
#include <QFileInfo>
#include <QMutexLocker>

#include <nlohmann/json.hpp>

#include "data/corpus.h"
#include "model/config.h"
#include "model/model_io.h"
#include "snapshot_slot.h"
#include "train/trainer.h"
#include "util/error.h"

namespace latent::ui {

TrainingWorker::TrainingWorker(std::shared_ptr<SnapshotSlot> snapshots, QObject* parent)
    : QObject(parent), snapshots_(std::move(snapshots)) {}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::pause() {
  QMutexLocker lock(&controlMutex_);
  paused_ = true;
  if (control_) control_->request_pause();
}

void TrainingWorker::resume() {
  QMutexLocker lock(&controlMutex_);
  paused_ = false;
  if (control_) control_->resume();
}

void TrainingWorker::stop(bool save) {
  QMutexLocker lock(&controlMutex_);
  stopRequest_ = save ? StopAndSave : StopNoSave;  // honoured by a run that has not begun yet too
  if (!control_) return;
  if (save) control_->request_stop();
  else control_->request_abort();
}

TrainingWorker::Pending TrainingWorker::take() {
  QMutexLocker lock(&pendingMutex_);
  Pending out = std::move(pending_);
  pending_ = Pending{};
  return out;
}

void TrainingWorker::start(const TrainRequest& request) {
  const QString outDir = QDir::cleanPath(request.outDir);
  TrainOptions o;
  try {
    o.config = config_from_json(nlohmann::json::parse(request.configJson.toStdString()), "training configuration");
    validate(o.config, "training configuration");
    o.out_dir = outDir.toStdString();
    o.device = request.device.toStdString();
    o.resume = request.resume;
    o.init_model = request.initModel.toStdString();
    const Corpus corpus = load_corpus(request.corpusPath.toStdString());
    o.train_sentences = corpus.sentences;
    const std::string from =
        split_held_out(corpus.path, request.validPath.toStdString(), o.train_sentences, o.valid_sentences);
    QMutexLocker lock(&pendingMutex_);
    pending_.log << QString("corpus %1: %2").arg(request.corpusPath, QString::fromStdString(corpus.stats.summary()))
                 << QString("%1 training sentences, %2 held out (%3)")
                        .arg(o.train_sentences.size())
                        .arg(o.valid_sentences.size())
                        .arg(QString::fromStdString(from));
  } catch (const std::exception& e) {
    {
      QMutexLocker lock(&controlMutex_);
      stopRequest_ = NoStop;
    }
    Q_EMIT finished(Failed, QString::fromStdString(latent::user_message(e)), outDir);
    return;
  }

  TrainControl control;
  {
    QMutexLocker lock(&controlMutex_);
    control_ = &control;
    if (paused_) control.request_pause();
    if (stopRequest_ == StopAndSave) control.request_stop();
    if (stopRequest_ == StopNoSave) control.request_abort();
  }
  running_ = true;
  const qint64 total = o.config.train.steps;
  Q_EMIT started(outDir, total);

  TrainCallbacks cb;
  cb.on_log = [this](const std::string& line) {
    QMutexLocker lock(&pendingMutex_);
    pending_.log << QString::fromStdString(line);
  };
  cb.on_step = [this](const TrainProgress& p) {
    lastSeconds_ = p.elapsed_seconds;
    TrainPoint t;
    t.step = p.step;
    t.seconds = p.elapsed_seconds;
    t.loss = p.loss;
    t.rec = p.rec;
    t.kl = p.kl;
    t.ddpm = p.ddpm;
    t.lr = p.lr;
    t.gradNorm = p.grad_norm;
    t.sentencesPerSec = p.sentences_per_sec;
    t.etaSeconds = p.eta_seconds;
    t.totalSteps = p.total_steps;
    QMutexLocker lock(&pendingMutex_);
    pending_.points << t;
  };
  cb.on_eval = [this](const EvalReport& r) {
    EvalPoint e;
    e.step = r.step;
    e.bleu = r.bleu;
    e.n = static_cast<int>(r.n);
    e.best = r.is_best;
    for (const auto& [in, out] : r.reconstructions)
      e.reconstructions << QString::fromStdString(in) + " -> " + QString::fromStdString(out);
    for (const auto& s : r.samples) e.samples << QString::fromStdString(s);
    e.seconds = lastSeconds_;  // the evaluated step's time (the queue is usually drained by now)
    QMutexLocker lock(&pendingMutex_);
    pending_.evals << e;
  };
  cb.snapshot_every = kSnapshotEvery;
  cb.on_snapshot = [this](ModelSnapshot&& s) {
    if (snapshots_) snapshots_->publish(std::make_shared<const ModelSnapshot>(std::move(s)));
  };

  const TrainResult r = train(o, control, cb);
  {
    QMutexLocker lock(&controlMutex_);
    control_ = nullptr;
    paused_ = false;
    stopRequest_ = NoStop;
  }
  running_ = false;
  const int status = r.status == TrainResult::Status::Finished  ? Finished
                     : r.status == TrainResult::Status::Stopped ? Stopped
                                                                 : Failed;
  Q_EMIT finished(status, QString::fromStdString(r.message), outDir);
}

}  // namespace latent::ui
