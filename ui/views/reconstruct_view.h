// Reconstruct view: type sentences (Enter runs, Shift+Enter adds a line), see their
// reconstructions with changed words highlighted, per-sentence BLEU, the latent of the
// selected sentence as a bar chart, decoding options, and posterior samples around mu.
#pragma once

#include <QWidget>

#include "studio_types.h"

class QPlainTextEdit;
class QTextBrowser;
class QComboBox;
class QDoubleSpinBox;
class QSpinBox;
class QSlider;
class QLabel;
class QPushButton;
class QCustomPlot;

namespace latent::ui {

class ReconstructView : public QWidget {
  Q_OBJECT
 public:
  explicit ReconstructView(QWidget* parent = nullptr);

  void setSentences(const QString& text);
  QString resultsText() const;  // plain text of the last results (tests, copy)
  int resultCount() const { return last_.items.size(); }
  int answeredRequest() const { return last_.requestId; }  // the id of the result shown (0: none)

 public Q_SLOTS:
  void run();
  void showResult(const latent::ui::ReconstructResult& result);
  void setModelReady(bool ready);

 Q_SIGNALS:
  void requestReconstruct(int requestId, const QStringList& sentences, const latent::ui::DecodeSettings& settings,
                          double noiseScale, int posteriorSamples);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void showLatent(int index);
  DecodeSettings settings() const;

  QPlainTextEdit* input_;
  QPushButton* runButton_;
  QComboBox* strategy_;
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* topP_;
  QDoubleSpinBox* repetition_;
  QSpinBox* samples_;
  QSlider* noise_;
  QLabel* noiseLabel_;
  QTextBrowser* results_;
  QComboBox* latentPick_;
  QCustomPlot* latentPlot_;
  int nextRequest_ = 1;
  int pending_ = 0;
  ReconstructResult last_;
};

}  // namespace latent::ui
