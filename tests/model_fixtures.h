// Tiny models and a tiny tokenizer shared by the model-level tests (test_model, test_designs).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/config.h"
#include "model/vae_ddpm.h"
#include "text/tokenizer.h"

namespace latent::test {

inline const std::vector<std::string>& tinySentences() {
  static const std::vector<std::string> s = {"the cat sat on the mat", "a dog ran in the park", "the bird sang a song",
                                             "we walked to the river", "she plays the piano well"};
  return s;
}

inline Tokenizer tinyTokenizer() {
  TokenizerTrainOptions o;
  o.vocab_size = 300;
  return Tokenizer::train(tinySentences(), o);
}

// A model of config c with the vocabulary size given, seeded (the same weights each call), in eval mode.
inline VaeDdpm tinyModel(const Config& c, int vocab) {
  torch::manual_seed(7);
  VaeDdpm m(c.model, vocab);
  m->eval();
  return m;
}

inline bool hasParam(torch::nn::Module& m, const std::string& name) {
  for (const auto& p : m.named_parameters())
    if (p.key() == name) return true;
  return false;
}

}  // namespace latent::test
