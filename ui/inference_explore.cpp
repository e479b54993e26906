// The inference worker's whole-space requests (see inference_worker.h): the latent map,
// attribute directions and analogies.
#include <ATen/ATen.h>

#include <QElapsedTimer>
#include <QFileInfo>

#include "data/corpus.h"
#include "eval/bleu.h"
#include "eval/metrics.h"
#include "explore/corpus_latents.h"
#include "explore/pca.h"
#include "explore/umap.h"
#include "inference_state.h"
#include "util/error.h"
#include "util/utf8.h"

namespace latent::ui {

QStringList savedDirectionLines(const std::string& modelDir) {
  QStringList lines;
  try {
    for (const auto& d : load_directions(modelDir))
      lines << QString("%1: %2 -> %3 (%4, held-out accuracy %5%, %6 + %7 sentences)")
                   .arg(QString::fromStdString(d.name), QString::fromStdString(d.label_a), QString::fromStdString(d.label_b),
                        QString::fromStdString(d.method))
                   .arg(100 * d.accuracy, 0, 'f', 1)
                   .arg(d.n_a)
                   .arg(d.n_b);
  } catch (const std::exception& e) {  // a damaged direction file must not stop the model opening
    lines << QString::fromStdString(latent::user_message(e));
  }
  return lines;
}

namespace {

DirectionInfo describe(const Direction& d, bool saved) {
  DirectionInfo info;
  info.name = QString::fromStdString(d.name);
  info.method = QString::fromStdString(d.method);
  info.labelA = QString::fromStdString(d.label_a);
  info.labelB = QString::fromStdString(d.label_b);
  info.accuracy = d.accuracy;
  info.folds = d.folds;
  info.nA = d.n_a;
  info.nB = d.n_b;
  info.norm = d.vector.defined() ? d.vector.norm().item<double>() : 0.0;
  info.saved = saved;
  return info;
}

std::vector<std::string> cleanSet(const QStringList& set) {
  std::vector<std::string> out;
  for (const auto& s : set) {
    std::string t = utf8::normalize_whitespace(s.toStdString());
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

void InferenceWorker::encodeMap(int requestId, const QString& corpusPath, const QString& cacheDir, const QString& projection) {
  if (!ensureModel(tr("Latent map"))) return;
  try {
    QElapsedTimer timer;
    timer.start();
    CorpusOptions options;
    options.keep_fields = true;
    Corpus corpus = load_corpus(corpusPath.toStdString(), options);
    LatentMap m;
    m.requestId = requestId;
    m.source = corpusPath;
    m.fileSentences = static_cast<qint64>(corpus.sentences.size());
    if (corpus.sentences.size() > kMaxMapSentences) {
      corpus.sentences.resize(kMaxMapSentences);
      for (auto& column : corpus.field_values) column.resize(kMaxMapSentences);
    }
    if (corpus.sentences.size() < 2) throw Error(corpusPath.toStdString(), "has fewer than 2 sentences to map");
    m.model = state_->dir.empty() ? QStringLiteral("training snapshot") : QString::fromStdString(state_->dir);
    Generator& g = *state_->generator;
    bool cached = false;
    const bool useUmap = projection == "umap";
    if (useUmap && static_cast<int64_t>(corpus.sentences.size()) > kMaxUmapPoints)
      throw Error(corpusPath.toStdString(), std::to_string(corpus.sentences.size()) + " sentences: UMAP maps at most " +
                                                std::to_string(kMaxUmapPoints) + " (exact neighbours); choose PCA, or map a sample");
    const at::Tensor mu = encode_corpus_cached(g, corpus.sentences, cacheDir.toStdString(), [&](size_t done, size_t total) {
      Q_EMIT mapProgress(requestId, tr("encoding"), static_cast<qint64>(done), static_cast<qint64>(total));
      return cancelledMap_.load() != requestId;
    }, &cached);
    const Pca p = fit_pca(mu, 2);
    at::Tensor xy;
    if (useUmap) {
      const UmapOptions o;
      const std::string path = cacheDir.isEmpty() ? std::string()
                                                  : cacheDir.toStdString() + "/umap-" + corpus_cache_key(g, corpus.sentences) + "-" +
                                                        umap_options_key(o) + ".safetensors";
      bool layoutCached = false;
      xy = umap_cached(mu, o, path, [&](const std::string& stage, double f) {
        Q_EMIT mapProgress(requestId, tr("UMAP: %1").arg(QString::fromStdString(stage)), static_cast<qint64>(1000 * f), 1000);
        return cancelledMap_.load() != requestId;
      }, &layoutCached).contiguous();
      cached = cached && layoutCached;
    } else {
      xy = p.project(mu).contiguous();
    }
    const float* v = xy.data_ptr<float>();
    const int64_t n = xy.size(0);
    m.x.resize(static_cast<int>(n));
    m.y.resize(static_cast<int>(n));
    for (int64_t i = 0; i < n; ++i) {
      m.x[static_cast<int>(i)] = v[2 * i];
      m.y[static_cast<int>(i)] = v[2 * i + 1];
    }
    m.sentences.reserve(static_cast<int>(n));
    for (const auto& s : corpus.sentences) m.sentences << QString::fromStdString(s);
    for (size_t f = 0; f < corpus.field_names.size(); ++f) {
      m.fieldNames << QString::fromStdString(corpus.field_names[f]);
      QStringList values;
      values.reserve(static_cast<int>(n));
      for (const auto& v : corpus.field_values[f]) values << QString::fromStdString(v);
      m.fieldValues << values;
    }
    m.explained1 = p.explained_ratio[0];
    m.explained2 = p.explained_ratio[1];
    m.fromCache = cached;
    m.projection = useUmap ? "umap" : "pca";
    m.seconds = timer.elapsed() / 1000.0;
    state_->clearMap();
    state_->mapLatents = mu;
    state_->mapSentences = std::move(corpus.sentences);
    if (useUmap) {
      state_->mapLayout = xy;
    } else {
      state_->mapMean = p.mean.clone();
      state_->mapBasis = p.components.t().contiguous();  // (D, 2)
    }
    Q_EMIT mapReady(m);
  } catch (const Cancelled&) {
    Q_EMIT mapCancelled(requestId);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Latent map"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::mapBleu(int requestId) {
  if (!ensureModel(tr("Latent map"))) return;
  try {
    c10::InferenceMode guard;
    if (!state_->hasMap()) throw Error("latent map", "make a map first (the model changed since the last one)");
    Generator& g = *state_->generator;
    const auto& refs = state_->mapSentences;
    const int64_t n = static_cast<int64_t>(refs.size());
    QVector<float> bleu(static_cast<int>(n));
    constexpr int64_t chunk = 1024;
    for (int64_t s = 0; s < n; s += chunk) {
      Q_EMIT mapProgress(requestId, tr("BLEU"), s, n);
      if (cancelledMap_.load() == requestId) {
        Q_EMIT mapCancelled(requestId);
        return;
      }
      const int64_t e = std::min(n, s + chunk);
      const std::vector<std::string> part(refs.begin() + s, refs.begin() + e);
      // The reconstruction the evaluation scores (eval/metrics.h), scored per sentence here.
      const ReconstructionScore r = decoded_bleu(g, state_->mapLatents.slice(0, s, e), part);
      for (int64_t i = s; i < e; ++i)
        bleu[static_cast<int>(i)] = static_cast<float>(100.0 * sentence_bleu_method1(
            {utf8::split_whitespace(refs[static_cast<size_t>(i)])}, utf8::split_whitespace(r.hypotheses[static_cast<size_t>(i - s)])));
    }
    Q_EMIT mapProgress(requestId, tr("BLEU"), n, n);
    Q_EMIT mapBleuReady(requestId, bleu);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Latent map"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::computeDirection(int requestId, const QStringList& setA, const QStringList& setB, const QString& method,
                                       const QString& name, const QString& labelA, const QString& labelB) {
  if (!ensureModel(tr("Direction"))) return;
  try {
    const auto a = cleanSet(setA), b = cleanSet(setB);
    if (a.size() < 2 || b.size() < 2)
      throw Error("direction", "each set needs at least 2 sentences (A has " + std::to_string(a.size()) + ", B has " +
                                   std::to_string(b.size()) + ")");
    const std::string n = name.trimmed().isEmpty() ? "direction" : name.trimmed().toStdString();
    check_direction_name(n);
    Generator& g = *state_->generator;
    Direction d = compute_direction(g.encode(a), g.encode(b), method.toStdString());
    d.name = n;
    d.label_a = labelA.trimmed().isEmpty() ? "A" : labelA.trimmed().toStdString();
    d.label_b = labelB.trimmed().isEmpty() ? "B" : labelB.trimmed().toStdString();
    state_->direction = d;
    state_->directionSaved = false;
    DirectionInfo info = describe(d, false);
    info.requestId = requestId;
    Q_EMIT directionReady(info);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Direction"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::saveDirection() {
  try {
    if (!state_->direction.vector.defined()) throw Error("direction", "compute a direction first");
    if (state_->dir.empty())
      throw Error("direction", "the model in use is a training snapshot: save it as a model folder first (File > Save model as)");
    save_direction(state_->dir, state_->direction);
    state_->directionSaved = true;
    Q_EMIT directionReady(describe(state_->direction, true));
    Q_EMIT directionsListed(savedDirectionLines(state_->dir));
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Direction"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::useDirection(const QString& name) {
  if (!ensureModel(tr("Direction"))) return;
  try {
    for (auto& d : load_directions(state_->dir))
      if (QString::fromStdString(d.name) == name) {
        if (d.vector.size(0) != state_->config.model.latent_dim)
          throw Error(state_->dir + "/directions/" + d.name + ".safetensors",
                      "was computed for latents of size " + std::to_string(d.vector.size(0)) + ", the model's are " +
                          std::to_string(state_->config.model.latent_dim));
        state_->direction = d;
        state_->directionSaved = true;
        Q_EMIT directionReady(describe(d, true));
        return;
      }
    throw Error(state_->dir + "/directions", "has no direction \"" + name.toStdString() + "\"");
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Direction"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::applyDirection(int requestId, const QString& sentence, const QVector<double>& alphas) {
  if (!ensureModel(tr("Direction"))) return;
  try {
    c10::InferenceMode guard;
    if (!state_->direction.vector.defined()) throw Error("direction", "compute a direction, or choose a saved one, first");
    const std::string s = utf8::normalize_whitespace(sentence.toStdString());
    if (s.empty()) throw Error("direction", "type a sentence to move");
    Generator& g = *state_->generator;
    const at::Tensor z = g.encode({s});
    std::vector<at::Tensor> rows;
    for (double a : alphas) rows.push_back(apply_direction(z, state_->direction, a));
    DirectionApplied r;
    r.requestId = requestId;
    r.sentence = QString::fromStdString(s);
    r.alphas = alphas;
    if (!rows.empty())
      for (const auto& t : g.decode(at::cat(rows, 0))) r.texts << QString::fromStdString(t);
    Q_EMIT directionApplied(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Direction"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::analogy(int requestId, const QString& a, const QString& b, const QString& c) {
  if (!ensureModel(tr("Analogy"))) return;
  try {
    const auto set = cleanSet({a, b, c});
    if (set.size() != 3) throw Error("analogy", "needs three sentences: A is to B as C is to ?");
    Q_EMIT analogySolved(requestId, QString::fromStdString(state_->generator->analogy(set[0], set[1], set[2])));
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Analogy"), QString::fromStdString(latent::user_message(e)));
  }
}

}  // namespace latent::ui
