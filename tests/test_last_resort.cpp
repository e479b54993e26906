// The studio's last resort (ui/guarded_application.h), in its own process because it ends the
// application's event loop: an exception thrown out of an event handler on the window's thread
// and one from a worker thread's object are caught by GuardedApplication::notify, reported as a
// user may read them, and make exec() return 1; guardedMain turns an exception from start-up
// into status 1 with the message on stderr. Without the guard each would abort the process
// (std::terminate), which this test would report as a crash.
#include <QThread>
#include <QTimer>

#include <cstdio>
#include <new>
#include <stdexcept>

#include "guarded_application.h"
#include "util/error.h"

namespace {

int failures = 0, checks = 0;
void check(bool ok, const char* what) {
  ++checks;
  std::printf("%s: %s\n", ok ? "PASS   " : "FAIL!  ", what);
  if (!ok) ++failures;
}

class Thrower : public QObject {
 public:
  explicit Thrower(int kind) : kind_(kind) { setObjectName("thrower"); }
  bool event(QEvent* e) override {
    if (e->type() != QEvent::User) return QObject::event(e);
    if (kind_ == 0) throw latent::Error("model.safetensors", "a test error from an event handler");
    if (kind_ == 1) throw std::bad_alloc();
    throw 42;
  }

 private:
  int kind_;
};

}  // namespace

int main(int argc, char** argv) {
  qputenv("QT_QPA_PLATFORM", "offscreen");
  latent::ui::GuardedApplication app(argc, argv);
  check(!latent::ui::canShowDialogs(), "no dialog on the offscreen platform (nobody could close it)");

  // An event handler on the window's thread throws latent::Error: exec() returns 1.
  {
    Thrower t(0);
    QCoreApplication::postEvent(&t, new QEvent(QEvent::User));
    QTimer::singleShot(10000, &app, [] { QCoreApplication::exit(0); });  // a guard that never fires when all is well
    check(QApplication::exec() == 1, "an exception from an event handler makes exec() return 1");
    check(app.lastFatal() == "model.safetensors: a test error from an event handler", qPrintable(app.lastFatal()));
  }
  // std::bad_alloc is said as out of memory, never as the library's text.
  {
    Thrower t(1);
    QCoreApplication::postEvent(&t, new QEvent(QEvent::User));
    check(QApplication::exec() == 1, "bad_alloc from an event handler makes exec() return 1");
    check(app.lastFatal() == "out of memory", qPrintable(app.lastFatal()));
  }
  // An object living on another thread (as the studio's workers do): caught there, and the
  // application still ends with 1.
  {
    QThread worker;
    worker.start();
    auto* t = new Thrower(2);
    t->moveToThread(&worker);
    QCoreApplication::postEvent(t, new QEvent(QEvent::User));
    check(QApplication::exec() == 1, "an exception on a worker thread's object makes exec() return 1");
    check(app.lastFatal().contains("not a std::exception"), qPrintable(app.lastFatal()));
    worker.quit();
    worker.wait();
    delete t;
  }
  // Start-up (main's own body): status 1, not std::terminate.
  check(latent::ui::guardedMain([]() -> int { throw latent::Error("config.json", "a test error at start-up"); }) == 1,
        "an exception from start-up gives status 1");
  check(latent::ui::guardedMain([] { return 0; }) == 0, "a normal start-up gives its own status");
  check(latent::ui::escapedMessage(std::make_exception_ptr(std::runtime_error("[json.exception.type_error.302] type must be string"))) ==
            "unexpected JSON content: type must be string",
        "a library's text loses its internal prefix");
  std::printf("Totals: %d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
