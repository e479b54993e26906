// Generate view: the worker runs the DDPM (ancestral) or DDIM sampler once for N samples
// and returns a recording (GenerateTrace); this view plays it back from t = T to 0 with
// play, pause, step, reset, speed and a timeline, plots each sample's latent norm against
// t, and lists what every sample decodes to at the current frame.
#pragma once

#include <QWidget>

#include "studio_types.h"

class QComboBox;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QTableWidget;
class QTimer;

namespace latent::ui {

class GenerateView : public QWidget {
  Q_OBJECT
 public:
  explicit GenerateView(QWidget* parent = nullptr);

  int frame() const { return frame_; }
  int frameCount() const { return trace_.frameT.size(); }
  int currentT() const;  // -1 before any trace
  QStringList currentSentences() const;
  bool isPlaying() const;

 public Q_SLOTS:
  void showTrace(const latent::ui::GenerateTrace& trace);
  void setModelReady(bool ready);
  void generate();
  void play();
  void pause();
  void stepForward();
  void reset();
  void setFrame(int frame);

 Q_SIGNALS:
  void requestGenerate(int requestId, int samples, const QString& sampler, int ddimSteps, int frames, quint64 seed);
  void frameShown(int frame);  // the Latent map draws the samples of this frame

 private:
  void drawNorms();
  int sampleCount() const;
  void updatePlaybackButtons();
  void setSpeed(int fps);

  QSpinBox* samples_;
  QComboBox* sampler_;
  QSpinBox* ddimSteps_;
  QSpinBox* frames_;
  QSpinBox* seed_;
  QPushButton* generateButton_;
  QLabel* hint_;
  QLabel* status_;
  QPushButton* playButton_;
  QPushButton* pauseButton_;
  QPushButton* stepButton_;
  QPushButton* resetButton_;
  QSlider* speed_;
  QLabel* speedLabel_;
  QSlider* timeline_;
  QLabel* frameLabel_;
  QCustomPlot* plot_;
  QCPItemStraightLine* nowLine_;
  QTableWidget* table_;
  QTimer* playTimer_;

  bool ready_ = false;
  int nextRequest_ = 1;
  int pending_ = 0;  // id of the last requestGenerate sent
  GenerateTrace trace_;
  int frame_ = 0;
};

}  // namespace latent::ui
