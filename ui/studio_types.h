// Plain value types that travel between the window and the workers (queued signals).
// No torch types here: ui/ talks to core through these.
#pragma once

#include <QMetaType>
#include <QPointF>
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
  double repetitionPenalty = 1.0;  // DAVAE's: divides the probability of tokens already decoded
};

struct ModelSummary {
  QString dir;
  QString name;            // folder name
  QString configJson;      // pretty-printed config.json
  QStringList paramLines;  // "encoder  3.2M" per module
  qint64 totalParams = 0;
  int latentDim = 0;
  QString tokenizers;      // "sentencepiece, 4000 tokens" or encoder; decoder
  QString families;        // "encoder bert (avg pooling), decoder gpt2 (extra first block)"
  int diffusionSteps = 0;
  QString device;
  QString metrics;         // last lines of a run's metrics.jsonl when present
  QStringList directions;  // the attribute directions saved with the model, one line each
  QVector<double> robustnessScales, robustnessBleu;  // eval.json's robustness curve (eval --robustness --record)
  double auBleu = 0;
};

struct Reconstruction {
  QString input;
  QString output;
  double bleu = 0;         // sentence BLEU-4 x100 (nltk method1 smoothing)
  QVector<float> latent;   // mu
  QStringList posterior;   // decodings of mu + scale * sigma * eps
  bool onMap = false;      // mapPoint is mu in the latent map's projection (when a map is open)
  QPointF mapPoint;
};

struct ReconstructResult {
  int requestId = 0;
  QVector<Reconstruction> items;
  double noiseScale = 0;
};


// One training step, as plotted (x = step or seconds since the start).
struct TrainPoint {
  qint64 step = 0;
  double seconds = 0;
  double loss = 0, rec = 0, kl = 0, ddpm = 0;  // per sentence means (rec, kl: summed over tokens)
  double lr = 0, gradNorm = 0;
  double sentencesPerSec = 0, etaSeconds = 0;
  qint64 totalSteps = 0;
};

// One evaluation: reconstruction BLEU on held-out sentences and a few samples.
struct EvalPoint {
  qint64 step = 0;
  double seconds = 0;
  double bleu = 0;
  int n = 0;
  bool best = false;
  QStringList reconstructions;  // "input -> output"
  QStringList samples;          // decoded from the diffusion prior
};

// What the Train view asks for.
struct TrainRequest {
  QString corpusPath;       // training sentences
  QString validPath;        // held-out sentences; empty: valid.txt beside the corpus, else the last 1%
  QString outDir;           // run folder (best/, last/, metrics.jsonl)
  QString configJson;       // full config ({"model":..,"train":..})
  QString device = "cpu";   // cpu | cuda
  bool resume = false;
  QString initModel;        // a model folder to start from (its shapes, tokenizers, weights); empty: scratch
  // Train in a separate latent-cli process (followed like any run folder; a crash there
  // leaves the window intact) with this many data-parallel processes; false: in the window.
  bool separateProcess = false;
  int processes = 1;
};

struct InterpolateResult {
  int requestId = 0;
  QVector<double> t;        // N points in [0, 1]
  QStringList sentences;    // decoded at each point
  QVector<QPointF> path2d;  // the N latents projected on their first two principal components
  bool slerp = false;
  QVector<QPointF> mapPath; // the N latents in the latent map's projection (empty: no map)
};

// The slider's position between A and B, decoded.
struct DecodeAtResult {
  int requestId = 0;
  double t = 0;
  QString sentence;
  QPointF point2d;          // in the projection of the last InterpolateResult
  bool onMap = false;
  QPointF mapPoint;         // in the latent map's projection
};

// DDPM/DDIM generation recorded step by step. Frames run from t = T (pure noise) to t = 0.
struct GenerateTrace {
  int requestId = 0;
  QString sampler;                     // ddpm | ddim
  int samples = 0;
  QVector<int> frameT;                 // diffusion time of each recorded frame, descending to 0
  QVector<QStringList> frameSentences; // [frame][sample]: what x_t decodes to at that frame
  QVector<int> normT;                  // diffusion time of every sampler step, descending to 0
  QVector<QVector<float>> norms;       // [sample][i]: ||x_t|| at normT[i]
  QVector<QVector<QPointF>> mapFrames; // [frame][sample]: x_t in the latent map's projection (empty: no map)
};

// An attribute direction (core/explore/directions.h) as the Directions view shows it.
struct DirectionInfo {
  int requestId = 0;
  QString name, method, labelA, labelB;
  double accuracy = 0;     // cross-validated, 0..1
  int folds = 0;
  qint64 nA = 0, nB = 0;
  double norm = 0;
  bool saved = false;      // in the model folder
};

// A sentence moved along the current direction: one decoded text per alpha.
struct DirectionApplied {
  int requestId = 0;
  QString sentence;
  QVector<double> alphas;
  QStringList texts;
};

// A corpus's posterior means projected on their first two principal components (the
// Latent map view). The worker keeps the projection, so later answers (interpolation
// paths, generation frames, reconstructions) come with their place on the map.
struct LatentMap {
  int requestId = 0;
  QString source;            // the corpus file
  QString model;             // what was mapped: a model folder, or "training snapshot at step N"
  QStringList sentences;     // N (at most 1,000,000: the first of the file)
  qint64 fileSentences = 0;  // sentences the file holds
  QString projection;        // pca | umap
  QVector<float> x, y;       // N coordinates: PC1, PC2 (pca) or the UMAP layout
  double explained1 = 0, explained2 = 0;  // pca: shares of the total variance
  bool fromCache = false;
  double seconds = 0;        // encoding + projection
  QStringList fieldNames;            // a JSONL corpus's other scalar fields (label, stars, ...)
  QVector<QStringList> fieldValues;  // [field][sentence]
};

}  // namespace latent::ui

Q_DECLARE_METATYPE(latent::ui::DecodeSettings)
Q_DECLARE_METATYPE(latent::ui::ModelSummary)
Q_DECLARE_METATYPE(latent::ui::ReconstructResult)
Q_DECLARE_METATYPE(latent::ui::TrainPoint)
Q_DECLARE_METATYPE(latent::ui::EvalPoint)
Q_DECLARE_METATYPE(latent::ui::TrainRequest)
Q_DECLARE_METATYPE(latent::ui::InterpolateResult)
Q_DECLARE_METATYPE(latent::ui::DecodeAtResult)
Q_DECLARE_METATYPE(latent::ui::GenerateTrace)
Q_DECLARE_METATYPE(latent::ui::LatentMap)
Q_DECLARE_METATYPE(latent::ui::DirectionInfo)
Q_DECLARE_METATYPE(latent::ui::DirectionApplied)
