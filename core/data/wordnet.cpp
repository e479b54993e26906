#include "data/wordnet.h"

#include <unordered_set>

#include "util/utf8.h"

namespace latent {

std::vector<std::string> wordnet_examples(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line.size() < 2 || line[0] == ' ') continue;  // license header
    const size_t bar = line.find(" | ");
    if (bar == std::string_view::npos) continue;
    const std::string_view gloss = line.substr(bar + 3);
    size_t q = gloss.find('"');
    while (q != std::string_view::npos) {
      const size_t close = gloss.find('"', q + 1);
      if (close == std::string_view::npos) break;
      std::string example = utf8::normalize_whitespace(gloss.substr(q + 1, close - q - 1));
      if (!example.empty()) out.push_back(std::move(example));
      q = gloss.find('"', close + 1);
    }
  }
  return out;
}

CorpusSplit split_corpus(const std::vector<std::string>& sentences) {
  CorpusSplit split;
  std::unordered_set<std::string> seen;
  for (const auto& raw : sentences) {
    std::string s = utf8::normalize_whitespace(raw);
    if (s.empty() || !utf8::is_valid(s) || !seen.insert(s).second) continue;
    const uint64_t bucket = utf8::fnv1a64(s) % 47;
    (bucket == 0 ? split.valid : bucket == 1 ? split.test : split.train).push_back(std::move(s));
  }
  return split;
}

}  // namespace latent
