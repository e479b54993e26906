#include "views/model_panel.h"

#include <QFontDatabase>
#include <QGridLayout>
#include <QLabel>
#include <QPlainTextEdit>

#include "qcp.h"

namespace latent::ui {

namespace {
QPlainTextEdit* monospace(QWidget* parent) {
  auto* w = new QPlainTextEdit(parent);
  w->setReadOnly(true);
  w->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  return w;
}
}  // namespace

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
  summaryHtml_ = tr("No model loaded");
  summary_ = new QLabel(summaryHtml_, this);
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  params_ = monospace(this);
  config_ = monospace(this);
  metrics_ = monospace(this);
  metrics_->setPlaceholderText(tr("No evaluation (eval.json) in this model folder and no training metrics (metrics.jsonl) next to it"));
  auto* grid = new QGridLayout(this);
  grid->addWidget(summary_, 0, 0, 1, 2);
  grid->addWidget(new QLabel(tr("Parameters per module"), this), 1, 0);
  grid->addWidget(new QLabel(tr("Configuration (config.json)"), this), 1, 1);
  grid->addWidget(params_, 2, 0);
  grid->addWidget(config_, 2, 1, 3, 1);
  grid->addWidget(new QLabel(tr("Evaluation and training metrics"), this), 3, 0);
  grid->addWidget(metrics_, 4, 0);
  directions_ = monospace(this);
  directions_->setPlaceholderText(tr("No attribute directions saved with this model (Directions tab, or latent-cli direction --save)"));
  robustness_ = new QCustomPlot(this);
  robustness_->setMinimumHeight(180);
  robustness_->addGraph();
  robustness_->graph(0)->setPen(QPen(QColor(40, 90, 160), 2));
  robustness_->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
  robustness_->xAxis->setLabel(tr("noise scale (x the latents' spread per dimension)"));
  robustness_->yAxis->setLabel(tr("BLEU"));
  robustness_->yAxis->setRange(0, 100);
  robustness_->plotLayout()->insertRow(0);
  robustness_->plotLayout()->addElement(0, 0, new QCPTextElement(robustness_, tr("Robustness: run latent-cli eval --robustness --record"), QFont(font().family(), 9)));
  grid->addWidget(new QLabel(tr("Attribute directions"), this), 5, 0);
  grid->addWidget(new QLabel(tr("Robustness curve"), this), 5, 1);
  grid->addWidget(directions_, 6, 0);
  grid->addWidget(robustness_, 6, 1);
  grid->setColumnStretch(1, 1);
}

void ModelPanel::showDirections(const QStringList& lines) { directions_->setPlainText(lines.join('\n')); }

QString ModelPanel::directionsText() const { return directions_->toPlainText(); }

int ModelPanel::robustnessPoints() const { return robustness_->graph(0)->dataCount(); }

void ModelPanel::showModel(const ModelSummary& s) {
  summaryHtml_ = (tr("<b>%1</b> &nbsp; %2<br>%3<br>%4 parameters, latent %5, tokenizer %6, T = %7, device %8")
                        .arg(s.name.toHtmlEscaped(), s.dir.toHtmlEscaped(), s.families.toHtmlEscaped())
                        .arg(s.totalParams)
                        .arg(s.latentDim)
                        .arg(s.tokenizers.toHtmlEscaped())
                        .arg(s.diffusionSteps)
                        .arg(s.device));
  renderSummary();
  params_->setPlainText(s.paramLines.join('\n'));
  config_->setPlainText(s.configJson);
  metrics_->setPlainText(s.metrics);
  showDirections(s.directions);
  robustness_->graph(0)->setData(s.robustnessScales, s.robustnessBleu);
  auto* title = qobject_cast<QCPTextElement*>(robustness_->plotLayout()->element(0, 0));
  if (title)
    title->setText(s.robustnessScales.isEmpty() ? tr("Robustness: run latent-cli eval --robustness --record")
                                                : tr("Reconstruction BLEU as the latent is perturbed: AuBLEU %1").arg(s.auBleu, 0, 'f', 1));
  if (!s.robustnessScales.isEmpty()) robustness_->xAxis->setRange(s.robustnessScales.first(), s.robustnessScales.last());
  robustness_->replot();
}

void ModelPanel::showMessage(const QString& text) {
  summaryHtml_ = text.toHtmlEscaped();
  renderSummary();
}

void ModelPanel::setNote(const QString& text) {
  note_ = text;
  renderSummary();
}

void ModelPanel::renderSummary() {
  summary_->setText(note_.isEmpty() ? summaryHtml_
                                    : "<span style=\"color:#a05000\">" + note_.toHtmlEscaped() + "</span><br>" + summaryHtml_);
}

QString ModelPanel::metricsText() const { return metrics_->toPlainText(); }

QString ModelPanel::summaryText() const { return summary_->text(); }

}  // namespace latent::ui
