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
inline std::vector<int64_t> greedy(DecoderImpl& dec, const at::Tensor& prompt, int n) {
  KVCache cache = dec.start(torch::zeros({1, 8}), prompt.size(1) + n);
  auto logits = dec.step(cache, prompt);
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    const auto next = logits.select(1, logits.size(1) - 1).argmax(-1, /*keepdim=*/true);  // (1, 1)
    out.push_back(next.item<int64_t>());
    logits = dec.step(cache, next);
  }
  return out;
}

// The converted SmolLM2 folder (packaging/bootstrap.sh), or "" when set-up has not made it.
inline std::string smollm2Dir() {
  const std::string dir = LATENT_SMOLLM2_DIR;
  return !dir.empty() && std::filesystem::exists(dir + "/model.safetensors") ? dir : std::string();
}

}  // namespace latent::test
