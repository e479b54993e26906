#include "eval/word_share.h"

#include <cctype>

namespace latent {

std::vector<std::string> plain_words(const std::string& sentence) {
  std::vector<std::string> out;
  size_t i = 0;
  const size_t n = sentence.size();
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  // Bytes >= 0x80 (UTF-8) are letters here: "café" keeps its "é".
  auto punct = [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; };
  while (i < n) {
    while (i < n && space(sentence[i])) ++i;
    size_t j = i;
    while (j < n && !space(sentence[j])) ++j;
    size_t a = i, b = j;
    while (a < b && punct(sentence[a])) ++a;
    while (b > a && punct(sentence[b - 1])) --b;
    if (a < b) {
      std::string w = sentence.substr(a, b - a);
      for (char& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.push_back(std::move(w));
    }
    i = j;
  }
  return out;
}

std::unordered_set<std::string> word_vocabulary(const std::vector<std::string>& corpus) {
  std::unordered_set<std::string> v;
  for (const auto& s : corpus)
    for (auto& w : plain_words(s)) v.insert(std::move(w));
  return v;
}

WordShare word_share(const std::vector<std::string>& sentences, const std::unordered_set<std::string>& vocabulary) {
  WordShare r;
  size_t known = 0, clean = 0;
  for (const auto& s : sentences) {
    const auto words = plain_words(s);
    size_t k = 0;
    for (const auto& w : words) k += vocabulary.count(w);
    known += k;
    r.n_words += words.size();
    clean += !words.empty() && k == words.size();
  }
  r.n_sentences = sentences.size();
  if (r.n_words > 0) r.words = static_cast<double>(known) / static_cast<double>(r.n_words);
  if (r.n_sentences > 0) r.sentences = static_cast<double>(clean) / static_cast<double>(r.n_sentences);
  return r;
}

}  // namespace latent
