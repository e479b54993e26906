// An LM judge of fluency, as DMLP's ppl_eval scores generations under GPT-2: the perplexity
// of sentences under any imported causal language model (a Hugging Face GPT-2 or Llama-family
// folder: config.json, model.safetensors and its tokenizer). Each sentence's text tokens are
// predicted after one context token: <|endoftext|> where the vocabulary has it (GPT-2's and
// SmolLM2's document separator), else config.json's bos_token_id; the end is not scored
// (WordNet's examples have no final punctuation, and an instruct model's <|im_start|> or
// end-of-turn token would dominate the figure: SmolLM2 on 100 test sentences gives 310 this
// way, 669 when <|endoftext|> must also be predicted, 1307 framed <|im_start|> ... <|im_end|>).
// perplexity = exp(total negative log-likelihood / predicted tokens).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace latent {

struct Perplexity {
  double ppl = 0.0;       // exp(mean NLL per predicted token)
  double nll = 0.0;       // mean NLL per predicted token (nats)
  size_t tokens = 0;      // predicted tokens
  size_t sentences = 0;   // scored (empty ones are skipped)
};

class LmJudge {
 public:
  // Errors name the folder and what is wrong (not a causal LM family, missing files...).
  explicit LmJudge(const std::string& dir);
  ~LmJudge();
  LmJudge(LmJudge&&) noexcept;
  Perplexity perplexity(const std::vector<std::string>& sentences, int batch_size = 16) const;
  const std::string& name() const;  // "smollm2-135m-instruct (llama)"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace latent
