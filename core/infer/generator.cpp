#include "infer/generator.h"

#include <torch/torch.h>

#include <cmath>

#include "model/diffusion.h"
#include "util/error.h"

namespace latent {

at::Tensor pad_sequences(const std::vector<std::vector<int>>& seqs, const SpecialIds& ids, bool add_bos_eos) {
  size_t longest = 0;
  for (const auto& s : seqs) longest = std::max(longest, s.size());
  const bool bos = add_bos_eos && ids.bos >= 0;  // T5's encoder side has no BOS: text </s>
  const int64_t L = static_cast<int64_t>(longest) + (bos ? 1 : 0) + (add_bos_eos ? 1 : 0);
  auto out = at::full({static_cast<int64_t>(seqs.size()), std::max<int64_t>(L, 1)}, ids.pad, at::kLong);
  auto* p = out.data_ptr<int64_t>();
  for (size_t i = 0; i < seqs.size(); ++i) {
    int64_t* row = p + static_cast<int64_t>(i) * out.size(1);
    int64_t j = 0;
    if (bos) row[j++] = ids.bos;
    for (int id : seqs[i]) row[j++] = id;
    if (add_bos_eos) row[j++] = ids.eos;
  }
  return out;
}

at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t) {
  const auto na = a / a.norm(), nb = b / b.norm();
  const double dot = std::clamp((na * nb).sum().item<double>(), -1.0, 1.0);
  const double omega = std::acos(dot);
  if (std::sin(omega) < 1e-6) return (1 - t) * a + t * b;
  return (std::sin((1 - t) * omega) * a + std::sin(t * omega) * b) / std::sin(omega);
}

Generator::Generator(VaeDdpm model, Tokenizers tokenizers, at::Device device, int batch_size)
    : model_(std::move(model)), tok_(std::move(tokenizers)), device_(device), batch_size_(batch_size) {
  model_->to_device(device_);
  model_->eval();
}

at::Tensor Generator::encode(const std::vector<std::string>& sentences) {
  c10::InferenceMode guard;
  std::vector<at::Tensor> parts;
  const int max_len = model_->config.max_length;
  for (size_t start = 0; start < sentences.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t end = std::min(sentences.size(), start + static_cast<size_t>(batch_size_));
    std::vector<std::vector<int>> ids;
    for (size_t i = start; i < end; ++i) {
      auto s = tok_.encoder->encode(sentences[i]);
      if (static_cast<int>(s.size()) > max_len) s.resize(static_cast<size_t>(max_len));
      ids.push_back(std::move(s));
    }
    parts.push_back(model_->posterior(pad_sequences(ids, model_->enc_vocab.ids).to(device_)).mu.to(at::kCPU, at::kFloat));
  }
  if (parts.empty()) return at::zeros({0, model_->config.latent_dim});
  return at::cat(parts, 0);
}

namespace {

// Keeps the smallest set of tokens whose probability reaches top_p (and at most top_k).
at::Tensor filter_logits(at::Tensor logits /*(B,V)*/, int top_k, double top_p) {
  if (top_k > 0 && top_k < logits.size(-1)) {
    const auto kth = std::get<0>(logits.topk(top_k, -1)).select(-1, top_k - 1).unsqueeze(-1);  // (B,1)
    logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
  }
  if (top_p < 1.0) {
    auto [sorted, idx] = logits.sort(-1, /*descending=*/true);
    const auto cum = sorted.softmax(-1).cumsum(-1);
    auto drop = (cum - sorted.softmax(-1)) > top_p;  // keep the token that crosses top_p
    sorted = sorted.masked_fill(drop, -std::numeric_limits<float>::infinity());
    logits = at::empty_like(logits).scatter_(-1, idx, sorted);
  }
  return logits;
}

}  // namespace

