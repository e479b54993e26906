// Hugging Face's SentencePiece tokenizers (their slow, Python ones, transformers 4.36), id
// for id. The folder holds spiece.model and tokenizer_config.json, whose tokenizer_class
// (else config.json's model_type) picks the flavour:
//  - ALBERT (AlbertTokenizer): before SentencePiece the text goes through preprocess_text
//    (do_lower_case, remove_space: whitespace runs collapsed and trimmed, `` and '' -> ",
//    keep_accents false: NFKD with combining marks dropped); after it, a piece ending in
//    digit + "," is split ("1,000," -> "1,000" ","). [CLS], [SEP], <pad>, <unk>, [MASK] in
//    the text are kept whole; [MASK] swallows the whitespace before it.
//  - T5 (T5Tokenizer, legacy behaviour, the default): SentencePiece as is; the eos, pad, unk
//    (and bos) tokens tokenizer_config.json names (default </s>, <pad>, <unk>, no bos), the
//    extra_ids sentinels <extra_id_N> (ids after the SentencePiece vocabulary, <extra_id_0>
//    last) and the tokens of added_tokens.json beyond both are kept whole, the sentinels
//    swallowing whitespace on both sides. Randeng-DAVAE's decoder tokenizer is one:
//    eos <|endoftext|> and bos <bos>, both added after the pieces, extra_ids 0.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace latent {

class HfSentencePiece {
 public:
  enum class Flavor { Albert, T5 };
  struct Options {
    bool lower = true, keep_accents = false, remove_space = true;  // ALBERT's preprocess_text
    int extra_ids = 100;                                           // T5's sentinels
    std::string eos = "</s>", pad = "<pad>", unk = "<unk>", bos;   // T5: special tokens ("" = none)
    std::vector<std::string> added;  // T5: added tokens, ids from pieces + extra_ids on, in order
  };
  // DIR/spiece.model and DIR/tokenizer_config.json (missing keys: the flavour's defaults).
  static HfSentencePiece load(const std::string& dir, Flavor flavor);

  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int> encode(const std::string& text) const;  // no framing
  std::string decode(const std::vector<int>& ids) const;   // special tokens dropped
  int vocab_size() const;                                  // SentencePiece's pieces + T5's sentinels and added tokens
  int id(const std::string& token) const;                  // -1 when absent
  Flavor flavor() const { return flavor_; }
  const Options& options() const { return options_; }

  // DIR/spiece.model and DIR/tokenizer_config.json (its tokenizer_class and options; T5: the
  // special token names), and T5's added tokens as DIR/added_tokens.json.
  void save(const std::string& dir) const;

  // What ALBERT's preprocess_text gives (tokenize() lowers each character before it), for tests.
  std::string preprocess(const std::string& text) const;

 private:
  struct Special {
    std::string text;
    int id;
    bool lstrip, rstrip;
  };
  std::vector<std::string> pieces_of(const std::string& segment) const;

  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string proto_;
  Flavor flavor_ = Flavor::Albert;
  Options options_;
  std::vector<Special> specials_;
  std::unordered_map<std::string, int> special_ids_;
};

}  // namespace latent
