// Hugging Face's SentencePiece tokenizers (their slow, Python ones): ALBERT's
// AlbertTokenizer (transformers 4.36), id for id. The folder holds spiece.model and
// tokenizer_config.json (do_lower_case, keep_accents, remove_space). Before SentencePiece
// the text goes through ALBERT's preprocess_text: lower-casing, whitespace runs collapsed
// and trimmed, `` and '' -> ", accents removed (NFKD, combining marks dropped);
// after it, a piece ending in digit + "," is split as AlbertTokenizer does ("1,000," ->
// "1,000" ","). Special tokens in the text ([CLS], [SEP], <pad>, <unk>, [MASK]) are kept
// whole; [MASK] swallows the whitespace before it.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace latent {

class HfSentencePiece {
 public:
  struct Options {
    bool lower = true, keep_accents = false, remove_space = true;
  };
  // DIR/spiece.model and DIR/tokenizer_config.json (missing keys: ALBERT's defaults).
  static HfSentencePiece load(const std::string& dir);

  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int> encode(const std::string& text) const;  // no framing
  std::string decode(const std::vector<int>& ids) const;   // special tokens dropped
  int vocab_size() const;
  int id(const std::string& piece) const;  // -1 when absent
  const Options& options() const { return options_; }

  // DIR/spiece.model and DIR/tokenizer_config.json ("tokenizer_class": "AlbertTokenizer").
  void save(const std::string& dir) const;

  // What ALBERT's preprocess_text gives (tokenize() lowers each character before it), for tests.
  std::string preprocess(const std::string& text) const;

 private:
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string proto_;
  Options options_;
  std::vector<std::string> specials_;
};

}  // namespace latent
