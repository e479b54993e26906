#include "views/model_panel.h"

#include <QFontDatabase>
#include <QGridLayout>
#include <QLabel>
#include <QPlainTextEdit>

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
  summary_ = new QLabel(tr("No model loaded"), this);
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
  grid->setColumnStretch(1, 1);
}

void ModelPanel::showModel(const ModelSummary& s) {
  summary_->setText(tr("<b>%1</b> &nbsp; %2<br>%3<br>%4 parameters, latent %5, tokenizer %6, T = %7, device %8")
                        .arg(s.name.toHtmlEscaped(), s.dir.toHtmlEscaped(), s.families.toHtmlEscaped())
                        .arg(s.totalParams)
                        .arg(s.latentDim)
                        .arg(s.tokenizers.toHtmlEscaped())
                        .arg(s.diffusionSteps)
                        .arg(s.device));
  params_->setPlainText(s.paramLines.join('\n'));
  config_->setPlainText(s.configJson);
  metrics_->setPlainText(s.metrics);
}

void ModelPanel::showMessage(const QString& text) { summary_->setText(text.toHtmlEscaped()); }

QString ModelPanel::metricsText() const { return metrics_->toPlainText(); }

QString ModelPanel::summaryText() const { return summary_->text(); }

}  // namespace latent::ui
