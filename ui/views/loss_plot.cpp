#include "views/loss_plot.h"

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QScopedValueRollback>
#include <QSignalBlocker>
#include <QSlider>
#include <QTextStream>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "qcp.h"

namespace latent::ui {

namespace {

struct CurveStyle {
  const char* name;
  QColor color;
};
const CurveStyle kStyles[] = {
    {"loss", QColor(30, 30, 30)}, {"rec", QColor(31, 119, 180)}, {"kl", QColor(44, 160, 44)}, {"ddpm", QColor(214, 39, 40)}};
const QColor kBleuColor(148, 103, 189);
const QColor kLrColor(110, 110, 110);
constexpr int kRawAlpha = 55;

QPen thinPen(QColor color, int alpha = 255) {
  color.setAlpha(alpha);
  return QPen(color, 1);
}

// Feeds the graph the min/max decimation of (x, y) over `range`. On a log axis the values
// that cannot be drawn (<= 0) become NaN, which QCustomPlot draws as a gap.
void setDecimated(QCPGraph* graph, const std::vector<double>& x, const std::vector<double>& y, const QCPRange& range,
                  int buckets, bool positiveOnly) {
  const Decimated d = minMaxDecimate(x, y, range.lower, range.upper, buckets);
  QVector<double> keys(d.x.begin(), d.x.end());
  QVector<double> values(d.y.begin(), d.y.end());
  if (positiveOnly)
    for (double& v : values)
      if (!(v > 0)) v = std::numeric_limits<double>::quiet_NaN();
  graph->setData(keys, values, true);
}

// Widens the axis range a little so curves do not touch the frame.
void pad(QCPAxis* axis, double factor) {
  const QCPRange r = axis->range();
  if (axis->scaleType() == QCPAxis::stLogarithmic && r.lower > 0)
    axis->scaleRange(factor, std::sqrt(r.lower * r.upper));
  else
    axis->scaleRange(factor, r.center());
}

}  // namespace

LossPlot::LossPlot(QWidget* parent) : QWidget(parent) {
  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(280);
  plot_->setMouseTracking(true);
  plot_->installEventFilter(this);
  plot_->setNoAntialiasingOnDrag(true);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);

  QCPAxisRect* main = plot_->axisRect();
  main->setRangeDragAxes({plot_->xAxis}, {plot_->yAxis});
  main->setRangeZoomAxes({plot_->xAxis}, {plot_->yAxis});
  plot_->xAxis->setTickLabels(false);  // the lr panel below carries the x labels
  plot_->yAxis->setLabel(tr("loss"));
  plot_->yAxis2->setVisible(true);
  plot_->yAxis2->setLabel(tr("BLEU"));
  plot_->yAxis2->setRange(0, 100);

