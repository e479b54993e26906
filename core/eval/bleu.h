// BLEU exactly as nltk.translate.bleu_score computes it, on whitespace tokens.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace latent {

using Tokens = std::vector<std::string>;

struct BleuResult {
  double bleu = 0.0;                // 0..1 (multiply by 100 to report)
  std::array<long long, 4> matches{};  // clipped n-gram matches, n = 1..4
  std::array<long long, 4> totals{};   // sum over sentences of max(1, #n-grams)
  long long hyp_length = 0;
  long long ref_length = 0;         // sum of closest reference lengths
  double brevity_penalty = 0.0;
};

// nltk's corpus_bleu(list_of_references, hypotheses) with weights (0.25,)*4 and no
// smoothing: precisions pooled over the corpus, closest reference length (ties: the
// shorter), brevity penalty; 0 when there is no unigram match. A zero higher-order
// precision gives nltk's tiny non-zero value (it substitutes DBL_MIN), reproduced here.
BleuResult corpus_bleu(const std::vector<std::vector<Tokens>>& references, const std::vector<Tokens>& hypotheses);

// The same on strings split on whitespace; references[i] lists the references of hypothesis i.
BleuResult corpus_bleu(const std::vector<std::vector<std::string>>& references, const std::vector<std::string>& hypotheses);

// nltk's sentence_bleu(references, hypothesis, smoothing_function=SmoothingFunction().method1):
// zero-match precisions become 0.1 / total.
double sentence_bleu_method1(const std::vector<Tokens>& references, const Tokens& hypothesis);

// Self-BLEU of generated sentences: each against all the others, method1 smoothing,
// mean over sentences (0..1). Fewer than two sentences give 0.
double self_bleu(const std::vector<std::string>& sentences);

}  // namespace latent
