// Live loss curves for the Train view: total, reconstruction, KL and diffusion loss
// (smoothed over a faint raw curve, log axis by default), evaluation BLEU on the right
// axis, the learning rate in a small panel below. Full series stay in memory; the graphs
// get a min/max decimation of the visible range (about two points per pixel), redone
// just before each replot, so a million points stay fluid and spikes stay visible.
//
// Graph order in plot(): 0-3 raw loss/rec/kl/ddpm, 4-7 smoothed (same order), 8 BLEU,
// 9 learning rate. Graph names: "loss", "rec", "kl", "ddpm" (smoothed), "loss (raw)"...,
// "BLEU", "lr".
//
// CSV export: one file, header
//   step,seconds,loss,rec,kl,ddpm,lr,grad_norm,bleu
// one row per training step with the raw values; bleu is empty except on rows at an
// evaluation step. An evaluation at a step with no training row gets a row of its own
// (train columns empty), merged in step order.
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>
#include <array>
#include <vector>

#include "studio_types.h"
#include "views/curve_math.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QMouseEvent;
class QShowEvent;
class QSlider;
class QTimer;
class QCustomPlot;
class QCPAxisRect;
class QCPGraph;
class QCPItemStraightLine;

namespace latent::ui {

class LossPlot : public QWidget {
  Q_OBJECT
 public:
  enum class XAxis { Step, Time };

  explicit LossPlot(QWidget* parent = nullptr);

  // Appended in step order (x must not go backwards); called at most ~30 times/s.
  void addTrainPoints(const QVector<TrainPoint>& points);
  void addEvalPoint(const EvalPoint& e);
  void clear();
  int pointCount() const { return static_cast<int>(step_.size()); }
  int evalCount() const { return static_cast<int>(evalStep_.size()); }

  void setSmoothing(double w);  // 0..0.999, also moves the slider
  double smoothing() const { return smoothing_; }
  void setLogScale(bool on);
  bool logScale() const;
  void setXAxis(XAxis x);
  XAxis xAxis() const { return xAxis_; }

  bool exportCsv(const QString& path, QString* error) const;
  bool exportImage(const QString& path, QString* error);  // .png or .pdf, by extension

  QCustomPlot* plot() const { return plot_; }
  bool autoFollow() const { return follow_; }  // false after a manual zoom or drag
  QString hoverText() const;                   // what the line under the plot shows

 public Q_SLOTS:
  // Full range again, and new data keeps it fitted (what a double-click does).
  void resetView();

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;  // plot resize and mouse leave
  void showEvent(QShowEvent* event) override;

 private:
  enum { kLoss, kRec, kKl, kDdpm, kCurves };
  struct Curve {
    std::vector<double> raw, smooth;  // (N) per training point
    DebiasedEma ema;
    QCPGraph* rawGraph = nullptr;
    QCPGraph* smoothGraph = nullptr;
    QCheckBox* show = nullptr;
  };

  const std::vector<double>& xs() const { return xAxis_ == XAxis::Step ? step_ : secs_; }
  void requestUpdate();   // marks the graphs stale and queues a replot
  void updateGraphs();    // decimates into the graphs (and fits the view when following)
  void fitX();
  void fitY();
  void resmooth();
  void onUserRange();
  void showHover(QMouseEvent* event);

  QCustomPlot* plot_;
  QCPAxisRect* lrRect_;
  QCPGraph* bleuGraph_;
  QCPGraph* lrGraph_;
  QCPItemStraightLine* cursor_;
  QCheckBox* showBleu_;
  QCheckBox* showLr_;
  QCheckBox* log_;
  QComboBox* xPick_;
  QSlider* slider_;
  QLabel* sliderLabel_;
  QLabel* hover_;
  QTimer* throttle_;  // spaces out data-driven replots once decimation gets slow

  std::array<Curve, kCurves> curves_;
  std::vector<double> step_, secs_;              // (N) step (exact as double), seconds since start
  std::vector<double> lr_, gradNorm_;            // (N)
  std::vector<double> evalStep_, evalSecs_, bleu_;  // (E) evaluations, in step order
  double smoothing_ = 0.6;
  XAxis xAxis_ = XAxis::Step;
  bool follow_ = true;    // keep the view fitted to all data
  bool stale_ = true;     // graphs need a new decimation
  bool applying_ = false; // range changes are ours, not the user's
  double lastUpdateMs_ = 0;  // cost of the last updateGraphs()
};

}  // namespace latent::ui
