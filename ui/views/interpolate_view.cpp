#include "views/interpolate_view.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

#include "qcp.h"

namespace latent::ui {

namespace {
constexpr int kSliderSteps = 1000;       // slider value / kSliderSteps = t
constexpr int kDebounceMs = 120;
constexpr qint64 kDecodeGiveUpMs = 5000;  // a worker error never answers: stop waiting then

QString formatT(double t) { return QString::number(t, 'f', 3); }
}  // namespace

InterpolateView::InterpolateView(QWidget* parent) : QWidget(parent) {
  a_ = new QLineEdit(tr("the cat sat on the mat"), this);
  b_ = new QLineEdit(tr("a dog ran in the park"), this);
  connect(a_, &QLineEdit::returnPressed, this, &InterpolateView::run);
  connect(b_, &QLineEdit::returnPressed, this, &InterpolateView::run);
  n_ = new QSpinBox(this);
  n_->setRange(2, 50);
  n_->setValue(10);
  mode_ = new QComboBox(this);
  mode_->addItem(tr("Linear"), false);
  mode_->addItem(tr("Spherical (slerp)"), true);
  runButton_ = new QPushButton(tr("Interpolate"), this);
  connect(runButton_, &QPushButton::clicked, this, &InterpolateView::run);
  copyButton_ = new QPushButton(tr("Copy"), this);
  copyButton_->setToolTip(tr("Copy the table and the slider's sentence as tab-separated text"));
  connect(copyButton_, &QPushButton::clicked, this, &InterpolateView::copyToClipboard);

  hint_ = new QLabel(tr("Open a model (File > Open model folder) to interpolate"), this);
  hint_->setStyleSheet("color: #777;");
  message_ = new QLabel(this);
  message_->setStyleSheet("color: #b00;");
  message_->hide();

  table_ = new QTableWidget(0, 2, this);
  table_->setHorizontalHeaderLabels({tr("t"), tr("sentence")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);

  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setRange(0, kSliderSteps);
  slider_->setValue(kSliderSteps / 2);
  tLabel_ = new QLabel(this);
  tLabel_->setMinimumWidth(tLabel_->fontMetrics().horizontalAdvance("t = 0.000 "));
  live_ = new QLabel(this);
  live_->setWordWrap(true);
  live_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont big = live_->font();
  big.setPointSizeF(big.pointSizeF() * 1.6);
  live_->setFont(big);
  live_->setMinimumHeight(live_->fontMetrics().height() * 2);
  live_->setText(tr("Move the slider to decode a point between A and B"));

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(kDebounceMs);
  connect(debounce_, &QTimer::timeout, this, &InterpolateView::sendDecodeAt);
  auto updateT = [this] { tLabel_->setText("t = " + formatT(slider_->value() / double(kSliderSteps))); };
  connect(slider_, &QSlider::valueChanged, this, [this, updateT] {
    updateT();
    debounce_->start();  // restarts: only the position where the slider rests is decoded
  });
  connect(mode_, &QComboBox::currentIndexChanged, debounce_, qOverload<>(&QTimer::start));
  updateT();

  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(200);
  plot_->xAxis->setLabel(tr("PC 1"));
  plot_->yAxis->setLabel(tr("PC 2"));
  path_ = new QCPCurve(plot_->xAxis, plot_->yAxis);
  path_->setPen(QPen(QColor(70, 130, 200), 1.5));
  path_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(70, 130, 200), 6));
  marker_ = plot_->addGraph();
  marker_->setLineStyle(QCPGraph::lsNone);
  marker_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::red, 2), QBrush(QColor(255, 0, 0, 90)), 14));
  labelA_ = new QCPItemText(plot_);
  labelB_ = new QCPItemText(plot_);
  for (auto* label : {labelA_, labelB_}) {
    QFont bold = label->font();
    bold.setBold(true);
    label->setFont(bold);
    label->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
    label->setPadding(QMargins(0, 0, 0, 6));
    label->setVisible(false);
  }
  labelA_->setText("A");
  labelB_->setText("B");

  auto* inputs = new QFormLayout;
  inputs->addRow(tr("Sentence A"), a_);
  inputs->addRow(tr("Sentence B"), b_);
  auto* options = new QHBoxLayout;
  options->addWidget(new QLabel(tr("Points"), this));
  options->addWidget(n_);
  options->addWidget(mode_);
  options->addWidget(runButton_);
  options->addStretch(1);
  options->addWidget(copyButton_);
  auto* sliderRow = new QHBoxLayout;
  sliderRow->addWidget(new QLabel("A", this));
  sliderRow->addWidget(slider_, 1);
  sliderRow->addWidget(new QLabel("B", this));
  sliderRow->addWidget(tLabel_);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(table_);
  split->addWidget(plot_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(inputs);
  layout->addLayout(options);
  layout->addWidget(hint_);
  layout->addWidget(message_);
  layout->addLayout(sliderRow);
  layout->addWidget(live_);
  layout->addWidget(split, 1);
  setModelReady(false);
}

