#include "eval/lm_judge.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "io/model_dir.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "text/codec.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;

struct LmJudge::Impl {
  std::string name;
  CodecPtr codec;
  Decoder decoder;
  int context = -1, vocab = 0;
};

namespace {
// config.json's bos_token_id (a vocabulary without <|endoftext|>).
int token_id(const nlohmann::json& j, const char* key, const std::string& path, int vocab) {
  if (!j.contains(key) || !j[key].is_number_integer())
    throw Error(path + ": " + key, "missing or not an integer: the judge frames sentences with it");
  const int64_t id = j[key].get<int64_t>();
  if (id < 0 || id >= vocab) throw Error(path + ": " + key, std::to_string(id) + " is outside the vocabulary (" + std::to_string(vocab) + ")");
  return static_cast<int>(id);
}
}  // namespace

LmJudge::LmJudge(const std::string& dir) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  DecoderConfig plain;  // the language model itself: no latent, no extra block, no dropout
  plain.latent_as_memory = plain.latent_as_embedding = plain.extra_first_block = false;
  plain.dropout = 0.0;
  const DecoderConfig c = hf_decoder_config(dir, plain);
  m.vocab = hf_vocab_size(dir);
  const std::string cfg = (fs::path(dir) / "config.json").string();
  const auto j = io::read_json_file(cfg);
  m.codec = load_codec(dir);
  const auto eot = m.codec->encode("<|endoftext|>");  // a special token: one id when the vocabulary has it
  m.context = eot.size() == 1 && eot[0] < m.vocab ? eot[0] : token_id(j, "bos_token_id", cfg, m.vocab);
  m.decoder = decoder_family(c.arch, dir).make(c, VocabSpec{m.vocab, {}}, 1);
  load_hf_decoder(*m.decoder, dir);  // warnings (e.g. a tied copy of the head) do not change the scores
  m.decoder->eval();
  fs::path name = fs::path(dir);
  if (name.filename().empty()) name = name.parent_path();  // "DIR/"
  m.name = name.filename().string() + " (" + c.arch + ")";
}

LmJudge::~LmJudge() = default;
LmJudge::LmJudge(LmJudge&&) noexcept = default;

const std::string& LmJudge::name() const { return impl_->name; }

Perplexity LmJudge::perplexity(const std::vector<std::string>& sentences, int batch_size) const {
  const auto& m = *impl_;
  c10::InferenceMode guard;
  std::vector<std::vector<int64_t>> seqs;
  for (const auto& s : sentences) {
    const auto ids = m.codec->encode(s);
    if (ids.empty()) continue;
    std::vector<int64_t> seq{m.context};
    for (int i : ids) {
      if (i < 0 || i >= m.vocab) throw Error(m.name, "the tokenizer gave id " + std::to_string(i) + " outside the model's vocabulary");
      seq.push_back(i);
    }
    const int64_t limit = m.decoder->config.max_positions;
    if (static_cast<int64_t>(seq.size()) > limit) seq.resize(static_cast<size_t>(limit));  // as long as the model reads
    seqs.push_back(std::move(seq));
  }
  Perplexity out;
  double total = 0.0;
  for (size_t b = 0; b < seqs.size(); b += static_cast<size_t>(std::max(1, batch_size))) {
    const size_t e = std::min(seqs.size(), b + static_cast<size_t>(std::max(1, batch_size)));
    size_t L = 0;
    for (size_t i = b; i < e; ++i) L = std::max(L, seqs[i].size());
    // Right-padded; padded targets are masked out (causal: padding never affects earlier positions).
    auto ids = torch::full({static_cast<int64_t>(e - b), static_cast<int64_t>(L)}, m.context, torch::kLong);
    auto mask = torch::zeros({static_cast<int64_t>(e - b), static_cast<int64_t>(L) - 1}, torch::kFloat);
    for (size_t i = b; i < e; ++i) {
      const int64_t n = static_cast<int64_t>(seqs[i].size());
      ids[static_cast<int64_t>(i - b)].narrow(0, 0, n).copy_(torch::tensor(seqs[i], torch::kLong));
      mask[static_cast<int64_t>(i - b)].narrow(0, 0, n - 1).fill_(1.0);
    }
    const auto logits = m.decoder->forward(ids.narrow(1, 0, static_cast<int64_t>(L) - 1), torch::zeros({ids.size(0), 1}));
    const auto logp = torch::log_softmax(logits.to(torch::kFloat), -1);
    const auto nll = -logp.gather(-1, ids.narrow(1, 1, static_cast<int64_t>(L) - 1).unsqueeze(-1)).squeeze(-1);  // (B, L-1)
    total += (nll * mask).sum().item<double>();
    out.tokens += static_cast<size_t>(mask.sum().item<double>());
  }
  out.sentences = seqs.size();
  if (out.tokens == 0) return out;
  out.nll = total / static_cast<double>(out.tokens);
  out.ppl = std::exp(out.nll);
  return out;
}

}  // namespace latent
