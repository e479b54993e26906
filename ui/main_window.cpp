#include "main_window.h"

#include <QApplication>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QStatusBar>
#include <QTabWidget>

#include "corpus_view.h"
#include "resource_paths.h"

namespace latent::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Latent Studio"));
  resize(1200, 800);
  auto* tabs = new QTabWidget(this);
  corpus_ = new CorpusView(tabs);
  tabs->addTab(corpus_, tr("Corpus"));
  setCentralWidget(tabs);

  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &corpus..."), QKeySequence::Open, this, &MainWindow::openCorpus);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, qApp, &QApplication::closeAllWindows);
  menuBar()->addMenu(tr("&Help"))->addAction(tr("&About Latent Studio"), this, &MainWindow::showAbout);

  connect(corpus_, &CorpusView::corpusLoaded, this, [this](const QString& path, int kept) {
    statusBar()->showMessage(tr("Corpus %1: %2 sentences").arg(path).arg(kept));
  });
  connect(corpus_, &CorpusView::corpusFailed, this, [this](const QString& message) {
    // Non-modal: the window (and any running work) keeps going while the message shows.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Corpus"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
  });

  const QString corpus = defaultCorpusPath();
  if (corpus.isEmpty()) statusBar()->showMessage(tr("Default corpus not found (build the project with wordnet-base installed)"));
  else corpus_->loadCorpus(corpus);
}

void MainWindow::openCorpus() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open corpus"), QString(),
                                                    tr("Corpora (*.txt *.jsonl *.json);;All files (*)"));
  if (!path.isEmpty()) corpus_->loadCorpus(path);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Latent Studio"),
                     tr("<b>Latent Studio</b><br>Explore the latent space of text: VAE_DDPM models.<br>Qt %1")
                         .arg(QString::fromLatin1(qVersion())));
}

}  // namespace latent::ui
