// The inference worker's state: the model in use and what earlier requests prepared.
// Private to the worker's .cpp files (it holds tensors; inference_worker.h does not).
#pragma once

#include <ATen/ATen.h>

#include <QPointF>
#include <QStringList>
#include <QVector>
#include <memory>
#include <string>

#include "inference_worker.h"
#include "explore/directions.h"
#include "explore/umap.h"
#include "infer/generator.h"
#include "model/config.h"

namespace latent::ui {

// One line per attribute direction saved in the model folder (Model panel); a damaged
// file gives its error as the line.
QStringList savedDirectionLines(const std::string& modelDir);

struct InferenceWorker::State {
  std::unique_ptr<Generator> generator;
  std::string dir;                 // model folder, or empty for a snapshot
  Config config;
  std::shared_ptr<SnapshotSlot> snapshots;
  uint64_t snapshotVersion = 0;    // the version in use
  bool followSnapshots = false;    // true from the start of a run until a folder is opened
  // The last interpolation's endpoints and its PCA basis, reused by decodeAt.
  std::string a, b;
  at::Tensor muA, muB;             // (D,)
  at::Tensor pcaMean, pcaBasis;    // (D,), (D, 2)
  std::string pcaA, pcaB;          // the pair the projection was fitted on
  // The latent map's projection (Latent map view): PCA of the mapped corpus's mu.
  at::Tensor mapMean, mapBasis;    // (D,), (D, 2): PCA maps
  at::Tensor mapLatents, mapLayout; // (N, D) every map's mu; (N, 2) UMAP maps (new points placed among their neighbours)
  std::vector<std::string> mapSentences;
  // The Directions view's current direction (computed, or a saved one); saved: in dir.
  Direction direction;
  bool directionSaved = false;

  bool hasMap() const { return mapBasis.defined() || mapLayout.defined(); }
  void clearDirection() {
    direction = Direction();
    directionSaved = false;
  }
  void clearMap() {
    mapMean = at::Tensor();
    mapBasis = at::Tensor();
    mapLatents = at::Tensor();
    mapLayout = at::Tensor();
    mapSentences.clear();
  }
  // Rows of z (N, D) on the map.
  QVector<QPointF> mapPoints(const at::Tensor& z) const {
    QVector<QPointF> out;
    const at::Tensor zc = z.to(at::kCPU, at::kFloat);
    const at::Tensor p = (mapLayout.defined() ? umap_place(mapLatents, mapLayout, zc) : at::matmul(zc - mapMean, mapBasis)).contiguous();
    const float* v = p.data_ptr<float>();
    for (int64_t i = 0; i < p.size(0); ++i) out << QPointF(v[2 * i], v[2 * i + 1]);
    return out;
  }
};

}  // namespace latent::ui
