// The studio's last resort for exceptions nothing else caught. Everything that can fail with
// bad input reports through latent::Error where it happens (a message naming what and where,
// the window going on); what still escapes is a bug, and ends here: an exception thrown out of
// an event handler (Qt cannot carry one through its event loop) or out of main's own start-up.
// It is shown as a user may read it (user_message: no bare library text or std::bad_alloc),
// written to stderr, and the studio exits with status 1 instead of aborting in std::terminate.
#pragma once

#include <QApplication>
#include <QString>

#include <exception>
#include <functional>

namespace latent::ui {

// What escaped, as a user may read it.
QString escapedMessage(std::exception_ptr e);

// Writes "latent-studio: <where>: <message>" to stderr and, when `show`, shows it in a critical
// message box; returns 1, the exit status.
int reportFatal(const QString& where, std::exception_ptr e, bool show);

// Whether reportFatal should show a box: not on Qt's offscreen or minimal platforms (tests,
// headless runs), where nobody could close it.
bool canShowDialogs();

// Runs body (main's work after the application exists); what it throws is reported and gives 1.
int guardedMain(const std::function<int()>& body);

class GuardedApplication : public QApplication {
 public:
  GuardedApplication(int& argc, char** argv);
  // Delivers as QApplication does; an exception from the receiver is reported (on the window's
  // thread with a box) and the application exits with status 1.
  bool notify(QObject* receiver, QEvent* event) override;
  // The last message reported by notify ("" when none): for tests.
  QString lastFatal() const { return lastFatal_; }

 private:
  QString lastFatal_;
};

}  // namespace latent::ui
