#include "views/reconstruct_view.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "qcp.h"
#include "views/word_diff.h"

namespace latent::ui {

ReconstructView::ReconstructView(QWidget* parent) : QWidget(parent) {
  input_ = new QPlainTextEdit(this);
  input_->setPlaceholderText(tr("Type sentences, one per line. Enter runs, Shift+Enter adds a line."));
  input_->installEventFilter(this);
  input_->setMaximumHeight(110);
  runButton_ = new QPushButton(tr("Reconstruct"), this);
  connect(runButton_, &QPushButton::clicked, this, &ReconstructView::run);

  strategy_ = new QComboBox(this);
  strategy_->addItem(tr("greedy"), "greedy");
  strategy_->addItem(tr("sample"), "sample");
  temperature_ = new QDoubleSpinBox(this);
  temperature_->setRange(0.05, 5.0);
  temperature_->setSingleStep(0.1);
  temperature_->setValue(1.0);
  topP_ = new QDoubleSpinBox(this);
  topP_->setRange(0.05, 1.0);
  topP_->setSingleStep(0.05);
  topP_->setValue(0.9);
  repetition_ = new QDoubleSpinBox(this);
  repetition_->setRange(0.5, 5.0);
  repetition_->setSingleStep(0.1);
  repetition_->setValue(1.0);
  repetition_->setToolTip(tr("DAVAE's repetition penalty: the probability of each token already in the sentence "
                             "is divided by this (1: off); applies to greedy decoding too"));
  auto updateSampling = [this] {
    const bool sample = strategy_->currentData().toString() == "sample";
    temperature_->setEnabled(sample);
    topP_->setEnabled(sample);
  };
  connect(strategy_, &QComboBox::currentIndexChanged, this, updateSampling);
  updateSampling();
  samples_ = new QSpinBox(this);
  samples_->setRange(0, 10);
  samples_->setValue(3);
  noise_ = new QSlider(Qt::Horizontal, this);
  noise_->setRange(0, 100);  // noise scale 0..10 in steps of 0.1
  noise_->setValue(10);
  noiseLabel_ = new QLabel(this);
  auto updateNoise = [this] { noiseLabel_->setText(QString::number(noise_->value() / 10.0, 'f', 1)); };
  connect(noise_, &QSlider::valueChanged, this, updateNoise);
  connect(noise_, &QSlider::sliderReleased, this, &ReconstructView::run);
  updateNoise();

  auto* options = new QGroupBox(tr("Decoding"), this);
  auto* form = new QFormLayout(options);
  form->addRow(tr("Strategy"), strategy_);
  form->addRow(tr("Temperature"), temperature_);
  form->addRow(tr("Top-p"), topP_);
  form->addRow(tr("Repetition penalty"), repetition_);
  form->addRow(tr("Paraphrases (around mu)"), samples_);
  auto* noiseRow = new QHBoxLayout;
  noiseRow->addWidget(noise_);
  noiseRow->addWidget(noiseLabel_);
  form->addRow(tr("Noise scale (x sigma)"), noiseRow);

  results_ = new QTextBrowser(this);
  results_->setPlaceholderText(tr("Reconstructions appear here"));
  latentPick_ = new QComboBox(this);
  connect(latentPick_, &QComboBox::currentIndexChanged, this, &ReconstructView::showLatent);
  latentPlot_ = new QCustomPlot(this);
  latentPlot_->setMinimumHeight(160);
  latentPlot_->xAxis->setLabel(tr("latent dimension"));
  latentPlot_->yAxis->setLabel(tr("mu"));

  auto* top = new QHBoxLayout;
  auto* left = new QVBoxLayout;
  left->addWidget(input_);
  left->addWidget(runButton_, 0, Qt::AlignLeft);
  top->addLayout(left, 3);
  top->addWidget(options, 1);
  auto* latentBox = new QWidget(this);
  auto* latentLayout = new QVBoxLayout(latentBox);
  latentLayout->setContentsMargins(0, 0, 0, 0);
  latentLayout->addWidget(latentPick_);
  latentLayout->addWidget(latentPlot_);
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(results_);
  split->addWidget(latentBox);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(top);
  layout->addWidget(split, 1);
  setModelReady(false);
}

void ReconstructView::setModelReady(bool ready) {
  runButton_->setEnabled(ready);
  if (!ready) results_->setPlaceholderText(tr("No model loaded: open one with File > Open model folder"));
  else results_->setPlaceholderText(tr("Reconstructions appear here"));
}

bool ReconstructView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == input_ && event->type() == QEvent::KeyPress) {
    auto* key = static_cast<QKeyEvent*>(event);
    if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) && !(key->modifiers() & Qt::ShiftModifier)) {
      run();
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

void ReconstructView::setSentences(const QString& text) { input_->setPlainText(text); }

DecodeSettings ReconstructView::settings() const {
  DecodeSettings s;
  s.strategy = strategy_->currentData().toString();
  s.temperature = temperature_->value();
  s.topP = topP_->value();
  s.repetitionPenalty = repetition_->value();
  return s;
}

void ReconstructView::run() {
  if (!runButton_->isEnabled()) return;
  const QStringList lines = input_->toPlainText().split('\n', Qt::SkipEmptyParts);
  if (lines.isEmpty()) return;
  pending_ = nextRequest_++;
  Q_EMIT requestReconstruct(pending_, lines, settings(), noise_->value() / 10.0, samples_->value());
}

void ReconstructView::showResult(const ReconstructResult& result) {
  if (result.requestId != pending_) return;  // an older request answered late
  last_ = result;
  QString html;
  for (const auto& item : result.items) {
    html += QString("<p><b>%1</b><br>&rarr; %2 &nbsp; <span style=\"color:#555\">BLEU %3</span>")
                .arg(item.input.toHtmlEscaped(), item.output.isEmpty() ? tr("<i>(empty)</i>")
                                                                        : highlightDifferences(item.input, item.output))
                .arg(item.bleu, 0, 'f', 1);
    if (!item.posterior.isEmpty()) {
      html += QString("<br><span style=\"color:#555\">around mu (noise %1):</span>").arg(result.noiseScale, 0, 'f', 1);
      for (const auto& p : item.posterior)
        html += "<br>&nbsp;&nbsp;&middot; " + (p.isEmpty() ? tr("<i>(empty)</i>") : p.toHtmlEscaped());
    }
    html += "</p>";
  }
  results_->setHtml(html);
  const int keep = latentPick_->currentIndex();
  latentPick_->blockSignals(true);
  latentPick_->clear();
  for (const auto& item : result.items) latentPick_->addItem(item.input);
  latentPick_->blockSignals(false);
  latentPick_->setCurrentIndex(keep >= 0 && keep < result.items.size() ? keep : 0);
  showLatent(latentPick_->currentIndex());
}

void ReconstructView::showLatent(int index) {
  latentPlot_->clearPlottables();
  if (index < 0 || index >= last_.items.size()) {
    latentPlot_->replot();
    return;
  }
  const auto& z = last_.items[index].latent;
  QVector<double> keys, values;
  double extent = 0.1;
  for (int i = 0; i < z.size(); ++i) {
    keys << i;
    values << z[i];
    extent = std::max(extent, std::abs(static_cast<double>(z[i])));
  }
  auto* bars = new QCPBars(latentPlot_->xAxis, latentPlot_->yAxis);
  bars->setData(keys, values, true);
  bars->setWidth(0.8);
  bars->setPen(Qt::NoPen);
  bars->setBrush(QColor(70, 130, 200));
  latentPlot_->xAxis->setRange(-1, z.size());
  latentPlot_->yAxis->setRange(-extent * 1.1, extent * 1.1);
  latentPlot_->replot();
}

QString ReconstructView::resultsText() const {
  QStringList lines;
  for (const auto& item : last_.items) lines << item.input + " -> " + item.output;
  return lines.join('\n');
}

}  // namespace latent::ui
