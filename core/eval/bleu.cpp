#include "eval/bleu.h"

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "util/utf8.h"

namespace latent {
namespace {

using NGramCounts = std::map<std::vector<std::string>, long long>;

NGramCounts count_ngrams(const Tokens& tokens, size_t n) {
  NGramCounts counts;
  if (tokens.size() < n) return counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i)
    ++counts[std::vector<std::string>(tokens.begin() + static_cast<long>(i), tokens.begin() + static_cast<long>(i + n))];
  return counts;
}

// nltk's modified_precision: (clipped matches, max(1, number of hypothesis n-grams)).
std::pair<long long, long long> modified_precision(const std::vector<Tokens>& refs, const Tokens& hyp, size_t n) {
  const NGramCounts counts = count_ngrams(hyp, n);
  NGramCounts max_ref;
  for (const auto& ref : refs)
    for (const auto& [gram, c] : count_ngrams(ref, n)) {
      auto& m = max_ref[gram];
      if (c > m) m = c;
    }
  long long numerator = 0, total = 0;
  for (const auto& [gram, c] : counts) {
    total += c;
    const auto it = max_ref.find(gram);
    if (it != max_ref.end()) numerator += std::min(c, it->second);
  }
  return {numerator, std::max<long long>(1, total)};
}

// nltk's closest_ref_length: min over refs of (|len - hyp_len|, len).
long long closest_ref_length(const std::vector<Tokens>& refs, long long hyp_len) {
  long long best = -1, best_diff = 0;
  for (const auto& r : refs) {
    const long long len = static_cast<long long>(r.size());
    const long long diff = std::llabs(len - hyp_len);
    if (best < 0 || diff < best_diff || (diff == best_diff && len < best)) {
      best = len;
      best_diff = diff;
    }
  }
  return best < 0 ? 0 : best;
}

BleuResult bleu_from_counts(const std::vector<std::vector<Tokens>>& references, const std::vector<Tokens>& hypotheses,
                            bool method1) {
  if (references.size() != hypotheses.size())
    throw std::invalid_argument("BLEU: " + std::to_string(references.size()) + " reference sets for " +
                                std::to_string(hypotheses.size()) + " hypotheses");
  BleuResult r;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    for (size_t n = 1; n <= 4; ++n) {
      const auto [num, den] = modified_precision(references[i], hypotheses[i], n);
      r.matches[n - 1] += num;
      r.totals[n - 1] += den;
    }
    const long long hyp_len = static_cast<long long>(hypotheses[i].size());
    r.hyp_length += hyp_len;
    r.ref_length += closest_ref_length(references[i], hyp_len);
  }
  if (r.hyp_length > r.ref_length) r.brevity_penalty = 1.0;
  else if (r.hyp_length == 0) r.brevity_penalty = 0.0;
  else r.brevity_penalty = std::exp(1.0 - static_cast<double>(r.ref_length) / static_cast<double>(r.hyp_length));

  if (r.matches[0] == 0) return r;  // nltk returns 0 without smoothing
  double log_sum = 0.0;
  for (size_t k = 0; k < 4; ++k) {
    double p;
    if (r.matches[k] > 0) p = static_cast<double>(r.matches[k]) / static_cast<double>(r.totals[k]);
    else if (method1) p = 0.1 / static_cast<double>(r.totals[k]);
    else p = DBL_MIN;  // nltk's method0 substitutes sys.float_info.min
    log_sum += 0.25 * std::log(p);
  }
  r.bleu = r.brevity_penalty * std::exp(log_sum);
  return r;
}

}  // namespace

BleuResult corpus_bleu(const std::vector<std::vector<Tokens>>& references, const std::vector<Tokens>& hypotheses) {
  return bleu_from_counts(references, hypotheses, /*method1=*/false);
}

BleuResult corpus_bleu(const std::vector<std::vector<std::string>>& references, const std::vector<std::string>& hypotheses) {
  std::vector<std::vector<Tokens>> refs;
  refs.reserve(references.size());
  for (const auto& set : references) {
    std::vector<Tokens> toks;
    for (const auto& s : set) toks.push_back(utf8::split_whitespace(s));
    refs.push_back(std::move(toks));
  }
  std::vector<Tokens> hyps;
  hyps.reserve(hypotheses.size());
  for (const auto& h : hypotheses) hyps.push_back(utf8::split_whitespace(h));
  return corpus_bleu(refs, hyps);
}

double sentence_bleu_method1(const std::vector<Tokens>& references, const Tokens& hypothesis) {
  return bleu_from_counts({references}, {hypothesis}, /*method1=*/true).bleu;
}

double self_bleu(const std::vector<std::string>& sentences) {
  if (sentences.size() < 2) return 0.0;
  std::vector<Tokens> toks;
  toks.reserve(sentences.size());
  for (const auto& s : sentences) toks.push_back(utf8::split_whitespace(s));
  double sum = 0.0;
  for (size_t i = 0; i < toks.size(); ++i) {
    std::vector<Tokens> others;
    others.reserve(toks.size() - 1);
    for (size_t j = 0; j < toks.size(); ++j)
      if (j != i) others.push_back(toks[j]);
    sum += sentence_bleu_method1(others, toks[i]);
  }
  return sum / static_cast<double>(toks.size());
}

}  // namespace latent
