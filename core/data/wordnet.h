// The default corpus: the quoted example sentences of WordNet's data files
// (Debian's wordnet-base, /usr/share/wordnet/data.{noun,verb,adj,adv}).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace latent {

// The quoted examples in the gloss of each synset line of one data file's text
// (license header lines, which start with two spaces, are ignored).
std::vector<std::string> wordnet_examples(const std::string& data_file_text);

struct CorpusSplit {
  std::vector<std::string> train, valid, test;
};

// Strips, normalises whitespace, deduplicates (first occurrence wins) and splits by a
// hash of each sentence: hash % 47 == 0 -> valid, == 1 -> test, else train (~45k/1k/1k
// for WordNet). The split of a sentence never depends on the others.
CorpusSplit split_corpus(const std::vector<std::string>& sentences);

}  // namespace latent
