// BERT's WordPiece tokenizer, behaving like transformers' BertTokenizer (4.36) on a
// Hugging Face folder: special tokens in the text kept whole, lower-casing (Python's
// str.lower) and accent stripping as tokenizer_config.json says, control characters
// dropped, CJK ideographs split, NFC, punctuation split, then greedy longest-match
// WordPiece with "##" continuations and [UNK] for words it cannot cover or longer than
// 100 characters.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

namespace latent {

struct WordPieceOptions {
  bool lower_case = true;         // do_lower_case
  int strip_accents = -1;         // -1: unset (follows lower_case), 0: false, 1: true
  bool chinese_chars = true;      // tokenize_chinese_chars
  std::string unk = "[UNK]", cls = "[CLS]", sep = "[SEP]", pad = "[PAD]", mask = "[MASK]";
  int max_chars_per_word = 100;
};

class WordPieceTokenizer {
 public:
  // DIR/vocab.txt (one token per line, id = line number) and, when present,
  // DIR/tokenizer_config.json. Errors name the file.
  static WordPieceTokenizer load(const std::string& dir);
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options, const std::string& where);

  // The same vocabulary with other options (e.g. cased).
  WordPieceTokenizer with_options(WordPieceOptions options) const {
    WordPieceTokenizer t = *this;
    t.opt_ = std::move(options);
    return t;
  }

  std::vector<std::string> tokenize(const std::string& text) const;
  // [CLS] tokens [SEP] (add_special) as ids.
  std::vector<int> encode(const std::string& text, bool add_special = true) const;
  // Tokens joined with spaces, "##" continuations glued, special tokens dropped.
  std::string decode(const std::vector<int>& ids) const;

  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  int id(const std::string& token) const;  // the [UNK] id when absent
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }
  int pad_id() const { return id(opt_.pad); }
  int cls_id() const { return id(opt_.cls); }
  int sep_id() const { return id(opt_.sep); }
  int unk_id() const { return id(opt_.unk); }
  const WordPieceOptions& options() const { return opt_; }

  // DIR/vocab.txt and DIR/tokenizer_config.json (the options), which load() reads back
  // to the same tokenizer. Each file atomically.
  void save(const std::string& dir) const;

 private:
  std::vector<std::string> basic_tokens(const std::u32string& text) const;
  void wordpiece(const std::string& word, std::vector<std::string>& out) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, int> ids_;
  WordPieceOptions opt_;
};

}  // namespace latent
