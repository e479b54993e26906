// Interpolate view: two sentences A and B, N evenly spaced points between their latents
// (linear or slerp) decoded in a table, a slider that decodes any point live (debounced,
// one request in flight), and the path's latents projected on their first two principal
// components, with the slider's point marked.
#pragma once

#include <QWidget>

#include "studio_types.h"

class QComboBox;
class QCPCurve;
class QCPGraph;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QSlider;
class QSpinBox;
class QTableWidget;
class QTimer;

namespace latent::ui {

class InterpolateView : public QWidget {
  Q_OBJECT
 public:
  explicit InterpolateView(QWidget* parent = nullptr);

  QString sliderSentence() const { return sliderSentence_; }
  int rowCount() const;
  QString tableText() const;  // "t<TAB>sentence" per row
  QSlider* slider() const { return slider_; }
  void setSentences(const QString& a, const QString& b);
  int answeredRequest() const { return last_.requestId; }  // the id of the interpolation shown (0: none)

 public Q_SLOTS:
  void run();
  void showInterpolation(const latent::ui::InterpolateResult& r);
  void showDecodeAt(const latent::ui::DecodeAtResult& r);
  void setModelReady(bool ready);

 Q_SIGNALS:
  void requestInterpolate(int requestId, const QString& a, const QString& b, int n, bool slerp);
  void requestDecodeAt(int requestId, const QString& a, const QString& b, double t, bool slerp);

 private:
  bool inputsValid();  // shows the inline message when A or B is empty
  bool slerp() const;
  void sendDecodeAt();
  void drawPath();
  void copyToClipboard();

  QLineEdit* a_;
  QLineEdit* b_;
  QSpinBox* n_;
  QComboBox* mode_;
  QPushButton* runButton_;
  QPushButton* copyButton_;
  QLabel* hint_;
  QLabel* message_;
  QTableWidget* table_;
  QSlider* slider_;
  QLabel* tLabel_;
  QLabel* live_;
  QCustomPlot* plot_;
  QCPCurve* path_;
  QCPGraph* marker_;
  QCPItemText* labelA_;
  QCPItemText* labelB_;
  QTimer* debounce_;

  bool ready_ = false;
  int nextRequest_ = 1;
  int latestInterpolate_ = 0;  // id of the last requestInterpolate sent
  int latestDecode_ = 0;       // id of the last requestDecodeAt sent
  bool decodeInFlight_ = false;
  bool decodeAgain_ = false;   // the slider moved while a decode was in flight
  qint64 decodeSentAt_ = 0;    // ms since epoch, to give up on an answer that never comes
  int decodeProjection_ = 0;   // latestInterpolate_ when the decode in flight was sent
  InterpolateResult last_;
  QString sliderSentence_;
  double sliderT_ = 0;
};

}  // namespace latent::ui
