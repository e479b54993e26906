#include "resource_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

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

}  // namespace latent::ui
