#include "views/generate_view.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

#include "qcp.h"

namespace latent::ui {

namespace {
// One colour per sample, shared by its curve and its row in the table.
QColor sampleColor(int i, int n) { return QColor::fromHsv((i * 360 / std::max(n, 1)) % 360, 200, 200); }
}  // namespace

GenerateView::GenerateView(QWidget* parent) : QWidget(parent) {
  samples_ = new QSpinBox(this);
  samples_->setRange(1, 32);
  samples_->setValue(6);
  sampler_ = new QComboBox(this);
  sampler_->addItem(tr("DDPM (ancestral)"), "ddpm");
  sampler_->addItem(tr("DDIM"), "ddim");
  ddimSteps_ = new QSpinBox(this);
  ddimSteps_->setRange(2, 1000);
  ddimSteps_->setValue(50);
  auto updateSampler = [this] { ddimSteps_->setEnabled(sampler_->currentData().toString() == "ddim"); };
  connect(sampler_, &QComboBox::currentIndexChanged, this, updateSampler);
  updateSampler();
  frames_ = new QSpinBox(this);
  frames_->setRange(5, 200);
  frames_->setValue(40);
  frames_->setToolTip(tr("How many steps of the sampler are decoded and recorded for playback"));
  seed_ = new QSpinBox(this);
  seed_->setRange(0, std::numeric_limits<int>::max());
  seed_->setValue(42);
  generateButton_ = new QPushButton(tr("Generate"), this);
  connect(generateButton_, &QPushButton::clicked, this, &GenerateView::generate);
  hint_ = new QLabel(tr("Open a model (File > Open model folder) to generate"), this);
  hint_->setStyleSheet("color: #777;");
  status_ = new QLabel(this);

  playButton_ = new QPushButton(tr("Play"), this);
  pauseButton_ = new QPushButton(tr("Pause"), this);
  stepButton_ = new QPushButton(tr("Step"), this);
  resetButton_ = new QPushButton(tr("Reset"), this);
  connect(playButton_, &QPushButton::clicked, this, &GenerateView::play);
  connect(pauseButton_, &QPushButton::clicked, this, &GenerateView::pause);
  connect(stepButton_, &QPushButton::clicked, this, &GenerateView::stepForward);
  connect(resetButton_, &QPushButton::clicked, this, &GenerateView::reset);
  playTimer_ = new QTimer(this);
  connect(playTimer_, &QTimer::timeout, this, [this] {
    setFrame(frame_ + 1);  // pauses itself on the last frame
  });
  speed_ = new QSlider(Qt::Horizontal, this);
  speed_->setRange(1, 30);
  speed_->setMaximumWidth(160);
  speedLabel_ = new QLabel(this);
  connect(speed_, &QSlider::valueChanged, this, &GenerateView::setSpeed);
  speed_->setValue(8);

  timeline_ = new QSlider(Qt::Horizontal, this);
  timeline_->setRange(0, 0);
  connect(timeline_, &QSlider::valueChanged, this, &GenerateView::setFrame);
  connect(timeline_, &QSlider::sliderPressed, this, &GenerateView::pause);  // scrubbing takes over
  frameLabel_ = new QLabel(tr("No generation yet"), this);

  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(200);
  plot_->xAxis->setLabel(tr("diffusion time t"));
  plot_->xAxis->setRangeReversed(true);  // time runs T -> 0 from left to right
  plot_->yAxis->setLabel(tr("||x_t||"));
  nowLine_ = new QCPItemStraightLine(plot_);
  nowLine_->setPen(QPen(QColor(200, 60, 60), 1, Qt::DashLine));
  nowLine_->setVisible(false);

  table_ = new QTableWidget(0, 2, this);
  table_->setHorizontalHeaderLabels({tr("sample"), tr("decodes to")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

  auto* options = new QGroupBox(tr("Sampler"), this);
  auto* form = new QFormLayout(options);
  form->addRow(tr("Samples"), samples_);
  form->addRow(tr("Sampler"), sampler_);
  form->addRow(tr("DDIM steps"), ddimSteps_);
  form->addRow(tr("Recorded frames"), frames_);
  form->addRow(tr("Seed"), seed_);
  form->addRow(generateButton_);
  form->addRow(hint_);
  form->addRow(status_);

  auto* controls = new QHBoxLayout;
  for (auto* button : {playButton_, pauseButton_, stepButton_, resetButton_}) controls->addWidget(button);
  controls->addSpacing(12);
  controls->addWidget(new QLabel(tr("Speed"), this));
  controls->addWidget(speed_);
  controls->addWidget(speedLabel_);
  controls->addStretch(1);
  auto* timelineRow = new QHBoxLayout;
  timelineRow->addWidget(timeline_, 1);
  timelineRow->addWidget(frameLabel_);

  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(plot_);
  split->addWidget(table_);
  auto* right = new QVBoxLayout;
  right->addLayout(controls);
  right->addLayout(timelineRow);
  right->addWidget(split, 1);
  auto* left = new QVBoxLayout;
  left->addWidget(options);
  left->addStretch(1);
  auto* layout = new QHBoxLayout(this);
  layout->addLayout(left);
  layout->addLayout(right, 1);
  setModelReady(false);
  updatePlaybackButtons();
}

void GenerateView::setModelReady(bool ready) {
  ready_ = ready;
  generateButton_->setEnabled(ready);
  hint_->setVisible(!ready);
}

void GenerateView::generate() {
  if (!ready_) return;
  pending_ = nextRequest_++;
  status_->setText(tr("Sampling..."));
  Q_EMIT requestGenerate(pending_, samples_->value(), sampler_->currentData().toString(), ddimSteps_->value(),
                         frames_->value(), static_cast<quint64>(seed_->value()));
}

void GenerateView::showTrace(const GenerateTrace& trace) {
  if (trace.requestId < pending_) return;  // an older request answered late
  pause();
  trace_ = trace;
  status_->setText(tr("%1 samples, %2 frames").arg(trace.samples).arg(trace.frameT.size()));
  {
    const QSignalBlocker block(timeline_);
    timeline_->setRange(0, std::max(0, frameCount() - 1));
  }
  drawNorms();
  if (frameCount() == 0) {
    frame_ = 0;
    table_->setRowCount(0);
    nowLine_->setVisible(false);
    frameLabel_->setText(tr("The sampler recorded no frame"));
    updatePlaybackButtons();
    return;
  }
  frame_ = -1;  // so that setFrame(0) redraws even when the last trace also sat on frame 0
  setFrame(0);
  play();
}

int GenerateView::sampleCount() const { return std::max<int>(trace_.samples, trace_.norms.size()); }

void GenerateView::drawNorms() {
  plot_->clearGraphs();
  const int n = sampleCount();
  double top = 0;
  for (int s = 0; s < trace_.norms.size(); ++s) {
    const auto& norm = trace_.norms[s];
    const int count = std::min<int>(norm.size(), trace_.normT.size());
    QVector<double> keys(count), values(count);
    for (int i = 0; i < count; ++i) {
      keys[i] = trace_.normT[i];
      values[i] = norm[i];
      top = std::max(top, values[i]);
    }
    auto* graph = plot_->addGraph();
    graph->setName(tr("sample %1").arg(s + 1));
    graph->setPen(QPen(sampleColor(s, n), 1.5));
    graph->setData(keys, values);  // normT descends; setData sorts
  }
  int maxT = 0;
  for (int t : trace_.normT) maxT = std::max(maxT, t);
  for (int t : trace_.frameT) maxT = std::max(maxT, t);
  plot_->xAxis->setRange(0, std::max(maxT, 1));
  plot_->yAxis->setRange(0, top > 0 ? top * 1.05 : 1);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void GenerateView::setFrame(int frame) {
  const int count = frameCount();
  if (count == 0) return;
  frame = std::clamp(frame, 0, count - 1);
  if (frame == count - 1 && isPlaying()) pause();  // playback stops at t = 0
  if (frame == frame_) return;
  frame_ = frame;
  {
    const QSignalBlocker block(timeline_);
    timeline_->setValue(frame);
  }
  const int t = trace_.frameT[frame];
  const int maxT = trace_.frameT.first();
  frameLabel_->setText(tr("t = %1 / %2 (frame %3 of %4)").arg(t).arg(maxT).arg(frame + 1).arg(count));
  nowLine_->point1->setCoords(t, 0);
  nowLine_->point2->setCoords(t, 1);
  nowLine_->setVisible(true);
  plot_->replot(QCustomPlot::rpQueuedReplot);

  const QStringList sentences = currentSentences();
  const int samples = std::max<int>(sampleCount(), sentences.size());
  table_->setRowCount(samples);
  for (int s = 0; s < samples; ++s) {
    auto* number = new QTableWidgetItem(QString::number(s + 1));
    number->setForeground(sampleColor(s, sampleCount()));
    number->setTextAlignment(Qt::AlignCenter);
    table_->setItem(s, 0, number);
    table_->setItem(s, 1, new QTableWidgetItem(s < sentences.size() ? sentences[s] : QString()));
  }
  updatePlaybackButtons();
  Q_EMIT frameShown(frame);
}

int GenerateView::currentT() const {
  return frame_ >= 0 && frame_ < trace_.frameT.size() ? trace_.frameT[frame_] : -1;
}

QStringList GenerateView::currentSentences() const {
  return frame_ >= 0 && frame_ < trace_.frameSentences.size() ? trace_.frameSentences[frame_] : QStringList();
}

bool GenerateView::isPlaying() const { return playTimer_->isActive(); }

void GenerateView::play() {
  if (frameCount() < 2) return;
  if (frame_ >= frameCount() - 1) setFrame(0);  // at t = 0: play again from the start
  playTimer_->start();
  updatePlaybackButtons();
}

void GenerateView::pause() {
  playTimer_->stop();
  updatePlaybackButtons();
}

void GenerateView::stepForward() {
  pause();
  setFrame(frame_ + 1);
}

void GenerateView::reset() {
  pause();
  setFrame(0);
}

void GenerateView::setSpeed(int fps) {
  playTimer_->setInterval(1000 / std::max(fps, 1));
  speedLabel_->setText(tr("%1 fps").arg(fps));
}

void GenerateView::updatePlaybackButtons() {
  const bool any = frameCount() > 0;
  const bool atEnd = frame_ >= frameCount() - 1;
  playButton_->setEnabled(any && !isPlaying());
  pauseButton_->setEnabled(isPlaying());
  stepButton_->setEnabled(any && !atEnd);
  resetButton_->setEnabled(any && frame_ > 0);
  timeline_->setEnabled(any);
}

}  // namespace latent::ui
