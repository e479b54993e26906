// The worker that trains a model on its own thread. start() runs the whole training
// (it blocks this worker's thread, not the window); pause/resume/stop are thread-safe
// calls that the trainer honours within one step. Progress is not sent as one signal
// per step: the worker queues points and the window drains them with take() on a timer
// (at most ~30 times a second). Every snapshotEvery steps a copy of the weights goes to
// the shared SnapshotSlot, where the inference worker picks it up. Torch stays in the .cpp.
#pragma once

#include <QMutex>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <memory>

#include "studio_types.h"

namespace latent {
class TrainControl;
}

namespace latent::ui {

class SnapshotSlot;

class TrainingWorker : public QObject {
  Q_OBJECT
 public:
  enum Status { Finished = 0, Stopped = 1, Failed = 2 };
  static constexpr int kSnapshotEvery = 50;  // steps between weight copies for live inference

  explicit TrainingWorker(std::shared_ptr<SnapshotSlot> snapshots, QObject* parent = nullptr);
  ~TrainingWorker() override;

  // Thread-safe; effective between two training steps.
  void pause();
  void resume();
  // save: write last/ (and best/ if better) before ending. A stop that arrives before
  // start() has begun ends that run at once (call it only while a start is queued or running).
  void stop(bool save);
  bool isRunning() const { return running_; }

  struct Pending {
    QVector<TrainPoint> points;
    QVector<EvalPoint> evals;
    QStringList log;
  };
  // Everything queued since the last call (called by the window's timer).
  Pending take();

 public Q_SLOTS:
  void start(const latent::ui::TrainRequest& request);

 Q_SIGNALS:
  void started(const QString& outDir, qint64 totalSteps);
  // status: Status; message says why it ended and where the checkpoints are.
  void finished(int status, const QString& message, const QString& outDir);

 private:
  std::shared_ptr<SnapshotSlot> snapshots_;
  std::atomic<bool> running_{false}, paused_{false};
  double lastSeconds_ = 0;  // training thread only
  QMutex controlMutex_;   // guards control_ while a run starts or ends
  TrainControl* control_ = nullptr;
  enum StopRequest { NoStop, StopAndSave, StopNoSave } stopRequest_ = NoStop;
  QMutex pendingMutex_;
  Pending pending_;
};

}  // namespace latent::ui
