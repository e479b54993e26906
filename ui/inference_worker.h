// The worker that owns a loaded model and answers inference requests on its own
// thread. The window only sends requests (queued calls) and receives values; it never
// touches tensors and never waits. Torch stays in inference_worker.cpp.
// While a model trains, the training worker publishes weight snapshots to a shared
// SnapshotSlot; before each request this worker adopts a snapshot newer than the model
// it holds, so the views show what the model does now. The latent map's requests are in
// inference_explore.cpp; the state the two files share is inference_state.h.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <memory>

#include "studio_types.h"

namespace latent::ui {

class SnapshotSlot;

class InferenceWorker : public QObject {
  Q_OBJECT
 public:
  explicit InferenceWorker(std::shared_ptr<SnapshotSlot> snapshots = nullptr, QObject* parent = nullptr);
  ~InferenceWorker() override;

  // Thread-safe (called directly from the window): the map request requestId (encodeMap or
  // mapBleu) stops after its current batch and answers mapCancelled, whether it is running
  // or still queued.
  void cancelMap(int requestId) { cancelledMap_ = requestId; }

 public Q_SLOTS:
  // Loads a model folder (or a run folder). On failure the previous model stays. An
  // opened folder wins over training snapshots until followTraining() is called again.
  void openModel(const QString& path);
  // From now on, adopt each new training snapshot (called when a run starts).
  void followTraining();
  void reconstruct(int requestId, const QStringList& sentences, const latent::ui::DecodeSettings& settings,
                   double noiseScale, int posteriorSamples);
  // n evenly spaced points from A to B, decoded, with a 2-D PCA projection of the path.
  void interpolate(int requestId, const QString& a, const QString& b, int n, bool slerp);
  // The single point at t in [0, 1] (the Interpolate view's slider).
  void decodeAt(int requestId, const QString& a, const QString& b, double t, bool slerp);
  // Runs the diffusion sampler from x_T and records it (see GenerateTrace).
  void generate(int requestId, int samples, const QString& sampler, int ddimSteps, int frames, quint64 seed);
  // Writes the model in use (a loaded folder or a training snapshot) as a model folder.
  void saveModelAs(const QString& dir);
  // The latent map: encodes the corpus file (its first 1,000,000 sentences; mu cached in
  // cacheDir, keyed by the encoder's weights and the sentences), projects mu to 2-D
  // (projection "pca": its first two principal components; "umap": a UMAP layout, at most
  // 200,000 points, cached too), and keeps the projection for the overlays of later
  // answers. Progress by stage (mapProgress); cancelMap(requestId) stops it.
  void encodeMap(int requestId, const QString& corpusPath, const QString& cacheDir, const QString& projection);
  // Reconstruction BLEU of every sentence of the current map (greedy, sentence BLEU with
  // nltk's method1 smoothing): mapProgress, then mapBleuReady; cancelMap(requestId) stops it.
  void mapBleu(int requestId);
  // Attribute directions: computed from two sentence sets (method "logistic" or "mean"),
  // it becomes the current direction; saveDirection writes the current one into the model
  // folder; useDirection makes a saved one current; applyDirection decodes a sentence's
  // mu + alpha x direction for each alpha.
  void computeDirection(int requestId, const QStringList& setA, const QStringList& setB, const QString& method,
                        const QString& name, const QString& labelA, const QString& labelB);
  void saveDirection();
  void useDirection(const QString& name);
  void applyDirection(int requestId, const QString& sentence, const QVector<double>& alphas);
  // A is to B as C is to ?: decodes z(B) - z(A) + z(C), as Optimus.
  void analogy(int requestId, const QString& a, const QString& b, const QString& c);

 Q_SIGNALS:
  void modelOpened(const latent::ui::ModelSummary& summary);
  void reconstructed(const latent::ui::ReconstructResult& result);
  void interpolated(const latent::ui::InterpolateResult& result);
  void decodedAt(const latent::ui::DecodeAtResult& result);
  void generated(const latent::ui::GenerateTrace& trace);
  void modelSaved(const QString& dir);
  void mapProgress(int requestId, const QString& stage, qint64 done, qint64 total);
  void mapReady(const latent::ui::LatentMap& map);
  void mapCancelled(int requestId);
  void mapBleuReady(int requestId, const QVector<float>& bleu);
  void directionReady(const latent::ui::DirectionInfo& info);  // computed, saved or made current
  void directionsListed(const QStringList& lines);             // the model folder's saved directions
  void directionApplied(const latent::ui::DirectionApplied& result);
  void analogySolved(int requestId, const QString& answer);
  // The model in use is now the training snapshot of this step.
  void snapshotInUse(qint64 step);
  // context: what was being done ("Open model", "Reconstruct"); message says what and where.
  void failed(const QString& context, const QString& message);

 private:
  bool ensureModel(const QString& context);  // adopts a newer snapshot; false (and failed) when none
  struct State;
  std::unique_ptr<State> state_;
  std::atomic<int> cancelledMap_{0};  // the map request to stop (ids start at 1)
};

}  // namespace latent::ui
