// Are generated sentences made of real words? The share of their words that occur in the
// training corpus, and the share of sentences made only of such words (issue 12's targets;
// invented words like "superriunded" are what a weak decoder writes).
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

namespace latent {

// A sentence's words as counted here: split at whitespace, lowercased (ASCII), leading and
// trailing punctuation removed (inner apostrophes and hyphens stay: "president's",
// "well-known"); tokens left empty (a lone "," or "--") are not words.
std::vector<std::string> plain_words(const std::string& sentence);

// The plain words of a corpus.
std::unordered_set<std::string> word_vocabulary(const std::vector<std::string>& corpus);

struct WordShare {
  double words = 0;      // share of all words found in the vocabulary
  double sentences = 0;  // share of sentences whose every word is found (a sentence without words: not)
  size_t n_words = 0;
  size_t n_sentences = 0;
};
WordShare word_share(const std::vector<std::string>& sentences, const std::unordered_set<std::string>& vocabulary);

}  // namespace latent