std::vector<std::vector<int>> Generator::decode_batch(const at::Tensor& z, const DecodeOptions& opt,
                                                      const std::vector<int>& caps, at::Generator gen) {
  const int64_t B = z.size(0);
  const int max_tokens = opt.max_tokens > 0 ? opt.max_tokens : this->max_tokens();
  std::vector<std::vector<int>> out(static_cast<size_t>(B));
  KVCache cache = model_->decoder->start(z.to(device_), max_tokens + 1);
  // Rows still decoding, as indices into `out`; finished rows leave the cache.
  std::vector<int64_t> active(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) active[static_cast<size_t>(i)] = i;
  auto next_in = at::full({B, 1}, model_->dec_vocab.ids.bos, at::TensorOptions().dtype(at::kLong).device(device_));
  const int eos = model_->dec_vocab.ids.eos;
  if (!(opt.repetition_penalty > 0)) throw Error("repetition penalty", "must be positive");
  const double penalty = std::log(opt.repetition_penalty);  // subtracted from the logits of tokens seen
  at::Tensor seen;                                          // (b, V) float: 1 where the row holds the token
  for (int t = 0; t < max_tokens && !active.empty(); ++t) {
    auto logits = model_->decoder->step(cache, next_in).select(1, 0).to(at::kFloat);  // (b, V)
    if (opt.strategy == "sample") logits = filter_logits(logits / std::max(opt.temperature, 1e-6), opt.top_k, opt.top_p);
    if (penalty != 0) {
      if (!seen.defined()) seen = at::zeros_like(logits).scatter_(1, next_in, 1.0);  // BOS
      logits = logits - penalty * seen;
    }
    at::Tensor next;
    if (opt.strategy == "sample") {
      next = at::multinomial(logits.softmax(-1), 1, false, gen).squeeze(1);
    } else {
      next = logits.argmax(-1);
    }
    if (seen.defined()) seen.scatter_(1, next.unsqueeze(1), 1.0);
    const auto next_cpu = next.to(at::kCPU);
    const auto* ids = next_cpu.data_ptr<int64_t>();
    std::vector<int64_t> keep_rows, keep_active;
    for (size_t r = 0; r < active.size(); ++r) {
      const int64_t row = active[r];
      const int id = static_cast<int>(ids[r]);
      if (id == eos && opt.stop_at_eos) continue;
      out[static_cast<size_t>(row)].push_back(id);
      const int cap = caps.empty() ? 0 : caps[static_cast<size_t>(row)];
      if (cap > 0 && static_cast<int>(out[static_cast<size_t>(row)].size()) >= cap) continue;
      keep_rows.push_back(static_cast<int64_t>(r));
      keep_active.push_back(row);
    }
    if (keep_active.size() != active.size() && !keep_active.empty()) {
      const auto keep = at::tensor(keep_rows, at::kLong).to(device_);
      cache.select_rows(keep);
      next = next.index_select(0, keep);
      if (seen.defined()) seen = seen.index_select(0, keep);
    }
    active.swap(keep_active);
    next_in = next.unsqueeze(1);
  }
  return out;
}

