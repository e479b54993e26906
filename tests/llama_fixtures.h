// What test_llama and test_decode_weights share: the transformers fixtures as tensors, a
// Hugging Face Llama-family folder loaded as a decoder, greedy decoding through the KV cache,
// and set-up's converted SmolLM2 (the targets define LATENT_SMOLLM2_DIR).
#pragma once

#include <torch/torch.h>

#include <QtGlobal>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "util/error.h"

namespace latent::test {

inline std::map<std::string, at::Tensor> expected(const std::string& file) {
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : io::load(file)) m.emplace(k, v);
  return m;
}

inline double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A Hugging Face Llama-family folder as a plain decoder (no latent, no extra block) or with
// the latent as a memory slot only.
inline Decoder loadDecoder(const std::string& dir, bool memory, int lora_rank = 0, const std::string& weights = "float32") {
  DecoderConfig base;
  base.arch = "llama";  // from GPT-2, switching family would take the llama defaults (no adapters)
  base.lora_rank = lora_rank;
  base.cpu_decode_weights = weights;
  base.latent_as_memory = memory;
  base.latent_as_embedding = base.extra_first_block = false;
  base.dropout = 0.0;
  const DecoderConfig c = hf_decoder_config(dir, base);
  Decoder dec = decoder_family(c.arch, dir).make(c, VocabSpec{hf_vocab_size(dir), {}}, 8);
  const auto warnings = load_hf_decoder(*dec, dir);
  for (const auto& w : warnings) qWarning("%s", w.c_str());
  if (!warnings.empty()) throw Error(dir, "unexpected warnings");
  dec->eval();
  return dec;
}

// Greedy ids after `prompt` (1, P), fed one token at a time after the prompt through the cache.
// margins, when given, receives each step's gap between the best and the second-best logit.
inline std::vector<int64_t> greedy(DecoderImpl& dec, const at::Tensor& prompt, int n, std::vector<double>* margins = nullptr) {
  KVCache cache = dec.start(torch::zeros({1, 8}), prompt.size(1) + n);
  auto logits = dec.step(cache, prompt);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    const auto last = logits.select(1, logits.size(1) - 1);  // (1, V)
    const auto next = last.argmax(-1, /*keepdim=*/true);      // (1, 1)
    if (margins) {
      const auto top2 = std::get<0>(last.topk(2, -1));
      margins->push_back((top2[0][0] - top2[0][1]).item<double>());
    }
    out.push_back(next.item<int64_t>());
    logits = dec.step(cache, next);
  }
  return out;
}

// Compares a greedy continuation with transformers' where a CPU's kernels cannot decide it:
// up to the first step whose top-2 gap is below `tie` (a near-tie may go either way on other
// kernels: the logits are only known to agree to about 1e-3), after which both sequences are
// conditioned on a coin toss. Returns the number of tokens compared; fails on any difference
// before that.
inline int compareGreedyUpToTie(const std::vector<int64_t>& got, const std::vector<double>& margins,
                                const std::vector<int64_t>& want, double tie, std::string* why) {
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i) {
    if (got[i] != want[i]) {
      *why = "token " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs " + std::to_string(want[i]) +
             " (top-2 gap " + std::to_string(margins[i]) + ")";
      return -1;
    }
    if (margins[i] < tie) return static_cast<int>(i) + 1;
  }
  return static_cast<int>(n);
}

// The converted SmolLM2 folder (packaging/bootstrap.sh), or "" when set-up has not made it.
inline std::string smollm2Dir() {
  const std::string dir = LATENT_SMOLLM2_DIR;
  return !dir.empty() && std::filesystem::exists(dir + "/model.safetensors") ? dir : std::string();
}

}  // namespace latent::test
