// Corpus view: what the loader made of a corpus file (kept, skipped by reason) and a
// histogram of sentence lengths.
#pragma once

#include <QWidget>

class QLabel;
class QTableWidget;
class QCustomPlot;
class QPlainTextEdit;

namespace latent::ui {

class CorpusView : public QWidget {
  Q_OBJECT
 public:
  explicit CorpusView(QWidget* parent = nullptr);

  // Loads and shows a corpus; on failure shows the error in the view and returns false.
  bool loadCorpus(const QString& path);
  QString corpusPath() const { return path_; }
  int keptSentences() const { return kept_; }

 Q_SIGNALS:
  void corpusLoaded(const QString& path, int kept);
  void corpusFailed(const QString& message);

 private:
  QLabel* title_;
  QTableWidget* stats_;
  QCustomPlot* histogram_;
  QPlainTextEdit* samples_;
  QString path_;
  int kept_ = 0;
};

}  // namespace latent::ui
