// The worker that owns a loaded model and answers inference requests on its own
// thread. The window only sends requests (queued calls) and receives values; it never
// touches tensors and never waits. Torch stays in inference_worker.cpp.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>

#include <memory>

#include "studio_types.h"

namespace latent::ui {

class InferenceWorker : public QObject {
  Q_OBJECT
 public:
  explicit InferenceWorker(QObject* parent = nullptr);
  ~InferenceWorker() override;

 public Q_SLOTS:
  // Loads a model folder (or a run folder). On failure the previous model stays.
  void openModel(const QString& path);
  void reconstruct(int requestId, const QStringList& sentences, const latent::ui::DecodeSettings& settings,
                   double noiseScale, int posteriorSamples);

 Q_SIGNALS:
  void modelOpened(const latent::ui::ModelSummary& summary);
  void reconstructed(const latent::ui::ReconstructResult& result);
  // context: what was being done ("Open model", "Reconstruct"); message says what and where.
  void failed(const QString& context, const QString& message);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace latent::ui