  // Learning rate: a smaller axis rect below, x range shared with the main one.
  lrRect_ = new QCPAxisRect(plot_);
  plot_->plotLayout()->addElement(1, 0, lrRect_);
  auto* margins = new QCPMarginGroup(plot_);
  main->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  lrRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
  lrRect_->setRangeDrag(Qt::Horizontal);
  lrRect_->setRangeZoom(Qt::Horizontal);
  QCPAxis* lrX = lrRect_->axis(QCPAxis::atBottom);
  QCPAxis* lrY = lrRect_->axis(QCPAxis::atLeft);
  lrX->setLabel(tr("Step"));
  lrY->setLabel(tr("lr"));
  lrY->setNumberFormat("gb");
  lrY->setNumberPrecision(2);
  lrY->ticker()->setTickCount(3);
  const auto rangeChanged = qOverload<const QCPRange&>(&QCPAxis::rangeChanged);
  const auto setRange = qOverload<const QCPRange&>(&QCPAxis::setRange);
  connect(plot_->xAxis, rangeChanged, lrX, setRange);
  connect(lrX, rangeChanged, plot_->xAxis, setRange);
  for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis, lrX})
    connect(axis, rangeChanged, this, [this] { onUserRange(); });

  for (int c = 0; c < kCurves; ++c) {  // raw curves first, so every smoothed one is drawn above them
    QCPGraph* g = plot_->addGraph(plot_->xAxis, plot_->yAxis);
    g->setName(QString("%1 (raw)").arg(kStyles[c].name));
    g->setPen(thinPen(kStyles[c].color, kRawAlpha));
    g->setAntialiased(false);
    g->removeFromLegend();
    curves_[c].rawGraph = g;
  }
  for (int c = 0; c < kCurves; ++c) {
    QCPGraph* g = plot_->addGraph(plot_->xAxis, plot_->yAxis);
    g->setName(kStyles[c].name);
    g->setPen(thinPen(kStyles[c].color));
    g->setAntialiased(false);
    curves_[c].smoothGraph = g;
    curves_[c].ema = DebiasedEma(smoothing_);
  }
  bleuGraph_ = plot_->addGraph(plot_->xAxis, plot_->yAxis2);
  bleuGraph_->setName("BLEU");
  bleuGraph_->setPen(thinPen(kBleuColor));
  bleuGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, kBleuColor, Qt::white, 6));
  lrGraph_ = plot_->addGraph(lrX, lrY);
  lrGraph_->setName("lr");
  lrGraph_->setPen(thinPen(kLrColor));
  lrGraph_->setAntialiased(false);
  lrGraph_->removeFromLegend();

  // Legend in a row of its own above the plot, so it never hides a curve.
  QCPLayoutGrid* layout = plot_->plotLayout();
  main->insetLayout()->take(plot_->legend);
  layout->insertRow(0);
  layout->addElement(0, 0, plot_->legend);
  plot_->legend->setVisible(true);
  plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
  plot_->legend->setBorderPen(Qt::NoPen);
  plot_->legend->setMargins(QMargins(4, 2, 4, 0));
  layout->setRowStretchFactors({0.001, 3, 1});  // legend row as small as it can be
  layout->setRowSpacing(0);

  // Hover cursor on its own buffered layer: moving it repaints that layer only.
  plot_->addLayer("cursor", plot_->layer("main"), QCustomPlot::limAbove);
  plot_->layer("cursor")->setMode(QCPLayer::lmBuffered);
  cursor_ = new QCPItemStraightLine(plot_);
  cursor_->setLayer("cursor");
  cursor_->setClipAxisRect(main);
  for (QCPItemPosition* p : {cursor_->point1, cursor_->point2}) {
    p->setAxisRect(main);
    p->setTypeY(QCPItemPosition::ptAxisRectRatio);
  }
  cursor_->setPen(QPen(QColor(0, 0, 0, 100), 1, Qt::DashLine));
  cursor_->setVisible(false);

  connect(plot_, &QCustomPlot::beforeReplot, this, &LossPlot::updateGraphs);
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, &LossPlot::resetView);
  connect(plot_, &QCustomPlot::mouseMove, this, &LossPlot::showHover);

  // Controls.
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setRange(0, 999);  // weight = value / 1000
  slider_->setValue(qRound(smoothing_ * 1000));
  slider_->setMaximumWidth(220);
  sliderLabel_ = new QLabel(QString::number(smoothing_, 'f', 3), this);
  connect(slider_, &QSlider::valueChanged, this, [this](int v) { setSmoothing(v / 1000.0); });
  log_ = new QCheckBox(tr("Log scale"), this);
  connect(log_, &QCheckBox::toggled, this, &LossPlot::setLogScale);
  xPick_ = new QComboBox(this);
  xPick_->addItem(tr("Step"));
  xPick_->addItem(tr("Time (s)"));
  connect(xPick_, &QComboBox::currentIndexChanged, this,
          [this](int i) { setXAxis(i == 0 ? XAxis::Step : XAxis::Time); });
  auto* fit = new QPushButton(tr("Fit"), this);
  fit->setToolTip(tr("Show all data and follow new points (or double-click the plot)"));
  connect(fit, &QPushButton::clicked, this, &LossPlot::resetView);

  auto* top = new QHBoxLayout;
  top->addWidget(new QLabel(tr("Smoothing"), this));
  top->addWidget(slider_);
  top->addWidget(sliderLabel_);
  top->addSpacing(12);
  top->addWidget(log_);
  top->addWidget(new QLabel(tr("x:"), this));
  top->addWidget(xPick_);
  top->addWidget(fit);
  top->addStretch(1);

  auto* shows = new QHBoxLayout;
  auto addShow = [&](const QString& name, const QColor& color, QCheckBox** box, std::initializer_list<QCPGraph*> graphs) {
    *box = new QCheckBox(name, this);
    (*box)->setChecked(true);
    (*box)->setStyleSheet(QString("QCheckBox { color: %1; }").arg(color.name()));
    const QList<QCPGraph*> list(graphs);
    connect(*box, &QCheckBox::toggled, this, [this, list](bool on) {
      for (QCPGraph* g : list) g->setVisible(on);
      stale_ = true;
      plot_->replot(QCustomPlot::rpQueuedReplot);
    });
    shows->addWidget(*box);
  };
  for (int c = 0; c < kCurves; ++c)
    addShow(kStyles[c].name, kStyles[c].color, &curves_[c].show, {curves_[c].rawGraph, curves_[c].smoothGraph});
  addShow(tr("BLEU"), kBleuColor, &showBleu_, {bleuGraph_});
  addShow(tr("lr"), kLrColor, &showLr_, {lrGraph_});
  shows->addStretch(1);

  hover_ = new QLabel(this);
  hover_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  hover_->setText(tr("Hover over the plot to read values; drag and wheel to zoom, double-click to fit."));

  auto* column = new QVBoxLayout(this);
  column->setContentsMargins(0, 0, 0, 0);
  column->addLayout(top);
  column->addLayout(shows);
  column->addWidget(plot_, 1);
  column->addWidget(hover_);

  throttle_ = new QTimer(this);
  throttle_->setSingleShot(true);
  connect(throttle_, &QTimer::timeout, this, [this] { plot_->replot(QCustomPlot::rpQueuedReplot); });

  setLogScale(true);  // rec (~50) and ddpm (~0.01) share the axis
}

