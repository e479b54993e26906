// The worker that owns a loaded model and answers inference requests on its own
// thread. The window only sends requests (queued calls) and receives values; it never
// touches tensors and never waits. Torch stays in inference_worker.cpp.
// While a model trains, the training worker publishes weight snapshots to a shared
// SnapshotSlot; before each request this worker adopts a snapshot newer than the model
// it holds, so the views show what the model does now.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>

#include "studio_types.h"

namespace latent::ui {

class SnapshotSlot;

class InferenceWorker : public QObject {
  Q_OBJECT
 public:
  explicit InferenceWorker(std::shared_ptr<SnapshotSlot> snapshots = nullptr, QObject* parent = nullptr);
  ~InferenceWorker() override;

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

 Q_SIGNALS:
  void modelOpened(const latent::ui::ModelSummary& summary);
  void reconstructed(const latent::ui::ReconstructResult& result);
  void interpolated(const latent::ui::InterpolateResult& result);
  void decodedAt(const latent::ui::DecodeAtResult& result);
  void generated(const latent::ui::GenerateTrace& trace);
  void modelSaved(const QString& dir);
  // The model in use is now the training snapshot of this step.
  void snapshotInUse(qint64 step);
  // context: what was being done ("Open model", "Reconstruct"); message says what and where.
  void failed(const QString& context, const QString& message);

 private:
  bool ensureModel(const QString& context);  // adopts a newer snapshot; false (and failed) when none
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace latent::ui
