#include "guarded_application.h"

#include <QGuiApplication>
#include <QMessageBox>
#include <QThread>

#include <cstdio>
#include <new>
#include <stdexcept>

#include "util/error.h"

namespace latent::ui {

QString escapedMessage(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
    return QObject::tr("unknown error");
  } catch (const std::exception& x) {
    return QString::fromStdString(user_message(x));
  } catch (...) {
    return QObject::tr("an exception that is not a std::exception");
  }
}

bool canShowDialogs() {
  const QString platform = QGuiApplication::platformName();
  return qApp != nullptr && platform != "offscreen" && platform != "minimal";
}

int reportFatal(const QString& where, std::exception_ptr e, bool show) {
  const QString message = escapedMessage(e);
  std::fprintf(stderr, "latent-studio: %s: %s\n", qPrintable(where), qPrintable(message));
  std::fflush(stderr);
  if (show && qApp && QThread::currentThread() == qApp->thread())
    QMessageBox::critical(nullptr, QObject::tr("Latent Studio stopped"),
                          QObject::tr("Latent Studio met an error it cannot recover from and will close.\n\n%1: %2\n\n"
                                      "Your checkpoints and model folders are untouched.")
                              .arg(where, message));
  return 1;
}

int guardedMain(const std::function<int()>& body) {
  try {
    return body();
  } catch (...) {
    return reportFatal(QObject::tr("start-up"), std::current_exception(), canShowDialogs());
  }
}

GuardedApplication::GuardedApplication(int& argc, char** argv) : QApplication(argc, argv) {}

bool GuardedApplication::notify(QObject* receiver, QEvent* event) {
  try {
    return QApplication::notify(receiver, event);
  } catch (...) {
    const QString where = receiver ? QString("%1 (%2)").arg(QString::fromLatin1(receiver->metaObject()->className()),
                                                           receiver->objectName().isEmpty() ? "unnamed" : receiver->objectName())
                                   : QString("an event");
    const std::exception_ptr e = std::current_exception();
    lastFatal_ = escapedMessage(e);
    const bool onWindowThread = QThread::currentThread() == thread();
    reportFatal(where, e, onWindowThread && canShowDialogs());
    if (onWindowThread)
      QCoreApplication::exit(1);
    else  // from a worker's thread: the window's loop is told through its own queue
      QMetaObject::invokeMethod(this, [] { QCoreApplication::exit(1); }, Qt::QueuedConnection);
    return false;
  }
}

}  // namespace latent::ui
