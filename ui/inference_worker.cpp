#include "inference_worker.h"

#include <ATen/ATen.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <cmath>

#include "eval/bleu.h"
#include "infer/generator.h"
#include "io/model_dir.h"
#include "model/model_io.h"
#include "util/utf8.h"

namespace latent::ui {

struct InferenceWorker::State {
  std::unique_ptr<Generator> generator;
  std::string dir;
};

InferenceWorker::InferenceWorker(QObject* parent) : QObject(parent), state_(std::make_unique<State>()) {}
InferenceWorker::~InferenceWorker() = default;

namespace {

QString humanCount(uint64_t n) {
  if (n >= 1000000) return QString::number(static_cast<double>(n) / 1e6, 'f', 2) + "M";
  if (n >= 1000) return QString::number(static_cast<double>(n) / 1e3, 'f', 1) + "k";
  return QString::number(n);
}

// The last evaluation lines of a run's metrics.jsonl (model folder = RUN/best or RUN/last).
QString runMetrics(const std::string& modelDir) {
  QFile f(QFileInfo(QString::fromStdString(modelDir)).dir().filePath("metrics.jsonl"));
  if (!f.open(QIODevice::ReadOnly)) return {};
  QStringList evals;
  QString lastTrain;
  while (!f.atEnd()) {
    const QByteArray line = f.readLine();
    const auto j = nlohmann::json::parse(line.toStdString(), nullptr, false);
    if (j.is_discarded()) continue;
    if (j.value("type", "") == "eval")
      evals << QString("step %1: BLEU %2 on %3 sentences").arg(j.value("step", 0)).arg(j.value("bleu", 0.0), 0, 'f', 2).arg(j.value("n", 0));
    else
      lastTrain = QString("step %1: loss %2, rec %3, ddpm %4, %5 sentences/s")
                      .arg(j.value("step", 0)).arg(j.value("loss", 0.0), 0, 'f', 4).arg(j.value("rec", 0.0), 0, 'f', 3)
                      .arg(j.value("ddpm", 0.0), 0, 'f', 4).arg(j.value("sentences_per_sec", 0.0), 0, 'f', 1);
  }
  while (evals.size() > 8) evals.removeFirst();
  return (lastTrain.isEmpty() ? QString() : "last progress: " + lastTrain + "\n") + evals.join('\n');
}

DecodeOptions toOptions(const DecodeSettings& s) {
  DecodeOptions o;
  o.strategy = s.strategy.toStdString();
  o.temperature = s.temperature;
  o.top_p = s.topP;
  o.top_k = s.topK;
  o.seed = s.seed;
  return o;
}

}  // namespace

void InferenceWorker::openModel(const QString& path) {
  try {
    LoadedModel lm = load_model(path.toStdString());
    const io::ModelSummary s = io::summarize_model_dir(lm.dir);
    ModelSummary out;
    out.dir = QString::fromStdString(lm.dir);
    out.name = QFileInfo(out.dir).fileName();
    if (out.name == "best" || out.name == "last") out.name = QFileInfo(QFileInfo(out.dir).path()).fileName() + "/" + out.name;
    out.configJson = QString::fromStdString(s.config.dump(2));
    for (const auto& m : s.modules) out.paramLines << QString("%1  %2").arg(QString::fromStdString(m.module), -12).arg(humanCount(m.params));
    out.totalParams = static_cast<qint64>(s.total_params);
    out.latentDim = lm.config.model.latent_dim;
    out.vocabSize = lm.tokenizer.vocab_size();
    out.diffusionSteps = lm.config.model.diffusion.steps;
    out.device = "CPU";
    out.metrics = runMetrics(lm.dir);
    state_->generator = std::make_unique<Generator>(lm.model, lm.tokenizer);
    state_->dir = lm.dir;
    Q_EMIT modelOpened(out);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Open model"), QString::fromStdString(e.what()));
  }
}

void InferenceWorker::reconstruct(int requestId, const QStringList& sentences, const DecodeSettings& settings,
                                  double noiseScale, int posteriorSamples) {
  if (!state_->generator) {
    Q_EMIT failed(tr("Reconstruct"), tr("no model is loaded: open a model folder first"));
    return;
  }
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
      if (posteriorSamples > 0)
        for (const auto& p : g.posterior_samples(in[i], posteriorSamples, noiseScale, settings.seed + i, opt))
          item.posterior << QString::fromStdString(p);
      r.items << item;
    }
    Q_EMIT reconstructed(r);
  } catch (const std::exception& e) {
    Q_EMIT failed(tr("Reconstruct"), QString::fromStdString(e.what()));
  }
}

}  // namespace latent::ui
