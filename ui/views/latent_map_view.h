// Latent map view: every sentence of a corpus as a point, its posterior mean projected on
// the first two principal components (explained variance shown) or laid out by UMAP (its
// neighbourhoods kept: clusters show), drawn by PointCloud so a
// million points pan and zoom smoothly. Hover shows the sentence; colour by length or by a
// regular expression; a click sends the sentence to Reconstruct, Ctrl+click on a second
// point sends the pair to Interpolate, a Shift+drag lasso selects a set to save. The
// interpolation path, the Generate view's samples at its current frame and the typed
// sentences are drawn on the map.
#pragma once

#include <QWidget>

#include "studio_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace latent::ui {

class PointCloud;

class LatentMapView : public QWidget {
  Q_OBJECT
 public:
  explicit LatentMapView(QWidget* parent = nullptr);

  PointCloud* cloud() const { return cloud_; }
  const LatentMap& map() const { return map_; }
  QString hoverText() const;
  QString infoText() const;
  QVector<int> selection() const { return selection_; }
  // The lasso selection as a sentence set: one sentence per line.
  bool saveSelection(const QString& path, QString* error = nullptr) const;
  // "single", "length", "regex" (with setRegex), "field" (with setField: a JSONL field) or
  // "bleu" (reconstruction BLEU of each sentence, computed on request: computeBleu).
  void setColorMode(const QString& mode);
  void setField(const QString& name);
  void computeBleu();
  bool hasBleu() const { return bleu_.size() == map_.sentences.size() && !bleu_.isEmpty(); }
  void setRegex(const QString& pattern);
  void setProjection(const QString& projection);  // pca | umap: for the next map
  QString legend() const;
  bool busy() const { return busy_; }

 public Q_SLOTS:
  void setCorpusPath(const QString& path);  // the open corpus ("Map the open corpus")
  void mapCorpus(const QString& path);
  void showMap(const latent::ui::LatentMap& map);
  void showProgress(int requestId, const QString& stage, qint64 done, qint64 total);
  void mapCancelled(int requestId);
  void showBleu(int requestId, const QVector<float>& bleu);
  void mapFailed();
  void setModelReady(bool ready);
  // Another model (or a new training snapshot) is in use: the map shows the previous one's
  // latents, so its overlays go and the info line says to map again.
  void modelChanged();
  // Overlays from the other views' answers (they carry map coordinates while a map is open).
  void showInterpolation(const latent::ui::InterpolateResult& r);
  void showDecodeAt(const latent::ui::DecodeAtResult& r);
  void showTrace(const latent::ui::GenerateTrace& t);
  void setGenerateFrame(int frame);
  void showReconstruction(const latent::ui::ReconstructResult& r);

 Q_SIGNALS:
  void requestMap(int requestId, const QString& corpusPath, const QString& projection);
  void cancelRequested(int requestId);
  void requestBleu(int requestId);
  void sendToReconstruct(const QString& sentence);
  void sendToInterpolate(const QString& a, const QString& b);

 private:
  void recolor();
  void setBusy(bool busy);
  void onClicked(int index, Qt::KeyboardModifiers mods);
  void onLasso(const QVector<int>& indices);
  void updateOverlays();

  PointCloud* cloud_;
  QPushButton* mapOpen_;
  QPushButton* mapFile_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* info_;
  QComboBox* projection_;
  QComboBox* colorBy_;
  QLineEdit* regex_;
  QComboBox* field_;
  QPushButton* bleuButton_;
  QLabel* legend_;
  QCheckBox* showPath_;
  QCheckBox* showSamples_;
  QCheckBox* showTyped_;
  QLabel* hover_;
  QLabel* selectionLabel_;
  QPushButton* saveSelection_;

  QString corpusPath_;
  LatentMap map_;
  int nextRequest_ = 1, pending_ = 0;
  bool busy_ = false, modelReady_ = false, stale_ = false;
  int hoverIndex_ = -1, firstPick_ = -1;
  QVector<int> selection_;
  QVector<float> bleu_;
  GenerateTrace trace_;
  int frame_ = 0;
};

}  // namespace latent::ui