std::vector<std::vector<int>> Generator::decode_ids(const at::Tensor& z, const DecodeOptions& opt,
                                                    const std::vector<int>& caps) {
  c10::InferenceMode guard;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(opt.seed);
  if (device_.is_cuda()) gen = at::globalContext().defaultGenerator(device_);
  std::vector<std::vector<int>> out;
  for (int64_t start = 0; start < z.size(0); start += batch_size_) {
    const int64_t n = std::min<int64_t>(batch_size_, z.size(0) - start);
    std::vector<int> sub_caps;
    if (!caps.empty()) sub_caps.assign(caps.begin() + start, caps.begin() + start + n);
    auto part = decode_batch(z.narrow(0, start, n), opt, sub_caps, gen);
    for (auto& p : part) out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::vector<int>> Generator::decode_ids_uncached(const at::Tensor& z, int max_tokens, bool stop_at_eos) {
  c10::InferenceMode guard;
  const int64_t B = z.size(0);
  const auto zd = z.to(device_);
  std::vector<std::vector<int>> out(static_cast<size_t>(B));
  std::vector<bool> done(static_cast<size_t>(B), false);
  const int eos = model_->dec_vocab.ids.eos;
  auto prefix = at::full({B, 1}, model_->dec_vocab.ids.bos, at::TensorOptions().dtype(at::kLong).device(device_));
  for (int t = 0; t < max_tokens; ++t) {
    const auto logits = model_->decoder->forward(prefix, zd).select(1, prefix.size(1) - 1);  // (B, V)
    const auto next = logits.argmax(-1);
    const auto cpu = next.to(at::kCPU);
    bool all_done = true;
    for (int64_t i = 0; i < B; ++i) {
      if (done[static_cast<size_t>(i)]) continue;
      const int id = static_cast<int>(cpu.data_ptr<int64_t>()[i]);
      if (id == eos && stop_at_eos) done[static_cast<size_t>(i)] = true;
      else out[static_cast<size_t>(i)].push_back(id);
      all_done = all_done && done[static_cast<size_t>(i)];
    }
    if (all_done) break;
    prefix = at::cat({prefix, next.unsqueeze(1)}, 1);
  }
  return out;
}

std::vector<std::string> Generator::decode(const at::Tensor& z, const DecodeOptions& opt) {
  std::vector<std::string> out;
  for (const auto& ids : decode_ids(z, opt)) out.push_back(tok_.decoder->decode(ids));
  return out;
}

std::vector<std::string> Generator::reconstruct(const std::vector<std::string>& sentences, const DecodeOptions& opt) {
  return decode(encode(sentences), opt);
}

Interpolation Generator::interpolate(const std::string& a, const std::string& b, int n, bool spherical,
                                     const DecodeOptions& opt) {
  Interpolation r;
  const auto mu = encode({a, b});  // (2, D)
  std::vector<at::Tensor> rows;
  for (int i = 0; i < n; ++i) {
    const double t = n == 1 ? 0.0 : static_cast<double>(i) / (n - 1);
    r.t.push_back(t);
    rows.push_back(spherical ? slerp(mu[0], mu[1], t) : (1 - t) * mu[0] + t * mu[1]);
  }
  r.latents = at::stack(rows);
  r.sentences = decode(r.latents, opt);
  return r;
}

std::string Generator::analogy(const std::string& a, const std::string& b, const std::string& c, const DecodeOptions& opt) {
  const auto mu = encode({a, b, c});
  return decode((mu[1] - mu[0] + mu[2]).unsqueeze(0), opt)[0];
}

std::vector<std::string> Generator::posterior_samples(const std::string& sentence, int k, double noise_scale,
                                                      uint64_t seed, const DecodeOptions& opt) {
  EncoderOutput post;
  {
    c10::InferenceMode guard;
    auto ids = tok_.encoder->encode(sentence);
    if (static_cast<int>(ids.size()) > model_->config.max_length) ids.resize(static_cast<size_t>(model_->config.max_length));
    post = model_->posterior(pad_sequences({ids}, model_->enc_vocab.ids).to(device_));
  }
  const auto mu = post.mu.to(at::kCPU, at::kFloat);                             // (1, D)
  const auto sigma = (0.5 * post.logvar).exp().to(at::kCPU, at::kFloat);       // (1, D)
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto eps = at::randn({k, mu.size(1)}, gen, mu.options());
  return decode(mu + noise_scale * sigma * eps, opt);
}

at::Tensor Generator::sample_latents(int64_t n, const std::string& sampler, int ddim_steps, uint64_t seed,
                                     const std::function<void(int, const at::Tensor&)>& cb) {
  c10::InferenceMode guard;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto& net = *model_->eps_model;
  const int64_t D = model_->config.latent_dim;
  if (sampler == "ddim") return sample_ddim(net, model_->schedule(), n, D, ddim_steps, device_, gen, cb);
  return sample_ancestral(net, model_->schedule(), n, D, device_, gen, cb);
}

}  // namespace latent
