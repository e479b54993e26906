// The studio's main window: tabs for the corpus, reconstruction and the model panel;
// an inference worker on its own thread owns the model. The window only sends requests
// and shows answers, so it never freezes.
#pragma once

#include <QMainWindow>

#include "studio_types.h"

class QThread;
class QMenu;
class QTabWidget;
class QLabel;

namespace latent::ui {

class CorpusView;
class ReconstructView;
class ModelPanel;
class InferenceWorker;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  CorpusView* corpusView() const { return corpus_; }
  ReconstructView* reconstructView() const { return reconstruct_; }
  ModelPanel* modelPanel() const { return modelPanel_; }
  QTabWidget* tabs() const { return tabs_; }
  QString modelDir() const { return modelDir_; }

  // Asks the worker to load a model folder; the answer arrives as modelOpened/failed.
  void openModel(const QString& path);

 Q_SIGNALS:
  void modelReady(const QString& dir);
  void errorShown(const QString& message);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void openCorpusDialog();
  void openModelDialog();
  void showAbout();
  void onModelOpened(const ModelSummary& s);
  void showError(const QString& context, const QString& message);
  void rebuildRecentMenu();

  QTabWidget* tabs_;
  CorpusView* corpus_;
  ReconstructView* reconstruct_;
  ModelPanel* modelPanel_;
  QMenu* recentMenu_;
  QLabel* deviceLabel_;
  QLabel* modelLabel_;
  QThread* inferenceThread_;
  InferenceWorker* worker_;
  QString modelDir_;
};

}  // namespace latent::ui
