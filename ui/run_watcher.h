// Follows a run folder that another process writes (latent-cli train, torchrun, a cluster
// job over a shared disk): new lines of its metrics.jsonl become curve points, evaluations
// and log lines; a new checkpoint in last/ or best/ is announced so the inference views can
// switch to it; the run's state (running, stalled, ended, its process gone) is reported.
// Polls on a timer in the window's thread; reads are small and incremental. No torch here.
#pragma once

#include <QDateTime>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QTimer>
#include <QVector>

#include <memory>

#include "studio_types.h"

namespace latent {
class MetricsTail;
}

namespace latent::ui {

class RunWatcher : public QObject {
  Q_OBJECT
 public:
  enum State { Waiting, Running, Stalled, Ended, ProcessGone };
  static constexpr int kPollMs = 500;

  explicit RunWatcher(QObject* parent = nullptr);
  ~RunWatcher() override;

  // Starts following runDir from the beginning of its metrics.jsonl (stops any earlier one).
  // stallSeconds: no new line for that long while the run has not ended reads as stalled.
  void watch(const QString& runDir, int stallSeconds = 120);
  void stop();
  bool watching() const { return timer_.isActive(); }
  QString runDir() const { return runDir_; }
  State state() const { return state_; }
  static QString stateText(State s);

 public Q_SLOTS:
  void poll();  // also called by the timer

 Q_SIGNALS:
  void points(const QVector<latent::ui::TrainPoint>& points);
  void eval(const latent::ui::EvalPoint& e);
  void logLines(const QStringList& lines);
  // dir: RUN/last or RUN/best, when its checkpoint appeared or was replaced.
  void checkpoint(const QString& dir);
  void stateChanged(int state, const QString& text);

 private:
  void setState(State s, const QString& detail = QString());
  bool writerGone() const;

  QTimer timer_;
  QString runDir_;
  std::unique_ptr<MetricsTail> tail_;
  State state_ = Waiting;
  int stallSeconds_ = 120;
  QDateTime lastLine_;
  QDateTime lastCheckpoint_[2];  // last/, best/
  qint64 totalSteps_ = 0;
};

}  // namespace latent::ui
