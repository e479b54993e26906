// Training in a separate latent-cli process that the window started (Train view: "In a
// separate process"): detached, so a crash there, or closing the window, leaves the other
// intact; the window follows its folder with RunWatcher. Stop sends SIGINT: the run stops
// after its current step and saves last/ (with --nproc, the launcher passes it on).
#pragma once

#include <QObject>
#include <QString>

#include "studio_types.h"

namespace latent::ui {

class ExternalRun : public QObject {
  Q_OBJECT
 public:
  using QObject::QObject;
  // Starts `latent-cli train` for r: r.configJson goes to OUT/studio-request.json, the
  // process's output to OUT/train.log. False (and *error) when it cannot start.
  bool start(const TrainRequest& r, QString* error);
  bool alive() const;  // the process still runs
  void stop();         // SIGINT: stop after the current step, saving
  void forget() { pid_ = 0; }
  qint64 pid() const { return pid_; }
  QString outDir() const { return outDir_; }
  // $LATENT_CLI, else latent-cli beside the studio's binary (bin/), else on PATH.
  static QString cliPath();

 private:
  qint64 pid_ = 0;
  QString outDir_;
};

}  // namespace latent::ui
