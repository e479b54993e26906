// latent-studio: the Qt desktop application.
//   latent-studio [--startup-time]
// --startup-time prints the seconds from the process start to the window being usable (shown,
// with its start-up model loaded: the cold-start figure in docs/PERFORMANCE.md) and quits.
// An exception that nothing else caught (a bug) is shown and ends the studio with status 1
// (ui/guarded_application.h), never std::terminate's abort.
#include <QElapsedTimer>
#include <QTimer>
#include <cstdio>

#include "guarded_application.h"
#include "main_window.h"

namespace {

int runStudio(QApplication& app, const QElapsedTimer& clock) {
  const bool startup_time = QApplication::arguments().contains("--startup-time");
  latent::ui::MainWindow window;
  if (startup_time) {
    auto report = [&](const QString& what) {
      std::printf("%s after %.2f s\n", qPrintable(what), static_cast<double>(clock.elapsed()) / 1000.0);
      std::fflush(stdout);
      QTimer::singleShot(0, &app, &QApplication::quit);
    };
    QObject::connect(&window, &latent::ui::MainWindow::modelReady, &app,
                     [&](const QString& dir) { report("usable with " + dir); });
    QObject::connect(&window, &latent::ui::MainWindow::errorShown, &app,
                     [&](const QString& message) { report("error: " + message); });
  }
  window.show();
  return QApplication::exec();
}

}  // namespace

int main(int argc, char** argv) {
  QElapsedTimer clock;
  clock.start();
  latent::ui::GuardedApplication app(argc, argv);
  QApplication::setOrganizationName("LatentStudio");
  QApplication::setApplicationName("Latent Studio");
  QApplication::setApplicationVersion(LATENT_VERSION);
  return latent::ui::guardedMain([&] { return runStudio(app, clock); });
}
