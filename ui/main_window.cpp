#include "main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>

#include "corpus_view.h"
#include "inference_worker.h"
#include "resource_paths.h"
#include "util/runtime_info.h"
#include "views/model_panel.h"
#include "views/reconstruct_view.h"

namespace latent::ui {

namespace {
constexpr int kMaxRecent = 8;
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  qRegisterMetaType<DecodeSettings>();
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<ReconstructResult>();
  setWindowTitle(tr("Latent Studio"));
  resize(1200, 800);

  tabs_ = new QTabWidget(this);
  reconstruct_ = new ReconstructView(tabs_);
  corpus_ = new CorpusView(tabs_);
  modelPanel_ = new ModelPanel(tabs_);
  tabs_->addTab(reconstruct_, tr("Reconstruct"));
  tabs_->addTab(corpus_, tr("Corpus"));
  tabs_->addTab(modelPanel_, tr("Model"));
  setCentralWidget(tabs_);

  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &model folder..."), QKeySequence(tr("Ctrl+M")), this, &MainWindow::openModelDialog);
  recentMenu_ = file->addMenu(tr("&Recent models"));
  file->addAction(tr("Open &corpus..."), QKeySequence::Open, this, &MainWindow::openCorpusDialog);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  menuBar()->addMenu(tr("&Help"))->addAction(tr("&About Latent Studio"), this, &MainWindow::showAbout);

  deviceLabel_ = new QLabel(QString::fromStdString(cuda_available() ? "CUDA: " + cuda_device_name() : "CPU"), this);
  modelLabel_ = new QLabel(tr("no model"), this);
  statusBar()->addPermanentWidget(modelLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);

  // The worker lives on its own thread; every call to it is queued.
  inferenceThread_ = new QThread(this);
  inferenceThread_->setObjectName("inference");
  worker_ = new InferenceWorker;
  worker_->moveToThread(inferenceThread_);
  connect(inferenceThread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(reconstruct_, &ReconstructView::requestReconstruct, worker_, &InferenceWorker::reconstruct);
  connect(worker_, &InferenceWorker::reconstructed, reconstruct_, &ReconstructView::showResult);
  connect(worker_, &InferenceWorker::modelOpened, this, &MainWindow::onModelOpened);
  connect(worker_, &InferenceWorker::failed, this, &MainWindow::showError);
  inferenceThread_->start();

  connect(corpus_, &CorpusView::corpusLoaded, this, [this](const QString& path, int kept) {
    statusBar()->showMessage(tr("Corpus %1: %2 sentences").arg(path).arg(kept), 5000);
    QSettings().setValue("corpus/last", path);
  });
  connect(corpus_, &CorpusView::corpusFailed, this, [this](const QString& message) { showError(tr("Corpus"), message); });

  QSettings settings;
  restoreGeometry(settings.value("window/geometry").toByteArray());
  restoreState(settings.value("window/state").toByteArray());
  rebuildRecentMenu();

  const QString lastCorpus = settings.value("corpus/last").toString();
  const QString corpus = QFileInfo::exists(lastCorpus) ? lastCorpus : defaultCorpusPath();
  if (corpus.isEmpty()) statusBar()->showMessage(tr("Default corpus not found (build with wordnet-base installed)"));
  else corpus_->loadCorpus(corpus);

  const QString lastModel = settings.value("model/last").toString();
  const QString model = QFileInfo::exists(lastModel + "/config.json") ? lastModel : defaultModelPath();
  if (model.isEmpty()) {
    modelPanel_->showMessage(tr("The embedded default model is missing: open a model folder (File > Open model folder)."));
    statusBar()->showMessage(tr("Default model not found"));
  } else {
    openModel(model);
  }
}

MainWindow::~MainWindow() {
  inferenceThread_->quit();
  inferenceThread_->wait();
}

void MainWindow::openModel(const QString& path) {
  modelLabel_->setText(tr("loading %1...").arg(QFileInfo(path).fileName()));
  QMetaObject::invokeMethod(worker_, "openModel", Qt::QueuedConnection, Q_ARG(QString, path));
}

void MainWindow::onModelOpened(const ModelSummary& s) {
  modelDir_ = s.dir;
  modelLabel_->setText(tr("model: %1").arg(s.name));
  modelPanel_->showModel(s);
  reconstruct_->setModelReady(true);
  QSettings settings;
  QStringList recent = settings.value("model/recent").toStringList();
  recent.removeAll(s.dir);
  recent.prepend(s.dir);
  while (recent.size() > kMaxRecent) recent.removeLast();
  settings.setValue("model/recent", recent);
  settings.setValue("model/last", s.dir);
  rebuildRecentMenu();
  Q_EMIT modelReady(s.dir);
}

void MainWindow::showError(const QString& context, const QString& message) {
  if (modelDir_.isEmpty()) modelLabel_->setText(tr("no model"));
  else modelLabel_->setText(tr("model: %1").arg(QFileInfo(modelDir_).fileName()));
  statusBar()->showMessage(context + ": " + message, 10000);
  // Non-modal: the window and any running work go on while the message shows.
  auto* box = new QMessageBox(QMessageBox::Warning, context, message, QMessageBox::Ok, this);
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
  Q_EMIT errorShown(message);
}

void MainWindow::rebuildRecentMenu() {
  recentMenu_->clear();
  const QStringList recent = QSettings().value("model/recent").toStringList();
  for (const QString& dir : recent) recentMenu_->addAction(dir, this, [this, dir] { openModel(dir); });
  recentMenu_->setEnabled(!recent.isEmpty());
}

void MainWindow::openCorpusDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open corpus"), QString(),
                                                    tr("Corpora (*.txt *.jsonl *.json);;All files (*)"));
  if (!path.isEmpty()) corpus_->loadCorpus(path);
}

void MainWindow::openModelDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder"), modelDir_);
  if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Latent Studio"),
                     tr("<b>Latent Studio %1</b><br>Explore the latent space of text: VAE_DDPM models.<br><br>"
                        "Qt %2<br>%3")
                         .arg(QApplication::applicationVersion(), QString::fromLatin1(qVersion()),
                              QString::fromStdString(runtime_summary())));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  event->accept();
}

}  // namespace latent::ui
