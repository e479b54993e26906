#include "bench/benchmarks.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <fstream>
#include <functional>

#include "explore/directions.h"
#include "infer/generator.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "text/tokenizer.h"
#include "model/model_io.h"
#include "model/vae_ddpm.h"
#include "train/optimizer.h"
#include "util/error.h"

namespace latent::bench {
namespace {

using Clock = std::chrono::steady_clock;

at::Device device_of(const std::string& d) {
  if (d == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda", "CUDA is not available on this machine");
    return at::Device(at::kCUDA, 0);
  }
  if (d != "cpu") throw Error("--device", "must be cpu or cuda, got \"" + d + "\"");
  return at::Device(at::kCPU);
}

void sync(const at::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// Seconds of each of `reps` runs of fn after `warmup` untimed ones.
std::vector<double> time_runs(int warmup, int reps, const at::Device& d, const std::function<void()>& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  sync(d);
  std::vector<double> out;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    fn();
    sync(d);
    out.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return out;
}

// Random ids in [4, vocab) (above the special ids): BOS ids EOS, no padding.
at::Tensor random_ids(int64_t batch, int64_t length, int64_t vocab, at::Generator& gen) {
  auto body = at::randint(4, vocab, {batch, length}, gen, at::TensorOptions().dtype(at::kLong));
  const auto bos = at::full({batch, 1}, Tokenizer::kBos, at::kLong), eos = at::full({batch, 1}, Tokenizer::kEos, at::kLong);
  return at::cat({bos, body, eos}, 1);
}

// Generator needs a tokenizer; the id-level jobs never use it, so a small one will do.
Tokenizer scratch_tokenizer() {
  const std::vector<std::string> words{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"};
  std::vector<std::string> sentences;
  for (size_t i = 0; i < 400; ++i)
    sentences.push_back(words[i % 10] + " " + words[(i * 7 + 3) % 10] + " " + words[(i * 3 + 1) % 10]);
  TokenizerTrainOptions o;
  o.vocab_size = 300;
  return Tokenizer::train(sentences, o);
}

// A model of the configured shapes with seeded random weights on the device.
VaeDdpm random_model(const Common& c, const at::Device& dev, bool training) {
  torch::manual_seed(c.seed);
  VaeDdpm model(c.config.model, c.config.model.tokenizer.vocab_size);
  model->to_device(dev);
  if (training) model->train();
  else model->eval();
  return model;
}

std::vector<double> map(const std::vector<double>& xs, const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double x : xs) out.push_back(f(x));
  return out;
}

}  // namespace

Stats summarize(std::vector<double> v) {
  Stats s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.min = v.front();
  s.max = v.back();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  // Nearest-rank percentile.
  const size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(n)));
  s.p95 = v[std::min(n, std::max<size_t>(1, rank)) - 1];
  return s;
}

GenerateResult lm_generate(const std::string& lm_dir, const std::vector<std::vector<int64_t>>& prompts, int new_tokens,
                           const std::string& device, int reps, int warmup, const std::string& decode_weights) {
  if (prompts.empty() || prompts[0].empty()) throw Error("--prompts", "no prompt");
  for (const auto& p : prompts)
    if (p.size() != prompts[0].size()) throw Error("--prompts", "the prompts of one batch must have the same length");
  const at::Device dev = device_of(device);
  DecoderConfig plain;
  plain.latent_as_memory = plain.latent_as_embedding = plain.extra_first_block = false;
  plain.dropout = 0.0;
  DecoderConfig c = hf_decoder_config(lm_dir, plain);
  if (decode_weights != "float32" && c.arch != "llama")
    throw Error("--decode-weights " + decode_weights, "only the llama family has other weight readings; " + lm_dir + " is " + c.arch);
  c.cpu_decode_weights = decode_weights;
  const int vocab = hf_vocab_size(lm_dir);
  for (const auto& p : prompts)
    for (int64_t id : p)
      if (id < 0 || id >= vocab)
        throw Error("--prompts", "token id " + std::to_string(id) + " is outside the model's vocabulary (" + std::to_string(vocab) + ")");
  Decoder dec = decoder_family(c.arch, lm_dir).make(c, VocabSpec{vocab, {}}, 1);
  load_hf_decoder(*dec, lm_dir);
  dec->eval();
  dec->to(dev);
  c10::InferenceMode guard;
  std::vector<int64_t> flat;
  for (const auto& p : prompts) flat.insert(flat.end(), p.begin(), p.end());
  const int64_t B = static_cast<int64_t>(prompts.size()), P = static_cast<int64_t>(prompts[0].size());
  const auto ids = torch::tensor(flat, torch::kLong).view({B, P}).to(dev);
  const auto z = torch::zeros({B, 1}, torch::TensorOptions().device(dev));
  auto run = [&] {
    KVCache cache = dec->start(z, P + new_tokens);
    auto logits = dec->step(cache, ids);
    for (int i = 0; i < new_tokens; ++i) {
      const auto next = logits.select(1, logits.size(1) - 1).argmax(-1, /*keepdim=*/true);
      if (i + 1 < new_tokens) logits = dec->step(cache, next);  // the last token needs no pass (as generate)
    }
  };
  GenerateResult r;
  r.seconds = summarize(time_runs(warmup, reps, dev, run));
  r.tokens_per_sec = static_cast<double>(B * new_tokens) / r.seconds.median;
  return r;
}

