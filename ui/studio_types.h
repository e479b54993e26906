// Plain value types that travel between the window and the workers (queued signals).
// No torch types here: ui/ talks to core through these.
#pragma once

#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

namespace latent::ui {

struct DecodeSettings {
  QString strategy = "greedy";  // greedy | sample
  double temperature = 1.0;
  double topP = 1.0;
  int topK = 0;
  quint64 seed = 0;
};

struct ModelSummary {
  QString dir;
  QString name;            // folder name
  QString configJson;      // pretty-printed config.json
  QStringList paramLines;  // "encoder  3.2M" per module
  qint64 totalParams = 0;
  int latentDim = 0;
  int vocabSize = 0;
  int diffusionSteps = 0;
  QString device;
  QString metrics;         // last lines of a run's metrics.jsonl when present
};

struct Reconstruction {
  QString input;
  QString output;
  double bleu = 0;         // sentence BLEU-4 x100 (nltk method1 smoothing)
  QVector<float> latent;   // mu
  QStringList posterior;   // decodings of mu + scale * sigma * eps
};

struct ReconstructResult {
  int requestId = 0;
  QVector<Reconstruction> items;
  double noiseScale = 0;
};

}  // namespace latent::ui

Q_DECLARE_METATYPE(latent::ui::DecodeSettings)
Q_DECLARE_METATYPE(latent::ui::ModelSummary)
Q_DECLARE_METATYPE(latent::ui::ReconstructResult)
