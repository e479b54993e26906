#include "main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QProgressBar>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QThread>
#include <QTimer>
#include <utility>

#include "corpus_view.h"
#include "inference_worker.h"
#include "resource_paths.h"
#include "external_run.h"
#include "run_watcher.h"
#include "snapshot_slot.h"
#include "training_worker.h"
#include "util/runtime_info.h"
#include "views/generate_view.h"
#include "views/latent_map_view.h"
#include "views/directions_view.h"
#include "views/interpolate_view.h"
#include "views/loss_plot.h"
#include "views/model_panel.h"
#include "views/reconstruct_view.h"
#include "views/train_view.h"

namespace latent::ui {

namespace {
constexpr int kMaxRecent = 8;
constexpr int kDrainMs = 33;  // training progress reaches the widgets at most ~30 times a second

QString hms(double seconds) {
  const qint64 s = static_cast<qint64>(seconds);
  return QString("%1:%2:%3").arg(s / 3600).arg((s / 60) % 60, 2, 10, QChar('0')).arg(s % 60, 2, 10, QChar('0'));
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent), snapshots_(std::make_shared<SnapshotSlot>()) {
  qRegisterMetaType<DecodeSettings>();
  qRegisterMetaType<ModelSummary>();
  qRegisterMetaType<ReconstructResult>();
  qRegisterMetaType<TrainRequest>();
  qRegisterMetaType<InterpolateResult>();
  qRegisterMetaType<DecodeAtResult>();
  qRegisterMetaType<GenerateTrace>();
  qRegisterMetaType<LatentMap>();
  qRegisterMetaType<DirectionInfo>();
  qRegisterMetaType<DirectionApplied>();
  qRegisterMetaType<QVector<double>>();
  qRegisterMetaType<QVector<float>>();
  setWindowTitle(tr("Latent Studio"));
  resize(1280, 860);

  tabs_ = new QTabWidget(this);
  train_ = new TrainView(tabs_);
  reconstruct_ = new ReconstructView(tabs_);
  interpolate_ = new InterpolateView(tabs_);
  generate_ = new GenerateView(tabs_);
  corpus_ = new CorpusView(tabs_);
  modelPanel_ = new ModelPanel(tabs_);
  map_ = new LatentMapView(tabs_);
  directions_ = new DirectionsView(tabs_);
  tabs_->addTab(train_, tr("Train"));
  tabs_->addTab(reconstruct_, tr("Reconstruct"));
  tabs_->addTab(interpolate_, tr("Interpolate"));
  tabs_->addTab(generate_, tr("Generate"));
  tabs_->addTab(map_, tr("Latent map"));
  tabs_->addTab(directions_, tr("Directions"));
  tabs_->addTab(corpus_, tr("Corpus"));
  tabs_->addTab(modelPanel_, tr("Model"));
  tabs_->setCurrentWidget(reconstruct_);
  setCentralWidget(tabs_);
  buildMenus();

  QStringList deviceIds{"cpu"}, deviceLabels{tr("CPU (%1 threads)").arg(cpu_threads())};
  if (cuda_available()) {
    deviceIds << "cuda";
    deviceLabels << QString::fromStdString("CUDA: " + cuda_device_name());
  }
  train_->setDevices(deviceIds, deviceLabels);
  deviceLabel_ = new QLabel(deviceLabels.join(", "), this);
  modelLabel_ = new QLabel(tr("no model"), this);
  progress_ = new QProgressBar(this);
  progress_->setMaximumWidth(220);
  progress_->setVisible(false);
  etaLabel_ = new QLabel(this);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(etaLabel_);
  statusBar()->addPermanentWidget(modelLabel_);
  statusBar()->addPermanentWidget(deviceLabel_);

  connectInference();
  connectTraining();
  connectWatcher();
  connectMap();
  connectDirections();

  connect(corpus_, &CorpusView::corpusLoaded, this, [this](const QString& path, int kept) {
    statusBar()->showMessage(tr("Corpus %1: %2 sentences").arg(path).arg(kept), 5000);
    train_->setCorpus(path, tr("%1 sentences").arg(kept));
    map_->setCorpusPath(path);
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

  setModelReady(false);
  const StartupModel start = startupModel(settings.value("model/last").toString());
  modelPanel_->setNote(start.note);
  if (start.path.isEmpty()) {
    modelPanel_->showMessage(tr("The embedded default model is missing: open a model folder (File > Open model folder)."));
    statusBar()->showMessage(tr("Default model not found"));
  } else {
    startupFallback_ = start.fallback;
    openModel(start.path);
  }
}

MainWindow::~MainWindow() { stopThreads(); }

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&New training..."), QKeySequence::New, this, [this] { tabs_->setCurrentWidget(train_); });
  file->addAction(tr("Open &model folder..."), QKeySequence(tr("Ctrl+M")), this, &MainWindow::openModelDialog);
  recentMenu_ = file->addMenu(tr("&Recent models"));
  file->addAction(tr("&Save model as..."), QKeySequence::SaveAs, this, &MainWindow::saveModelDialog);
  file->addSeparator();
  file->addAction(tr("Open &run folder..."), QKeySequence(tr("Ctrl+R")), this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open a run folder to follow (metrics.jsonl, last/, best/)"),
                                                          runDir_.isEmpty() ? QDir::homePath() : runDir_);
    if (!dir.isEmpty()) watchRun(dir);
  });
  file->addAction(tr("Open &corpus..."), QKeySequence::Open, this, &MainWindow::openCorpusDialog);
  file->addAction(tr("&Export curves..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::exportCurvesDialog);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  menuBar()->addMenu(tr("&Help"))->addAction(tr("&About Latent Studio"), this, &MainWindow::showAbout);
}

// The inference worker lives on its own thread; every call to it is queued.
void MainWindow::connectInference() {
  inferenceThread_ = new QThread(this);
  inferenceThread_->setObjectName("inference");
  worker_ = new InferenceWorker(snapshots_);
  worker_->moveToThread(inferenceThread_);
  connect(inferenceThread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(reconstruct_, &ReconstructView::requestReconstruct, worker_, &InferenceWorker::reconstruct);
  connect(worker_, &InferenceWorker::reconstructed, reconstruct_, &ReconstructView::showResult);
  connect(interpolate_, &InterpolateView::requestInterpolate, worker_, &InferenceWorker::interpolate);
  connect(interpolate_, &InterpolateView::requestDecodeAt, worker_, &InferenceWorker::decodeAt);
  connect(worker_, &InferenceWorker::interpolated, interpolate_, &InterpolateView::showInterpolation);
  connect(worker_, &InferenceWorker::decodedAt, interpolate_, &InterpolateView::showDecodeAt);
  connect(generate_, &GenerateView::requestGenerate, worker_, &InferenceWorker::generate);
  connect(worker_, &InferenceWorker::generated, generate_, &GenerateView::showTrace);
  connect(worker_, &InferenceWorker::modelOpened, this, &MainWindow::onModelOpened);
  connect(worker_, &InferenceWorker::failed, this, [this](const QString& context, const QString& message) {
    // The pretrained default failed to load at start: the small embedded model instead, and why.
    if (!startupFallback_.isEmpty() && modelDir_.isEmpty() && context == tr("Open model")) {
      const QString fallback = std::exchange(startupFallback_, QString());
      modelPanel_->setNote(tr("The pretrained default model could not be opened (%1). The small from-scratch model is "
                              "open instead; packaging/bootstrap.sh build assembles the pretrained one again.")
                               .arg(message));
      statusBar()->showMessage(tr("Pretrained default not usable: opened the small model"), 10000);
      openModel(fallback);
      return;
    }
    showError(context, message);
  });
  connect(worker_, &InferenceWorker::modelSaved, this,
          [this](const QString& dir) { statusBar()->showMessage(tr("Model saved to %1").arg(dir), 8000); });
  connect(worker_, &InferenceWorker::snapshotInUse, this, [this](qint64 step) {
    modelLabel_->setText(tr("model: training snapshot, step %1").arg(step));
    map_->modelChanged();
  });
  inferenceThread_->start();
}

// The Latent map: its requests go to the inference worker (cancel is a direct, thread-safe
// call); the other views' answers carry map coordinates for its overlays; its clicks feed
// Reconstruct and Interpolate.
void MainWindow::connectMap() {
  const QString cacheDir = QStandardPaths::writableLocation(QStandardPaths::CacheLocation) + "/maps";
  connect(map_, &LatentMapView::requestMap, worker_,
          [this, cacheDir](int id, const QString& path, const QString& projection) {
            worker_->encodeMap(id, path, cacheDir, projection);
          });
  connect(map_, &LatentMapView::cancelRequested, this, [this](int id) { worker_->cancelMap(id); });
  connect(worker_, &InferenceWorker::mapProgress, map_, &LatentMapView::showProgress);
  connect(worker_, &InferenceWorker::mapReady, map_, &LatentMapView::showMap);
  connect(worker_, &InferenceWorker::mapCancelled, map_, &LatentMapView::mapCancelled);
  connect(map_, &LatentMapView::requestBleu, worker_, &InferenceWorker::mapBleu);
  connect(worker_, &InferenceWorker::mapBleuReady, map_, &LatentMapView::showBleu);
  connect(worker_, &InferenceWorker::failed, map_, [this](const QString& context) {
    if (context == tr("Latent map")) map_->mapFailed();
  });
  connect(worker_, &InferenceWorker::interpolated, map_, &LatentMapView::showInterpolation);
  connect(worker_, &InferenceWorker::decodedAt, map_, &LatentMapView::showDecodeAt);
  connect(worker_, &InferenceWorker::generated, map_, &LatentMapView::showTrace);
  connect(worker_, &InferenceWorker::reconstructed, map_, &LatentMapView::showReconstruction);
  connect(generate_, &GenerateView::frameShown, map_, &LatentMapView::setGenerateFrame);
  connect(map_, &LatentMapView::sendToReconstruct, this, [this](const QString& sentence) {
    reconstruct_->setSentences(sentence);
    reconstruct_->run();
  });
  connect(map_, &LatentMapView::sendToInterpolate, this, [this](const QString& a, const QString& b) {
    interpolate_->setSentences(a, b);
    interpolate_->run();
  });
}

// The Directions view: requests to the inference worker; its sets can come from the map.
void MainWindow::connectDirections() {
  directions_->setMapAccess(
      [this] {
        QStringList out;
        for (int i : map_->selection()) out << map_->map().sentences.value(i);
        return out;
      },
      [this] { return &map_->map(); });
  connect(directions_, &DirectionsView::requestCompute, worker_, &InferenceWorker::computeDirection);
  connect(directions_, &DirectionsView::requestSave, worker_, &InferenceWorker::saveDirection);
  connect(directions_, &DirectionsView::requestUse, worker_, &InferenceWorker::useDirection);
  connect(directions_, &DirectionsView::requestApply, worker_, &InferenceWorker::applyDirection);
  connect(directions_, &DirectionsView::requestAnalogy, worker_, &InferenceWorker::analogy);
  connect(worker_, &InferenceWorker::directionReady, directions_, &DirectionsView::showDirection);
  connect(worker_, &InferenceWorker::directionApplied, directions_, &DirectionsView::showApplied);
  connect(worker_, &InferenceWorker::analogySolved, directions_, &DirectionsView::showAnalogy);
  connect(worker_, &InferenceWorker::directionsListed, directions_, &DirectionsView::showSaved);
  connect(worker_, &InferenceWorker::directionsListed, modelPanel_, &ModelPanel::showDirections);
  connect(worker_, &InferenceWorker::failed, directions_, [this](const QString& context, const QString& message) {
    if (context == tr("Direction") || context == tr("Analogy")) directions_->requestFailed(message);
  });
}

// The training worker: start() blocks its thread for the whole run; pause/stop are direct
// thread-safe calls; progress is drained by a timer instead of one signal per step.
void MainWindow::connectTraining() {
  trainingThread_ = new QThread(this);
  trainingThread_->setObjectName("training");
  trainer_ = new TrainingWorker(snapshots_);
  trainer_->moveToThread(trainingThread_);
  connect(trainingThread_, &QThread::finished, trainer_, &QObject::deleteLater);
  connect(train_, &TrainView::startRequested, this, [this](const TrainRequest& r) {
    if (training_ || external_->alive()) return;
    if (r.separateProcess) {
      startExternal(r);
      return;
    }
    watcher_->stop();  // the Train view now shows this window's run
    training_ = true;
    train_->setRunning(true);
    setModelReady(true);  // the views follow the training snapshots from now on
    snapshots_->publish(nullptr);  // the previous run's last snapshot is not this run's
    QMetaObject::invokeMethod(worker_, "followTraining", Qt::QueuedConnection);
    QMetaObject::invokeMethod(trainer_, "start", Qt::QueuedConnection, Q_ARG(latent::ui::TrainRequest, r));
  });
  // Pause and Stop act on a run in progress only: one clicked just after the run ended
  // must not carry over to the next (closing before a run starts is stopThreads' job).
  connect(train_, &TrainView::pauseRequested, this, [this] {
    if (!trainer_->isRunning()) return;
    trainer_->pause();
    train_->setPaused(true);
    statusBar()->showMessage(tr("Training paused"));
  });
  connect(train_, &TrainView::resumeRequested, this, [this] {
    trainer_->resume();
    train_->setPaused(false);
    statusBar()->showMessage(tr("Training resumed"), 3000);
  });
  connect(train_, &TrainView::stopRequested, this, [this] {
    if (external_->alive()) {
      external_->stop();
      statusBar()->showMessage(tr("Asked the training process %1 to stop after its current step and save").arg(external_->pid()));
      return;
    }
    if (!trainer_->isRunning()) return;
    trainer_->stop(true);
    statusBar()->showMessage(tr("Stopping after the current step; saving the checkpoint..."));
  });
  connect(train_, &TrainView::chooseCorpus, this, &MainWindow::openCorpusDialog);
  connect(trainer_, &TrainingWorker::started, this, &MainWindow::onTrainingStarted);
  connect(trainer_, &TrainingWorker::finished, this, &MainWindow::onTrainingFinished);
  drainTimer_ = new QTimer(this);
  drainTimer_->setInterval(kDrainMs);
  connect(drainTimer_, &QTimer::timeout, this, &MainWindow::drainTraining);
  trainingThread_->start();
}

// A run another process writes: its lines feed the Train view as the in-process worker's
// do, and each new checkpoint is opened for the inference views.
void MainWindow::connectWatcher() {
  watcher_ = new RunWatcher(this);
  external_ = new ExternalRun(this);
  connect(watcher_, &RunWatcher::points, this, [this](const QVector<TrainPoint>& pts) {
    train_->addPoints(pts);
    const TrainPoint& last = pts.last();
    if (last.totalSteps > 0) {
      progress_->setVisible(true);
      progress_->setMaximum(static_cast<int>(std::min<qint64>(last.totalSteps, INT_MAX)));
      progress_->setValue(static_cast<int>(std::min(last.step, last.totalSteps)));
      etaLabel_->setText(tr("watching: step %1/%2, ETA %3").arg(last.step).arg(last.totalSteps).arg(hms(last.etaSeconds)));
    }
  });
  connect(watcher_, &RunWatcher::eval, train_, &TrainView::addEval);
  connect(watcher_, &RunWatcher::logLines, train_, &TrainView::appendLog);
  connect(watcher_, &RunWatcher::checkpoint, this, [this](const QString& dir) {
    train_->appendLog({tr("new checkpoint: %1").arg(dir)});
    openModel(dir);
  });
  connect(watcher_, &RunWatcher::stateChanged, this, [this](int state, const QString& text) {
    statusBar()->showMessage(tr("Run %1: %2").arg(watcher_->runDir(), text));
    train_->appendLog({tr("run %1").arg(text)});
    if (state == RunWatcher::Ended || state == RunWatcher::ProcessGone) {
      progress_->setVisible(false);
      etaLabel_->clear();
      if (external_->pid() > 0) finishExternalWhenGone();
    }
  });
}

// The process this window started wrote its end (or is gone): once it has exited, the
// Train view can start again.
void MainWindow::finishExternalWhenGone() {
  if (external_->alive()) {
    QTimer::singleShot(200, this, &MainWindow::finishExternalWhenGone);
    return;
  }
  external_->forget();
  train_->setRunningElsewhere(false);
}

void MainWindow::startExternal(const TrainRequest& r) {
  QString error;
  if (!external_->start(r, &error)) {
    showError(tr("Training"), error);
    return;
  }
  train_->setRunningElsewhere(true);
  watchRun(r.outDir);
  train_->appendLog({tr("started latent-cli (process %1%2); its output goes to %3/train.log")
                         .arg(external_->pid())
                         .arg(r.processes > 1 ? tr(", %1 data-parallel processes").arg(r.processes) : QString())
                         .arg(r.outDir)});
}

bool MainWindow::watchRun(const QString& runDir, int stallSeconds) {
  if (training_) {
    showError(tr("Open run folder"), tr("This window is training; open another run folder when it has finished."));
    return false;
  }
  if (!QFileInfo(runDir).isDir()) {
    showError(tr("Open run folder"), tr("%1 is not a folder").arg(runDir));
    return false;
  }
  runDir_ = runDir;
  train_->clearRun();
  train_->appendLog({tr("following %1 (written by another process)").arg(runDir)});
  tabs_->setCurrentWidget(train_);
  watcher_->watch(runDir, stallSeconds);
  return true;
}

void MainWindow::onTrainingStarted(const QString& outDir, qint64 totalSteps) {
  runDir_ = outDir;
  progress_->setRange(0, static_cast<int>(std::min<qint64>(totalSteps, INT_MAX)));
  progress_->setValue(0);
  progress_->setVisible(true);
  etaLabel_->setText(tr("starting..."));
  drainTimer_->start();
  statusBar()->showMessage(tr("Training into %1").arg(outDir));
}

void MainWindow::drainTraining() {
  if (threadsStopped_) return;
  TrainingWorker::Pending p = trainer_->take();
  if (!p.log.isEmpty()) train_->appendLog(p.log);
  if (!p.points.isEmpty()) {
    train_->addPoints(p.points);
    const TrainPoint& last = p.points.last();
    progress_->setMaximum(static_cast<int>(std::min<qint64>(last.totalSteps, INT_MAX)));
    progress_->setValue(static_cast<int>(last.step));
    etaLabel_->setText(tr("step %1/%2, ETA %3").arg(last.step).arg(last.totalSteps).arg(hms(last.etaSeconds)));
  }
  for (const auto& e : p.evals) train_->addEval(e);
}

void MainWindow::onTrainingFinished(int status, const QString& message, const QString& outDir) {
  if (threadsStopped_) return;
  drainTraining();
  drainTimer_->stop();
  training_ = false;
  train_->setRunning(false);
  progress_->setVisible(false);
  etaLabel_->clear();
  train_->appendLog({message});
  Q_EMIT trainingFinished(status, message);
  if (status == TrainingWorker::Failed) showError(tr("Training"), message);
  else statusBar()->showMessage(tr("Training %1: %2").arg(status == TrainingWorker::Finished ? tr("finished") : tr("stopped"), message));
  // The views go on with the run's saved model (best/, else last/) when there is one.
  if (QFileInfo::exists(outDir + "/best/config.json") || QFileInfo::exists(outDir + "/last/config.json")) openModel(outDir);
  else if (modelDir_.isEmpty()) setModelReady(false);
}

QString MainWindow::modelStatus() const { return modelLabel_->text(); }

void MainWindow::setModelReady(bool ready) {
  reconstruct_->setModelReady(ready);
  interpolate_->setModelReady(ready);
  generate_->setModelReady(ready);
  map_->setModelReady(ready);
  directions_->setModelReady(ready);
}

void MainWindow::openModel(const QString& path) {
  modelLabel_->setText(tr("loading %1...").arg(QFileInfo(path).fileName()));
  QMetaObject::invokeMethod(worker_, "openModel", Qt::QueuedConnection, Q_ARG(QString, path));
}

void MainWindow::saveModelAs(const QString& dir) {
  QMetaObject::invokeMethod(worker_, "saveModelAs", Qt::QueuedConnection, Q_ARG(QString, dir));
}

bool MainWindow::exportCurves(const QString& path) {
  QString error;
  const bool ok = path.endsWith(".csv", Qt::CaseInsensitive) ? train_->lossPlot()->exportCsv(path, &error)
                                                             : train_->lossPlot()->exportImage(path, &error);
  if (ok) statusBar()->showMessage(tr("Curves exported to %1").arg(path), 8000);
  else showError(tr("Export curves"), error);
  return ok;
}

void MainWindow::onModelOpened(const ModelSummary& s) {
  // A note about the start-up choice stays while the model it explains is the one shown.
  if (!modelDir_.isEmpty() && QFileInfo(s.dir).canonicalFilePath() != QFileInfo(modelDir_).canonicalFilePath())
    modelPanel_->setNote({});
  startupFallback_.clear();
  modelDir_ = s.dir;
  modelLabel_->setText(tr("model: %1").arg(s.name));
  modelPanel_->showModel(s);
  directions_->showSaved(s.directions);
  map_->modelChanged();
  setModelReady(true);
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
  else if (!training_) modelLabel_->setText(tr("model: %1").arg(QFileInfo(modelDir_).fileName()));
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

void MainWindow::saveModelDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Save model into folder"), QDir::homePath());
  if (dir.isEmpty()) return;
  if (QFileInfo::exists(dir + "/config.json") &&
      QMessageBox::question(this, tr("Save model as"), tr("%1 already holds a model. Replace it?").arg(dir)) !=
          QMessageBox::Yes)
    return;
  saveModelAs(dir);
}

void MainWindow::exportCurvesDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export curves"), QDir::homePath() + "/curves.csv",
                                                    tr("CSV (*.csv);;PNG image (*.png);;PDF (*.pdf)"));
  if (!path.isEmpty()) exportCurves(path);
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About Latent Studio"),
                     tr("<b>Latent Studio %1</b><br>Explore the latent space of text: VAE_DDPM models.<br><br>"
                        "Qt %2<br>%3")
                         .arg(QApplication::applicationVersion(), QString::fromLatin1(qVersion()),
                              QString::fromStdString(runtime_summary())));
}

// Stops training (when one runs, after its current step) and ends both threads.
void MainWindow::stopThreads() {
  if (threadsStopped_) return;
  threadsStopped_ = true;
  // The workers are deleted when their threads finish: nothing may reach them after this.
  drainTimer_->stop();
  disconnect(trainer_, nullptr, this, nullptr);
  disconnect(worker_, nullptr, this, nullptr);
  if (training_ && !stopSent_) trainer_->stop(false);  // destroyed without closeEvent: no new checkpoint
  trainer_->resume();  // a paused run must wake up to see the stop
  trainingThread_->quit();
  trainingThread_->wait();
  inferenceThread_->quit();
  inferenceThread_->wait();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (external_->alive()) {  // detached: it can outlive the window
    const auto answer = closePrompt_ ? closePrompt_()
                                     : QMessageBox::question(this, tr("Training is running in another process"),
                                                             tr("Stop it (it saves a checkpoint of its current step)? "
                                                                "Discard leaves it running; open its folder later with "
                                                                "File > Open run folder."),
                                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                                             QMessageBox::Discard);
    if (answer == QMessageBox::Cancel) {
      event->ignore();
      return;
    }
    if (answer == QMessageBox::Save) external_->stop();
  }
  if (training_) {
    const auto answer = closePrompt_ ? closePrompt_()
                                     : QMessageBox::question(this, tr("Training is running"),
                                                             tr("Save a checkpoint of the current step before closing?"),
                                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                                             QMessageBox::Save);
    if (answer == QMessageBox::Cancel) {
      event->ignore();
      return;
    }
    statusBar()->showMessage(answer == QMessageBox::Save ? tr("Saving the checkpoint...") : tr("Stopping..."));
    trainer_->stop(answer == QMessageBox::Save);
    stopSent_ = true;
  }
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  stopThreads();
  event->accept();
}

}  // namespace latent::ui