// A "Vm...:" line of /proc/self/status (kB) in MiB.
static double proc_status_mb(const std::string& wanted) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == wanted) {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    std::getline(in, key);
  }
  return 0;
}

double peak_rss_mb() { return proc_status_mb("VmHWM:"); }
double rss_mb() { return proc_status_mb("VmRSS:"); }

TrainResult train_step(const Common& c, int batch, int length) {
  const at::Device dev = device_of(c.device);
  const int vocab = c.config.model.tokenizer.vocab_size;
  VaeDdpm model = random_model(c, dev, /*training=*/true);
  std::vector<std::pair<std::string, at::Tensor>> params;
  TrainResult r;
  for (auto& p : model->named_parameters()) {
    params.emplace_back(p.key(), p.value());
    r.params += p.value().numel();
  }
  AdamOptimizer optim(params, c.config.train);
  std::vector<at::Tensor> tensors;
  for (auto& [n, t] : params) tensors.push_back(t);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  Batch b;
  b.enc_ids = random_ids(batch, length, vocab, gen);
  b.dec_ids = b.enc_ids.clone();
  b = b.to(dev);
  const auto secs = time_runs(c.warmup, c.reps, dev, [&] {
    optim.zero_grad();
    auto out = model->forward(b, at::Generator());
    out.loss.backward();
    torch::nn::utils::clip_grad_norm_(tensors, c.config.train.grad_clip);
    optim.step(c.config.train.lr);
  });
  r.step_ms = summarize(map(secs, [](double s) { return s * 1000; }));
  r.sentences_per_sec = summarize(map(secs, [&](double s) { return batch / s; }));
  return r;
}

ReconstructResult reconstruct(const Common& c, int n, int length, int max_tokens, int batch, bool uncached) {
  const at::Device dev = device_of(c.device);
  const int vocab = c.config.model.tokenizer.vocab_size;
  VaeDdpm model = random_model(c, dev, /*training=*/false);
  // A tokenizer is only needed to build the Generator; decoding works on ids here.
  Generator g(model, scratch_tokenizer(), dev, batch);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  const at::Tensor ids = random_ids(n, length, vocab, gen);
  DecodeOptions opt;
  opt.max_tokens = max_tokens;
  opt.stop_at_eos = false;
  const auto secs = time_runs(c.warmup, c.reps, dev, [&] {
    c10::InferenceMode guard;
    for (int64_t s = 0; s < n; s += batch) {
      const int64_t m = std::min<int64_t>(batch, n - s);
      const at::Tensor mu = model->posterior(ids.narrow(0, s, m).to(dev)).mu;
      if (uncached) g.decode_ids_uncached(mu, max_tokens, /*stop_at_eos=*/false);
      else g.decode_ids(mu, opt);
    }
  });
  ReconstructResult r;
  r.seconds = summarize(secs);
  r.sentences_per_sec = summarize(map(secs, [&](double s) { return n / s; }));
  return r;
}

Stats sample(const Common& c, int n) {
  const at::Device dev = device_of(c.device);
  VaeDdpm model = random_model(c, dev, /*training=*/false);
  Generator g(model, scratch_tokenizer(), dev);
  return summarize(time_runs(c.warmup, c.reps, dev, [&] { g.sample_latents(n, "ddpm", 0, c.seed); }));
}

LatencyResult latency(const std::string& model_dir, const std::string& device, int reps, int warmup) {
  const at::Device dev = device_of(device);
  LoadedModel lm = load_model(model_dir);
  lm.model->to_device(dev);
  Generator g(lm.model, lm.tokenizers, dev);
  const std::string a = "the children played in the garden until dark", b = "he sold his old car to a neighbour";
  LatencyResult r;
  r.reconstruct_ms = summarize(map(time_runs(warmup, reps, dev, [&] { g.reconstruct({a}); }), [](double s) { return s * 1000; }));
  r.interpolate10_ms =
      summarize(map(time_runs(warmup, reps, dev, [&] { g.interpolate(a, b, 10, false); }), [](double s) { return s * 1000; }));
  const Direction d = compute_direction(g.encode({a, "the children play in the garden", "she walks to school"}),
                                        g.encode({b, "he sells his old car", "she walked to school"}), "mean");
  r.direction_ms = summarize(map(time_runs(warmup, reps, dev, [&] { g.decode(apply_direction(g.encode({a}), d, 1.5)); }),
                                 [](double s) { return s * 1000; }));
  return r;
}

}  // namespace latent::bench
