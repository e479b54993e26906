#include "external_run.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QStandardPaths>

#include <cerrno>
#include <csignal>

namespace latent::ui {

QString ExternalRun::cliPath() {
  const QString env = qEnvironmentVariable("LATENT_CLI");
  if (!env.isEmpty() && QFileInfo(env).isExecutable()) return env;
  const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("latent-cli");
  if (QFileInfo(beside).isExecutable()) return beside;
  const QString onPath = QStandardPaths::findExecutable("latent-cli");
  return onPath;
}

bool ExternalRun::start(const TrainRequest& r, QString* error) {
  const QString cli = cliPath();
  if (cli.isEmpty()) {
    *error = tr("latent-cli was not found beside the studio or on PATH");
    return false;
  }
  if (!QDir().mkpath(r.outDir)) {
    *error = tr("cannot create the run folder %1").arg(r.outDir);
    return false;
  }
  const QString request = QDir(r.outDir).filePath("studio-request.json");
  QFile f(request);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(r.configJson.toUtf8()) < 0 || !f.flush()) {
    *error = tr("cannot write %1: %2").arg(request, f.errorString());
    return false;
  }
  f.close();
  QStringList args{"train", "--corpus", r.corpusPath, "--out", r.outDir, "--config", request, "--device", r.device};
  if (!r.validPath.isEmpty()) args << "--valid" << r.validPath;
  if (!r.initModel.isEmpty()) args << "--init" << r.initModel;
  else args << "--preset" << "small";  // the request holds the whole configuration; the preset is only its base
  if (r.resume) args << "--resume";
  if (r.processes > 1) args << "--nproc" << QString::number(r.processes);
  QProcess p;
  p.setProgram(cli);
  p.setArguments(args);
  const QString log = QDir(r.outDir).filePath("train.log");
  p.setStandardOutputFile(log, QIODevice::Append);
  p.setStandardErrorFile(log, QIODevice::Append);
  qint64 pid = 0;
  if (!p.startDetached(&pid) || pid <= 0) {
    *error = tr("cannot start %1: %2").arg(cli, p.errorString());
    return false;
  }
  pid_ = pid;
  outDir_ = r.outDir;
  return true;
}

bool ExternalRun::alive() const {
  if (pid_ <= 0) return false;
  return ::kill(static_cast<pid_t>(pid_), 0) == 0 || errno != ESRCH;
}

void ExternalRun::stop() {
  if (alive()) ::kill(static_cast<pid_t>(pid_), SIGINT);
}

}  // namespace latent::ui