void InterpolateView::setModelReady(bool ready) {
  ready_ = ready;
  runButton_->setEnabled(ready);
  copyButton_->setEnabled(ready);
  hint_->setVisible(!ready);
  // A new (or no) model: an answer still awaited may never come.
  decodeInFlight_ = false;
  decodeAgain_ = false;
  debounce_->stop();
}

bool InterpolateView::slerp() const { return mode_->currentData().toBool(); }

bool InterpolateView::inputsValid() {
  if (a_->text().trimmed().isEmpty() || b_->text().trimmed().isEmpty()) {
    message_->setText(tr("Type both sentence A and sentence B."));
    message_->show();
    return false;
  }
  message_->hide();
  return true;
}

void InterpolateView::setSentences(const QString& a, const QString& b) {
  a_->setText(a);
  b_->setText(b);
}

void InterpolateView::run() {
  if (!ready_ || !inputsValid()) return;
  latestInterpolate_ = nextRequest_++;
  Q_EMIT requestInterpolate(latestInterpolate_, a_->text().trimmed(), b_->text().trimmed(), n_->value(), slerp());
}

void InterpolateView::sendDecodeAt() {
  if (!ready_ || !inputsValid()) return;
  const qint64 now = QDateTime::currentMSecsSinceEpoch();
  if (decodeInFlight_ && now - decodeSentAt_ < kDecodeGiveUpMs) {
    decodeAgain_ = true;  // sent when the answer arrives, for wherever the slider is then
    return;
  }
  decodeInFlight_ = true;
  decodeAgain_ = false;
  decodeSentAt_ = now;
  decodeProjection_ = latestInterpolate_;
  latestDecode_ = nextRequest_++;
  Q_EMIT requestDecodeAt(latestDecode_, a_->text().trimmed(), b_->text().trimmed(),
                         slider_->value() / double(kSliderSteps), slerp());
}

void InterpolateView::showDecodeAt(const DecodeAtResult& r) {
  if (r.requestId < latestDecode_) return;  // superseded (a request we gave up on)
  decodeInFlight_ = false;
  sliderSentence_ = r.sentence;
  sliderT_ = r.t;
  live_->setText(r.sentence.isEmpty() ? tr("(empty)") : r.sentence);
  // point2d lies in the projection of the interpolation the worker had done before this
  // request; mark it only when that is the path on screen.
  marker_->data()->clear();
  if (decodeProjection_ == last_.requestId && !last_.path2d.isEmpty())
    marker_->addData(r.point2d.x(), r.point2d.y());
  plot_->replot(QCustomPlot::rpQueuedReplot);
  if (decodeAgain_) sendDecodeAt();
}

void InterpolateView::showInterpolation(const InterpolateResult& r) {
  if (r.requestId < latestInterpolate_) return;  // an older request answered late
  last_ = r;
  const int rows = std::min<int>(r.t.size(), r.sentences.size());
  table_->setRowCount(rows);
  for (int i = 0; i < rows; ++i) {
    auto* t = new QTableWidgetItem(formatT(r.t[i]));
    t->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    table_->setItem(i, 0, t);
    table_->setItem(i, 1, new QTableWidgetItem(r.sentences[i]));
  }
  table_->resizeColumnToContents(0);
  drawPath();
  debounce_->start();  // re-decode the slider's point so its marker lands on the new path
}

void InterpolateView::drawPath() {
  const auto& p = last_.path2d;
  QVector<double> keys, xs, ys;
  for (int i = 0; i < p.size(); ++i) {
    keys << i;
    xs << p[i].x();
    ys << p[i].y();
  }
  path_->setData(keys, xs, ys, true);
  marker_->data()->clear();
  labelA_->setVisible(!p.isEmpty());
  labelB_->setVisible(p.size() > 1);
  if (!p.isEmpty()) {
    labelA_->position->setCoords(p.first());
    labelB_->position->setCoords(p.last());
    const auto [xMin, xMax] = std::minmax_element(xs.begin(), xs.end());
    const auto [yMin, yMax] = std::minmax_element(ys.begin(), ys.end());
    // Pad so the labels and the marker stay inside; a degenerate path (A == B) still gets a range.
    const double span = std::max({*xMax - *xMin, *yMax - *yMin, 1e-3});
    plot_->xAxis->setRange(*xMin - 0.15 * span, *xMax + 0.15 * span);
    plot_->yAxis->setRange(*yMin - 0.15 * span, *yMax + 0.2 * span);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

int InterpolateView::rowCount() const { return table_->rowCount(); }

QString InterpolateView::tableText() const {
  QStringList lines;
  for (int i = 0; i < table_->rowCount(); ++i)
    lines << table_->item(i, 0)->text() + '\t' + table_->item(i, 1)->text();
  return lines.join('\n');
}

void InterpolateView::copyToClipboard() {
  QString text = tableText();
  if (!sliderSentence_.isEmpty()) {
    if (!text.isEmpty()) text += '\n';
    text += tr("slider %1\t%2").arg(formatT(sliderT_), sliderSentence_);
  }
  QApplication::clipboard()->setText(text);
}

}  // namespace latent::ui
