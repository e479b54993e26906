#include "inference_worker.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "eval/bleu.h"
#include "infer/generator.h"
#include "io/model_dir.h"
#include "model/model_io.h"
#include "inference_state.h"
#include "snapshot_slot.h"
#include "train/metrics_log.h"
#include "util/error.h"
#include "util/utf8.h"

namespace latent::ui {

InferenceWorker::InferenceWorker(std::shared_ptr<SnapshotSlot> snapshots, QObject* parent)
    : QObject(parent), state_(std::make_unique<State>()) {
  state_->snapshots = std::move(snapshots);
}
InferenceWorker::~InferenceWorker() = default;

namespace {

QString humanCount(uint64_t n) {
  if (n >= 1000000) return QString::number(static_cast<double>(n) / 1e6, 'f', 2) + "M";
  if (n >= 1000) return QString::number(static_cast<double>(n) / 1e3, 'f', 1) + "k";
  return QString::number(n);
}

// The last evaluation lines of a run's metrics.jsonl (model folder = RUN/best or RUN/last).
QString runMetrics(const std::string& modelDir) {
  const std::string path = QFileInfo(QString::fromStdString(modelDir)).dir().filePath("metrics.jsonl").toStdString();
  MetricsLog log;
  try {
    log = read_metrics_log(path);
  } catch (const std::exception& e) {  // an unreadable metrics.jsonl must not stop the model opening
    return QString::fromStdString(latent::user_message(e));
  }
  QStringList lines;
  if (log.last_train) {
    const MetricsLine& t = *log.last_train;
    lines << QString("last progress: step %1: loss %2, rec %3, ddpm %4, %5 sentences/s")
                 .arg(t.step).arg(t.value("loss"), 0, 'f', 4).arg(t.value("rec"), 0, 'f', 3)
                 .arg(t.value("ddpm"), 0, 'f', 4).arg(t.value("sentences_per_sec"), 0, 'f', 1);
  }
  for (const MetricsLine& e : log.evals)
    lines << QString("step %1: BLEU %2 on %3 sentences").arg(e.step).arg(e.value("bleu"), 0, 'f', 2).arg(e.value("n"));
  if (log.skipped > 0) lines << QObject::tr("(%1 of %2 lines of metrics.jsonl skipped: not metrics)").arg(log.skipped).arg(log.lines);
  return lines.join('\n');
}

// The model folder's own evaluation (latent-cli eval --record writes eval.json), with the
// LM judge's perplexities when it ran with --lm.
QString modelEval(const std::string& modelDir) {
  QFile f(QDir(QString::fromStdString(modelDir)).filePath("eval.json"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  const auto j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return QObject::tr("eval.json: not a JSON object") + "\n";
  auto num = [&](const nlohmann::json& o, const char* k) { return o.contains(k) && o[k].is_number() ? o[k].get<double>() : 0.0; };
  QString out = QString("evaluation: reconstruction BLEU %1 on %2 sentences, self-BLEU %3 of %4 samples\n")
                    .arg(num(j, "bleu"), 0, 'f', 2).arg(num(j, "n")).arg(num(j, "self_bleu"), 0, 'f', 2).arg(num(j, "samples"));
  if (j.contains("corpus_words") && j["corpus_words"].is_object() && j["corpus_words"].contains("samples") &&
      j["corpus_words"]["samples"].is_object()) {
    const auto& w = j["corpus_words"]["samples"];
    out += QString("samples' words found in the training corpus: %1%, samples made only of them: %2%\n")
               .arg(100 * num(w, "words"), 0, 'f', 1).arg(100 * num(w, "sentences"), 0, 'f', 1);
  }
  if (j.contains("lm") && j["lm"].is_object()) {
    const auto& lm = j["lm"];
    out += QString("LM judge %1: perplexity %2 of the samples, %3 of held-out sentences (ratio %4)\n")
               .arg(QString::fromStdString(lm.contains("model") && lm["model"].is_string() ? lm["model"].get<std::string>() : "?"))
               .arg(num(lm, "ppl_samples"), 0, 'f', 2).arg(num(lm, "ppl_heldout"), 0, 'f', 2).arg(num(lm, "ratio"), 0, 'f', 2);
  }
  return out;
}

// eval.json's robustness curve (latent-cli eval --robustness --record), when it has one.
void robustnessCurve(const std::string& modelDir, ModelSummary& out) {
  QFile f(QDir(QString::fromStdString(modelDir)).filePath("eval.json"));
  if (!f.open(QIODevice::ReadOnly)) return;
  const auto j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
  if (!j.is_object() || !j.contains("robustness") || !j["robustness"].is_object()) return;
  const auto& r = j["robustness"];
  if (!r.contains("scales") || !r.contains("bleu") || !r["scales"].is_array() || !r["bleu"].is_array() ||
      r["scales"].size() != r["bleu"].size() || r["scales"].size() > 1000)
    return;
  for (size_t i = 0; i < r["scales"].size(); ++i) {
    if (!r["scales"][i].is_number() || !r["bleu"][i].is_number()) return;
    out.robustnessScales << r["scales"][i].get<double>();
    out.robustnessBleu << r["bleu"][i].get<double>();
  }
  out.auBleu = r.contains("au_bleu") && r["au_bleu"].is_number() ? r["au_bleu"].get<double>() : 0.0;
}

DecodeOptions toOptions(const DecodeSettings& s) {
  DecodeOptions o;
  o.strategy = s.strategy.toStdString();
  o.temperature = s.temperature;
  o.top_p = s.topP;
  o.repetition_penalty = s.repetitionPenalty;
  o.top_k = s.topK;
  o.seed = s.seed;
  return o;
}

}  // namespace

void InferenceWorker::openModel(const QString& path) {
  try {
    LoadedModel lm = load_model(path.toStdString());
    const io::ModelSummary s = io::summarize_model_dir(lm.dir, /*with_tokenizers=*/false);  // lm has them
    ModelSummary out;
    out.dir = QString::fromStdString(lm.dir);
    out.name = QFileInfo(out.dir).fileName();
    if (out.name == "best" || out.name == "last") out.name = QFileInfo(QFileInfo(out.dir).path()).fileName() + "/" + out.name;
    out.configJson = QString::fromStdString(s.config.dump(2));
    for (const auto& m : s.modules) out.paramLines << QString("%1  %2").arg(QString::fromStdString(m.module), -12).arg(humanCount(m.params));
    out.totalParams = static_cast<qint64>(s.total_params);
    out.latentDim = lm.config.model.latent_dim;
    out.tokenizers = QString::fromStdString(lm.tokenizers.describe());
    const auto& mc = lm.config.model;
    out.families = QString("encoder %1 (%2 pooling), decoder %3%4")
                       .arg(QString::fromStdString(mc.encoder.arch), QString::fromStdString(mc.encoder.pooling),
                            QString::fromStdString(mc.decoder.arch),
                            mc.decoder.extra_first_block ? QStringLiteral(" (extra first block)") : QString());
    if (mc.latent_tokens > 1)
      out.families += QString(", latent as %1 tokens of %2").arg(mc.latent_tokens).arg(mc.latent_dim / mc.latent_tokens);
    out.diffusionSteps = lm.config.model.diffusion.steps;
    out.device = "CPU";
    out.metrics = modelEval(lm.dir) + runMetrics(lm.dir);
    out.directions = savedDirectionLines(lm.dir);
    robustnessCurve(lm.dir, out);
    state_->generator = std::make_unique<Generator>(lm.model, lm.tokenizers);
    state_->dir = lm.dir;
    state_->config = lm.config;
    state_->a.clear();
    state_->pcaA.clear();
    state_->clearMap();
    state_->clearDirection();
    state_->followSnapshots = false;
    Q_EMIT modelOpened(out);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Open model"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::reconstruct(int requestId, const QStringList& sentences, const DecodeSettings& settings,
                                  double noiseScale, int posteriorSamples) {
  if (!ensureModel(tr("Reconstruct"))) return;
  try {
    Generator& g = *state_->generator;
    std::vector<std::string> in;
    for (const auto& s : sentences) {
      const std::string t = utf8::normalize_whitespace(s.toStdString());
      if (!t.empty()) in.push_back(t);
    }
    ReconstructResult r;
    r.requestId = requestId;
    r.noiseScale = noiseScale;
    if (in.empty()) {
      Q_EMIT reconstructed(r);
      return;
    }
    const DecodeOptions opt = toOptions(settings);
    const at::Tensor mu = g.encode(in);  // (N, D)
    const auto out = g.decode(mu, opt);
    for (size_t i = 0; i < in.size(); ++i) {
      Reconstruction item;
      item.input = QString::fromStdString(in[i]);
      item.output = QString::fromStdString(out[i]);
      item.bleu = 100.0 * sentence_bleu_method1({utf8::split_whitespace(in[i])}, utf8::split_whitespace(out[i]));
      const auto row = mu[static_cast<int64_t>(i)].contiguous();
      item.latent = QVector<float>(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
      if (state_->hasMap()) {
        item.onMap = true;
        item.mapPoint = state_->mapPoints(mu[static_cast<int64_t>(i)].unsqueeze(0)).value(0);
      }
      if (posteriorSamples > 0)
        for (const auto& p : g.posterior_samples(in[i], posteriorSamples, noiseScale, settings.seed + i, opt))
          item.posterior << QString::fromStdString(p);
      r.items << item;
    }
    Q_EMIT reconstructed(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Reconstruct"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::followTraining() { state_->followSnapshots = true; }

bool InferenceWorker::ensureModel(const QString& context) {
  if (state_->snapshots && state_->followSnapshots) {
    uint64_t version = 0;
    const auto snap = state_->snapshots->latest(&version);
    if (snap && version != state_->snapshotVersion) {
      try {
        LoadedModel lm = restore_snapshot(*snap, "training snapshot at step " + std::to_string(snap->step));
        state_->generator = std::make_unique<Generator>(lm.model, lm.tokenizers);
        state_->dir.clear();
        state_->config = lm.config;
        state_->a.clear();
        state_->pcaA.clear();
        state_->clearMap();
        state_->clearDirection();
        state_->snapshotVersion = version;
        Q_EMIT snapshotInUse(snap->step);
      } catch (const std::exception& e) {
        state_->snapshotVersion = version;  // do not retry a broken snapshot on every request
        Q_EMIT failed(context, QString::fromStdString(latent::user_message(e)));
      }
    }
  }
  if (state_->generator) return true;
  Q_EMIT failed(context, tr("no model is loaded: open a model folder first"));
  return false;
}

namespace {

// The two sentences, whitespace-normalised; both are needed.
std::pair<std::string, std::string> endpoints(const QString& a, const QString& b) {
  std::string sa = utf8::normalize_whitespace(a.toStdString()), sb = utf8::normalize_whitespace(b.toStdString());
  if (sa.empty() || sb.empty()) throw std::runtime_error("both sentences A and B are needed");
  return {std::move(sa), std::move(sb)};
}

// Encodes A and B once per pair and fits the PCA plane of their path.
void prepareEndpoints(Generator& g, const std::string& a, const std::string& b, std::string& lastA, std::string& lastB,
                      at::Tensor& muA, at::Tensor& muB) {
  if (a == lastA && b == lastB && muA.defined()) return;
  const at::Tensor mu = g.encode({a, b});
  muA = mu[0].clone();
  muB = mu[1].clone();
  lastA = a;
  lastB = b;
}

at::Tensor pointAt(const at::Tensor& a, const at::Tensor& b, double t, bool spherical) {
  return spherical ? slerp(a, b, t) : a + (b - a) * t;
}

QPointF project(const at::Tensor& z, const at::Tensor& mean, const at::Tensor& basis) {
  const at::Tensor p = at::matmul((z - mean).unsqueeze(0), basis).squeeze(0);  // (2,)
  return {p[0].item<double>(), p[1].item<double>()};
}

}  // namespace

void InferenceWorker::interpolate(int requestId, const QString& a, const QString& b, int n, bool slerp) {
  if (!ensureModel(tr("Interpolate"))) return;
  try {
    c10::InferenceMode guard;
    Generator& g = *state_->generator;
    const auto [sa, sb] = endpoints(a, b);
    n = std::max(2, n);
    prepareEndpoints(g, sa, sb, state_->a, state_->b, state_->muA, state_->muB);
    InterpolateResult r;
    r.requestId = requestId;
    r.slerp = slerp;
    std::vector<at::Tensor> rows;
    for (int i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / (n - 1);
      r.t << t;
      rows.push_back(pointAt(state_->muA, state_->muB, t, slerp));
    }
    const at::Tensor z = at::stack(rows);  // (n, D)
    for (const auto& s : g.decode(z)) r.sentences << QString::fromStdString(s);
    // PCA of the path: the top two right singular vectors of the centred latents; A on the left.
    const at::Tensor mean = z.mean(0);
    auto basis = std::get<2>(at::linalg_svd(z - mean, /*full_matrices=*/false)).narrow(0, 0, std::min<int64_t>(2, n)).t();
    if (basis.size(1) < 2) basis = at::cat({basis, at::zeros_like(basis)}, 1);
    if (at::matmul(state_->muA - mean, basis.select(1, 0)).item<double>() > 0) basis.select(1, 0).neg_();
    state_->pcaMean = mean.clone();
    state_->pcaBasis = basis.contiguous().clone();
    state_->pcaA = sa;
    state_->pcaB = sb;
    for (int i = 0; i < n; ++i) r.path2d << project(z[i], state_->pcaMean, state_->pcaBasis);
    if (state_->hasMap()) r.mapPath = state_->mapPoints(z);
    Q_EMIT interpolated(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Interpolate"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::decodeAt(int requestId, const QString& a, const QString& b, double t, bool slerp) {
  if (!ensureModel(tr("Interpolate"))) return;
  try {
    c10::InferenceMode guard;
    Generator& g = *state_->generator;
    const auto [sa, sb] = endpoints(a, b);
    const bool samePair = sa == state_->pcaA && sb == state_->pcaB;
    prepareEndpoints(g, sa, sb, state_->a, state_->b, state_->muA, state_->muB);
    const at::Tensor z = pointAt(state_->muA, state_->muB, std::clamp(t, 0.0, 1.0), slerp);
    DecodeAtResult r;
    r.requestId = requestId;
    r.t = t;
    r.sentence = QString::fromStdString(g.decode(z.unsqueeze(0)).at(0));
    if (samePair && state_->pcaBasis.defined()) r.point2d = project(z, state_->pcaMean, state_->pcaBasis);
    if (state_->hasMap()) {
      r.onMap = true;
      r.mapPoint = state_->mapPoints(z.unsqueeze(0)).value(0);
    }
    Q_EMIT decodedAt(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Interpolate"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::generate(int requestId, int samples, const QString& sampler, int ddimSteps, int frames,
                               quint64 seed) {
  if (!ensureModel(tr("Generate"))) return;
  try {
    c10::InferenceMode guard;
    Generator& g = *state_->generator;
    const int T = state_->config.model.diffusion.steps;
    const int64_t n = std::max(1, samples), D = state_->config.model.latent_dim;
    const bool ddim = sampler == "ddim";
    GenerateTrace r;
    r.requestId = requestId;
    r.sampler = ddim ? "ddim" : "ddpm";
    r.samples = static_cast<int>(n);
    // Every state x_t from t = T: the samplers draw x_T first from a generator seeded the same way.
    std::vector<int> ts{T};
    std::vector<at::Tensor> xs{at::randn({n, D}, at::make_generator<at::CPUGeneratorImpl>(seed))};
    g.sample_latents(n, r.sampler.toStdString(), ddimSteps, seed, [&](int t, const at::Tensor& x) {
      ts.push_back(t);
      xs.push_back(x.to(at::kCPU));
    });
    r.norms.resize(static_cast<int>(n));
    for (size_t i = 0; i < ts.size(); ++i) {
      r.normT << ts[i];
      const at::Tensor norms = xs[i].norm(2, {1}).to(at::kFloat).contiguous();
      const float* v = norms.data_ptr<float>();
      for (int64_t k = 0; k < n; ++k) r.norms[static_cast<int>(k)] << v[k];
    }
    // Frames evenly spaced over the recorded steps, always including t = T and t = 0.
    const int m = static_cast<int>(ts.size());
    const int f = std::clamp(frames, 2, m);
    std::vector<int> pick;
    for (int k = 0; k < f; ++k) {
      const int idx = static_cast<int>(std::lround(static_cast<double>(k) * (m - 1) / (f - 1)));
      if (pick.empty() || pick.back() != idx) pick.push_back(idx);
    }
    std::vector<at::Tensor> chosen;
    for (int idx : pick) {
      r.frameT << ts[static_cast<size_t>(idx)];
      chosen.push_back(xs[static_cast<size_t>(idx)]);
      if (state_->hasMap()) r.mapFrames << state_->mapPoints(xs[static_cast<size_t>(idx)]);
    }
    const auto texts = g.decode(at::cat(chosen).to(g.device()));  // frame-major
    for (size_t k = 0; k < pick.size(); ++k) {
      QStringList row;
      for (int64_t i = 0; i < n; ++i) row << QString::fromStdString(texts[k * static_cast<size_t>(n) + static_cast<size_t>(i)]);
      r.frameSentences << row;
    }
    Q_EMIT generated(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Generate"), QString::fromStdString(latent::user_message(e)));
  }
}

void InferenceWorker::saveModelAs(const QString& dir) {
  if (!ensureModel(tr("Save model as"))) return;
  try {
    Generator& g = *state_->generator;
    save_model(dir.toStdString(), state_->config, g.tokenizers(), g.model());
    Q_EMIT modelSaved(dir);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Save model as"), QString::fromStdString(latent::user_message(e)));
  }
}

}  // namespace latent::ui
