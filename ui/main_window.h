// The studio's main window. For now: the corpus view on the default corpus and the
// menus to open another corpus; the model views (train, reconstruct, interpolate,
// generate) join it as they are built.
#pragma once

#include <QMainWindow>

namespace latent::ui {

class CorpusView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  CorpusView* corpusView() const { return corpus_; }

 private:
  void openCorpus();
  void showAbout();

  CorpusView* corpus_;
};

}  // namespace latent::ui
