// Train view: corpus (the one loaded in the Corpus tab, with its statistics), a preset
// plus an editable configuration form validated as you type, start / pause / resume /
// stop, live loss curves and a log pane with evaluation samples as they arrive.
// The view only builds a TrainRequest and shows what the window feeds it.
#pragma once

#include <QWidget>

#include "studio_types.h"

class QComboBox;
class QSpinBox;
class QDoubleSpinBox;
class QLineEdit;
class QLabel;
class QPushButton;
class QPlainTextEdit;
class QCheckBox;
class QTimer;

namespace latent::ui {

class LossPlot;

class TrainView : public QWidget {
  Q_OBJECT
 public:
  explicit TrainView(QWidget* parent = nullptr);

  // Devices offered, e.g. {"cpu"} or {"cpu", "cuda"}, with labels such as "CUDA: NVIDIA H100".
  void setDevices(const QStringList& ids, const QStringList& labels);
  void setCorpus(const QString& path, const QString& summary);
  void setPreset(const QString& name);        // refills the form from the preset
  void setSteps(int steps);
  void setOutDir(const QString& dir);
  QString outDir() const;
  // A model folder to start from (imported, converted or trained); empty: from scratch.
  // One with pretrained tokenizers ticks "train only what DMLP trains" and takes its lr.
  void setInitModel(const QString& dir);
  QString initModel() const;
  // The configuration the form describes (preset + fields + JSON overrides) as JSON;
  // empty with *error set when it is invalid.
  QString configJson(QString* error = nullptr) const;
  bool isConfigValid() const { return valid_; }
  QString validationMessage() const;

  LossPlot* lossPlot() const { return plot_; }
  QString logText() const;

 public Q_SLOTS:
  void start();
  void setRunning(bool running);
  void setPaused(bool paused);
  // A run in another process cannot pause: Pause stays off while it runs.
  void setRunningElsewhere(bool running);
  void addPoints(const QVector<latent::ui::TrainPoint>& points);
  void addEval(const latent::ui::EvalPoint& e);
  void appendLog(const QStringList& lines);
  void clearRun();  // empties the curves and the log (a new run, or one followed from its folder)

 Q_SIGNALS:
  void startRequested(const latent::ui::TrainRequest& request);
  void pauseRequested();
  void resumeRequested();
  void stopRequested();
  void chooseCorpus();

 private:
  void validateNow();
  QString defaultOutDir() const;

  void initModelChanged();

  QLabel* corpusLabel_;
  QLineEdit* init_;
  QString corpusPath_;
  QComboBox* preset_;
  QComboBox* encArch_;  // model families (the registry's names)
  QComboBox* decArch_;
  QComboBox* design_;   // a seed design's latent settings (model/designs.h), or none
  QSpinBox* latentDim_;
  QSpinBox* encHidden_;
  QSpinBox* encLayers_;
  QSpinBox* encHeads_;
  QSpinBox* decHidden_;
  QSpinBox* decLayers_;
  QSpinBox* decHeads_;
  QSpinBox* vocab_;
  QSpinBox* diffusionSteps_;
  QDoubleSpinBox* alphaDdpm_;
  QDoubleSpinBox* wordDropout_;
  QSpinBox* steps_;
  QSpinBox* batch_;
  QDoubleSpinBox* lr_;
  QSpinBox* evalEvery_;
  QCheckBox* dmlpOnly_;
  QSpinBox* seed_;
  QComboBox* device_;
  QSpinBox* threads_;
  QPlainTextEdit* overrides_;
  QLineEdit* outDir_;
  QCheckBox* resume_;
  QCheckBox* separate_;       // train in a latent-cli process
  QSpinBox* processes_;       // its --nproc
  QLabel* validation_;
  QPushButton* startButton_;
  QPushButton* pauseButton_;
  QPushButton* stopButton_;
  LossPlot* plot_;
  QPlainTextEdit* log_;
  QTimer* validateTimer_;
  bool valid_ = false;
  bool running_ = false;
  bool paused_ = false;
  bool filling_ = false;
  bool hadInit_ = false;  // Start from was set: clearing it restores the preset's settings
};

}  // namespace latent::ui