void LossPlot::addTrainPoints(const QVector<TrainPoint>& points) {
  if (points.isEmpty()) return;
  for (const TrainPoint& p : points) {
    step_.push_back(static_cast<double>(p.step));
    secs_.push_back(p.seconds);
    const double values[kCurves] = {p.loss, p.rec, p.kl, p.ddpm};
    for (int c = 0; c < kCurves; ++c) {
      curves_[c].raw.push_back(values[c]);
      curves_[c].smooth.push_back(curves_[c].ema.push(values[c]));
    }
    lr_.push_back(p.lr);
    gradNorm_.push_back(p.gradNorm);
  }
  requestUpdate();
}

void LossPlot::addEvalPoint(const EvalPoint& e) {
  evalStep_.push_back(static_cast<double>(e.step));
  evalSecs_.push_back(e.seconds);
  bleu_.push_back(e.bleu);
  requestUpdate();
}

void LossPlot::clear() {
  for (Curve& c : curves_) {
    c.raw.clear();
    c.smooth.clear();
    c.ema = DebiasedEma(smoothing_);
    c.rawGraph->data()->clear();
    c.smoothGraph->data()->clear();
  }
  for (auto* v : {&step_, &secs_, &lr_, &gradNorm_, &evalStep_, &evalSecs_, &bleu_}) v->clear();
  bleuGraph_->data()->clear();
  lrGraph_->data()->clear();
  cursor_->setVisible(false);
  hover_->clear();
  follow_ = true;
  requestUpdate();
}

void LossPlot::setSmoothing(double w) {
  smoothing_ = clampSmoothingWeight(w);
  {
    const QSignalBlocker block(slider_);
    slider_->setValue(qRound(smoothing_ * 1000));
  }
  sliderLabel_->setText(QString::number(smoothing_, 'f', 3));
  resmooth();
  requestUpdate();
}

void LossPlot::resmooth() {
  for (Curve& c : curves_) {  // the same recurrence as smoothDebiased, keeping its state for appends
    c.ema = DebiasedEma(smoothing_);
    c.smooth.resize(c.raw.size());
    for (size_t i = 0; i < c.raw.size(); ++i) c.smooth[i] = c.ema.push(c.raw[i]);
  }
}

bool LossPlot::logScale() const { return plot_->yAxis->scaleType() == QCPAxis::stLogarithmic; }

