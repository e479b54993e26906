// latent-studio: the Qt desktop application.
#include <QApplication>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("LatentStudio");
  QApplication::setApplicationName("Latent Studio");
  QApplication::setApplicationVersion(LATENT_VERSION);
  latent::ui::MainWindow window;
  window.show();
  return QApplication::exec();
}
