// Directions view: an attribute defined by two sentence sets (typed, loaded from files,
// the latent map's lasso selection, or the mapped corpus's sentences matching a regular
// expression) gives a direction in latent space: the normal of a logistic-regression
// classifier or the difference of the set means, with the classifier's cross-validated
// accuracy (how linearly the model encodes the attribute). A slider moves any sentence
// along it and decodes live (debounced, one request in flight); a table shows alpha from
// -3 to 3. Directions are saved with the model folder and listed in the Model panel. A
// small analogy panel (A is to B as C is to ?) sits below.
#pragma once

#include <QWidget>

#include <functional>

#include "studio_types.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSlider;
class QTableWidget;
class QTimer;

namespace latent::ui {

class DirectionsView : public QWidget {
  Q_OBJECT
 public:
  explicit DirectionsView(QWidget* parent = nullptr);

  void setSets(const QStringList& a, const QStringList& b);
  QStringList setA() const;
  QStringList setB() const;
  void setMethod(const QString& method);  // logistic | mean
  void setSentence(const QString& sentence);
  QSlider* slider() const { return slider_; }
  QString sliderText() const { return sliderText_; }
  double sliderShownAlpha() const { return sliderShownAlpha_; }  // the alpha sliderText() was decoded at
  double sliderAlpha() const;
  QString resultText() const;
  QString tableText() const;  // "alpha<TAB>sentence" per row
  QString analogyText() const;
  void setAnalogy(const QString& a, const QString& b, const QString& c);
  // Where "From map selection", "Matches" (a regular expression over the mapped corpus) and
  // "Take" (a JSONL field's value, e.g. label=pos) take their sentences.
  void setMapAccess(std::function<QStringList()> selection, std::function<const LatentMap*()> map);

 public Q_SLOTS:
  void compute();
  void showDirection(const latent::ui::DirectionInfo& info);
  void showSaved(const QStringList& lines);  // the model's saved directions
  void showApplied(const latent::ui::DirectionApplied& r);
  void showAnalogy(int requestId, const QString& answer);
  void setModelReady(bool ready);
  void solveAnalogy();
  // A request of this view failed (the window shows the message): nothing stays in flight.
  void requestFailed(const QString& message);

 Q_SIGNALS:
  void requestCompute(int requestId, const QStringList& a, const QStringList& b, const QString& method, const QString& name,
                      const QString& labelA, const QString& labelB);
  void requestSave();
  void requestUse(const QString& name);
  void requestApply(int requestId, const QString& sentence, const QVector<double>& alphas);
  void requestAnalogy(int requestId, const QString& a, const QString& b, const QString& c);

 private:
  QWidget* setBox(const QString& title, const QString& example, QLineEdit*& label, QPlainTextEdit*& text, QLineEdit*& regex);
  void sendSlider();
  void sendTable();

  QLineEdit* labelA_;
  QLineEdit* labelB_;
  QPlainTextEdit* a_;
  QPlainTextEdit* b_;
  QLineEdit* regexA_;
  QLineEdit* regexB_;
  QComboBox* method_;
  QLineEdit* name_;
  QPushButton* compute_;
  QPushButton* save_;
  QComboBox* saved_;
  QLabel* result_;
  QLineEdit* sentence_;
  QSlider* slider_;
  QLabel* alphaLabel_;
  QLabel* sliderOut_;
  QTableWidget* table_;
  QLineEdit* anA_;
  QLineEdit* anB_;
  QLineEdit* anC_;
  QLabel* anOut_;
  QTimer* debounce_;

  std::function<QStringList()> mapSelection_;
  std::function<const LatentMap*()> map_;
  bool hasDirection_ = false, modelReady_ = false;
  int nextId_ = 1, computeId_ = 0, sliderId_ = 0, tableId_ = 0, analogyId_ = 0;
  bool sliderInFlight_ = false, sliderDirty_ = false;
  QString sliderText_, analogyText_;
  double sliderShownAlpha_ = 0;
};

}  // namespace latent::ui