void LossPlot::setLogScale(bool on) {
  {
    const QSignalBlocker block(log_);
    log_->setChecked(on);
  }
  QCPAxis* y = plot_->yAxis;
  {
    QScopedValueRollback<bool> ours(applying_, true);
    if (on) {
      y->setScaleType(QCPAxis::stLogarithmic);
      y->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    } else {
      y->setScaleType(QCPAxis::stLinear);
      y->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
  }
  // The old range means little on the other scale: refit y even after a manual zoom.
  stale_ = true;
  updateGraphs();
  {
    QScopedValueRollback<bool> ours(applying_, true);
    y->rescale(true);
    pad(y, 1.08);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlot::setXAxis(XAxis x) {
  {
    const QSignalBlocker block(xPick_);
    xPick_->setCurrentIndex(x == XAxis::Step ? 0 : 1);
  }
  xAxis_ = x;
  lrRect_->axis(QCPAxis::atBottom)->setLabel(x == XAxis::Step ? tr("Step") : tr("Time (s)"));
  resetView();  // a range in steps means nothing in seconds
}

void LossPlot::resetView() {
  follow_ = true;
  stale_ = true;
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void LossPlot::requestUpdate() {
  stale_ = true;
  if (!isVisible()) return;  // showEvent replots
  // Decimating a million points costs ~15 ms: once it is that slow, new data is shown at
  // most every 4x that, so the window keeps most of its time for the user.
  const int delayMs = std::min(500, static_cast<int>(4 * lastUpdateMs_));
  if (delayMs < 8)
    plot_->replot(QCustomPlot::rpQueuedReplot);
  else if (!throttle_->isActive())
    throttle_->start(delayMs);
}

void LossPlot::onUserRange() {
  if (applying_) return;
  follow_ = false;
  stale_ = true;  // QCustomPlot replots after a drag or zoom; beforeReplot redecimates
}

void LossPlot::updateGraphs() {
  if (!stale_) return;
  stale_ = false;
  QElapsedTimer clock;
  clock.start();
  QScopedValueRollback<bool> ours(applying_, true);
  if (follow_) fitX();

  const std::vector<double>& x = xs();
  const QCPRange range = plot_->xAxis->range();
  const int px = plot_->axisRect()->width() > 0 ? plot_->axisRect()->width() : plot_->width();
  const int buckets = std::max(2 * px, 256);  // about two points per pixel
  const bool log = logScale();
  for (Curve& c : curves_) {
    if (!c.show->isChecked()) continue;  // refreshed when shown again
    setDecimated(c.rawGraph, x, c.raw, range, buckets, log);
    setDecimated(c.smoothGraph, x, c.smooth, range, buckets, log);
  }
  if (showLr_->isChecked()) setDecimated(lrGraph_, x, lr_, range, buckets, false);
  const std::vector<double>& ex = xAxis_ == XAxis::Step ? evalStep_ : evalSecs_;
  bleuGraph_->setData(QVector<double>(ex.begin(), ex.end()), QVector<double>(bleu_.begin(), bleu_.end()));

  if (follow_) fitY();
  lastUpdateMs_ = clock.nsecsElapsed() / 1e6;
}

void LossPlot::fitX() {
  const std::vector<double>& x = xs();
  const std::vector<double>& ex = xAxis_ == XAxis::Step ? evalStep_ : evalSecs_;
  if (x.empty() && ex.empty()) return;
  double lo = x.empty() ? ex.front() : x.front();
  double hi = x.empty() ? ex.back() : x.back();
  for (double v : ex) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  plot_->xAxis->setRange(lo, hi);  // the lr axis follows through the connection
}

// Fits the value axes to the decimated graphs, which hold every min and max of the range.
void LossPlot::fitY() {
  plot_->yAxis->rescale(true);
  pad(plot_->yAxis, 1.08);
  bool found = false;
  const QCPRange bleu = bleuGraph_->data()->valueRange(found);
  // BLEU 0 throughout (an early run) keeps the axis at 0-100, not a range around zero.
  plot_->yAxis2->setRange(0, found && bleu.upper > 1e-6 ? std::max(1.0, bleu.upper * 1.15) : 100.0);
  const QCPRange lr = lrGraph_->data()->valueRange(found);
  if (found && lr.upper > 0) lrRect_->axis(QCPAxis::atLeft)->setRange(0, lr.upper * 1.15);
}

void LossPlot::showHover(QMouseEvent* event) {
  const std::vector<double>& x = xs();
  if (x.empty()) return;
  const double key = plot_->xAxis->pixelToCoord(event->position().x());
  size_t i = static_cast<size_t>(std::lower_bound(x.begin(), x.end(), key) - x.begin());
  if (i == x.size() || (i > 0 && key - x[i - 1] < x[i] - key)) --i;

  QStringList parts;
  parts << tr("step %1").arg(static_cast<qint64>(step_[i])) << tr("%1 s").arg(secs_[i], 0, 'f', 1);
  for (int c = 0; c < kCurves; ++c)
    if (curves_[c].show->isChecked()) parts << QString("%1 %2").arg(kStyles[c].name).arg(curves_[c].smooth[i], 0, 'g', 4);
  if (showLr_->isChecked()) parts << QString("lr %1").arg(lr_[i], 0, 'g', 3);
  if (showBleu_->isChecked()) {  // the last evaluation at or before this step
    const auto e = std::upper_bound(evalStep_.begin(), evalStep_.end(), step_[i]);
    if (e != evalStep_.begin()) {
      const size_t j = static_cast<size_t>(e - evalStep_.begin()) - 1;
      parts << tr("BLEU %1 (step %2)").arg(bleu_[j], 0, 'f', 1).arg(static_cast<qint64>(evalStep_[j]));
    }
  }
  hover_->setText(parts.join("   "));

  cursor_->point1->setCoords(x[i], 0);
  cursor_->point2->setCoords(x[i], 1);
  cursor_->setVisible(true);
  plot_->layer("cursor")->replot();
}

QString LossPlot::hoverText() const { return hover_->text(); }

bool LossPlot::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_) {
    if (event->type() == QEvent::Resize) {
      stale_ = true;  // more or fewer pixels: decimate again
    } else if (event->type() == QEvent::Leave && cursor_->visible()) {
      cursor_->setVisible(false);
      plot_->layer("cursor")->replot();
    }
  }
  return QWidget::eventFilter(watched, event);
}

void LossPlot::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  if (stale_) plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool LossPlot::exportCsv(const QString& path, QString* error) const {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
    if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  QTextStream out(&file);
  out.setRealNumberPrecision(10);
  out << "step,seconds,loss,rec,kl,ddpm,lr,grad_norm,bleu\n";
  const size_t n = step_.size(), evals = evalStep_.size();
  size_t j = 0;
  auto evalRow = [&](size_t k) {
    out << static_cast<qint64>(evalStep_[k]) << ',' << evalSecs_[k] << ",,,,,,," << bleu_[k] << '\n';
  };
  for (size_t i = 0; i < n; ++i) {
    while (j < evals && evalStep_[j] < step_[i]) evalRow(j++);
    out << static_cast<qint64>(step_[i]) << ',' << secs_[i];
    for (const Curve& c : curves_) out << ',' << c.raw[i];
    out << ',' << lr_[i] << ',' << gradNorm_[i] << ',';
    if (j < evals && evalStep_[j] == step_[i]) out << bleu_[j++];
    out << '\n';
  }
  while (j < evals) evalRow(j++);
  out.flush();
  if (out.status() != QTextStream::Ok || !file.flush()) {
    if (error) *error = tr("Cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

bool LossPlot::exportImage(const QString& path, QString* error) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix != "png" && suffix != "pdf") {
    if (error) *error = tr("Unsupported image type \"%1\": use .png or .pdf").arg(suffix);
    return false;
  }
  // A plot that was never laid out on screen still exports at a readable size.
  const int w = plot_->width() >= 200 ? plot_->width() : 900;
  const int h = plot_->height() >= 150 ? plot_->height() : 600;
  updateGraphs();  // savePng/savePdf draw without a replot, so no beforeReplot
  const bool cursorShown = cursor_->visible();
  cursor_->setVisible(false);
  const bool ok = suffix == "pdf" ? plot_->savePdf(path, w, h) : plot_->savePng(path, w, h);
  cursor_->setVisible(cursorShown);
  if (!ok && error) *error = tr("Could not write %1").arg(path);
  return ok;
}

}  // namespace latent::ui
