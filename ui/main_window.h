// The studio's main window: tabs Train, Reconstruct, Interpolate, Generate, Corpus and
// Model. Two workers on their own threads do the work: the training worker (one run at
// a time) and the inference worker (the loaded model, or the latest training snapshot).
// The window only sends requests and shows answers, so it never freezes.
#pragma once

#include <QMainWindow>
#include <QMessageBox>

#include <functional>
#include <memory>

#include "studio_types.h"

class QThread;
class QMenu;
class QTabWidget;
class QLabel;
class QProgressBar;
class QTimer;

namespace latent::ui {

class CorpusView;
class RunWatcher;
class ExternalRun;
class ReconstructView;
class InterpolateView;
class GenerateView;
class TrainView;
class ModelPanel;
class LatentMapView;
class DirectionsView;
class InferenceWorker;
class TrainingWorker;
class SnapshotSlot;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  CorpusView* corpusView() const { return corpus_; }
  ReconstructView* reconstructView() const { return reconstruct_; }
  InterpolateView* interpolateView() const { return interpolate_; }
  GenerateView* generateView() const { return generate_; }
  TrainView* trainView() const { return train_; }
  ModelPanel* modelPanel() const { return modelPanel_; }
  LatentMapView* mapView() const { return map_; }
  DirectionsView* directionsView() const { return directions_; }
  QTabWidget* tabs() const { return tabs_; }
  QString modelDir() const { return modelDir_; }
  bool isTraining() const { return training_; }
  QString modelStatus() const;  // the status bar's model label

  // Asks the worker to load a model folder; the answer arrives as modelOpened/failed.
  void openModel(const QString& path);
  // Follows a run folder another process writes (File > Open run folder): its curves,
  // evaluations and log in the Train view, its newest checkpoint in the inference views.
  // Refused (false, with a message) while this window trains.
  bool watchRun(const QString& runDir, int stallSeconds = 120);
  RunWatcher* runWatcher() const { return watcher_; }
  ExternalRun* externalRun() const { return external_; }
  // Writes the model in use (a folder or the live training snapshot) to dir.
  void saveModelAs(const QString& dir);
  // CSV, PNG or PDF by extension.
  bool exportCurves(const QString& path);
  // What closing during training asks (Save, Discard or Cancel); tests replace the dialog.
  void setClosePrompt(std::function<QMessageBox::StandardButton()> prompt) { closePrompt_ = std::move(prompt); }

 Q_SIGNALS:
  void modelReady(const QString& dir);
  void errorShown(const QString& message);
  void trainingFinished(int status, const QString& message);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void connectInference();
  void connectTraining();
  void connectWatcher();
  void startExternal(const TrainRequest& r);
  void finishExternalWhenGone();
  void connectMap();
  void connectDirections();
  void openCorpusDialog();
  void openModelDialog();
  void saveModelDialog();
  void exportCurvesDialog();
  void showAbout();
  void onModelOpened(const ModelSummary& s);
  void onTrainingStarted(const QString& outDir, qint64 totalSteps);
  void onTrainingFinished(int status, const QString& message, const QString& outDir);
  void drainTraining();
  void showError(const QString& context, const QString& message);
  void rebuildRecentMenu();
  void setModelReady(bool ready);
  void stopThreads();

  QTabWidget* tabs_;
  TrainView* train_;
  CorpusView* corpus_;
  ReconstructView* reconstruct_;
  InterpolateView* interpolate_;
  GenerateView* generate_;
  ModelPanel* modelPanel_;
  LatentMapView* map_;
  DirectionsView* directions_;
  QMenu* recentMenu_;
  QLabel* deviceLabel_;
  QLabel* modelLabel_;
  QProgressBar* progress_;
  QLabel* etaLabel_;
  QTimer* drainTimer_;
  std::shared_ptr<SnapshotSlot> snapshots_;
  QThread* inferenceThread_;
  InferenceWorker* worker_;
  QThread* trainingThread_;
  TrainingWorker* trainer_;
  RunWatcher* watcher_ = nullptr;
  ExternalRun* external_ = nullptr;  // a latent-cli process this window started
  QString modelDir_;
  QString startupFallback_;  // opened if the start-up model fails to load (the pretrained default's)
  QString runDir_;
  bool training_ = false;
  bool threadsStopped_ = false;
  bool stopSent_ = false;
  std::function<QMessageBox::StandardButton()> closePrompt_;
};

}  // namespace latent::ui
