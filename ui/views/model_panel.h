// Model panel: what the loaded model is (folder, sizes, parameter counts per module,
// the whole configuration), its evaluation (eval.json, with the LM judge's perplexities) and
// the training metrics of its run when it has them, the attribute directions saved with it,
// and its robustness curve (reconstruction BLEU against latent noise, eval --robustness).
#pragma once

#include <QWidget>

#include "studio_types.h"

class QCustomPlot;
class QLabel;
class QPlainTextEdit;

namespace latent::ui {

class ModelPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ModelPanel(QWidget* parent = nullptr);
  void showModel(const ModelSummary& s);
  void showMessage(const QString& text);
  // A standing note above the summary (for example why the pretrained default is not the
  // model shown); empty clears it.
  void setNote(const QString& text);
  QString note() const { return note_; }
  QString summaryText() const;
  QString metricsText() const;  // evaluation (eval.json) and training metrics as shown
  QString directionsText() const;
  int robustnessPoints() const;  // points of the robustness curve drawn
  void showDirections(const QStringList& lines);

 private:
  void renderSummary();
  QString note_, summaryHtml_;
  QLabel* summary_;
  QPlainTextEdit* params_;
  QPlainTextEdit* config_;
  QPlainTextEdit* metrics_;
  QPlainTextEdit* directions_;
  QCustomPlot* robustness_;
};

}  // namespace latent::ui
