// GPT-2's byte-level BPE tokenizer, behaving like transformers' GPT2Tokenizer (4.36):
// added/special tokens in the text kept whole, GPT-2's pre-tokenizer regex
// ('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+), each
// piece's UTF-8 bytes mapped to printable characters, then merges applied by rank.
// Any byte sequence is covered, so nothing is lost; decoding maps back to bytes.
// A tokenizer.json may instead isolate every digit first (SmolLM2's Sequence of
// Digits(individual_digits) and ByteLevel; llama.cpp's "smollm" pre-tokenizer); its
// added_tokens are kept whole. Other pre-tokenizers are refused by name.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace latent {

class ByteLevelBpe {
 public:
  // A Hugging Face GPT-2 folder: vocab.json + merges.txt, or tokenizer.json. Added
  // tokens listed in added_tokens.json (token -> id) or in tokenizer.json's added_tokens
  // are loaded too. Errors name the file.
  static ByteLevelBpe load(const std::string& dir);
  ByteLevelBpe(std::unordered_map<std::string, int> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
               std::string unk, const std::string& where);

  // A loaded vocabulary's "<|endoftext|>" is special, as in GPT2Tokenizer.
  // Adds tokens that are never split (DMLP adds <PAD>, <BOS>, <EOS>); new ones get the
  // next ids, as add_special_tokens followed by resize_token_embeddings.
  void add_special_tokens(const std::vector<std::string>& tokens);

  // A special token that swallows the whitespace before it in text (RoBERTa's <mask>:
  // AddedToken(lstrip=True)).
  void set_lstrip(const std::string& token);

  std::vector<std::string> tokenize(const std::string& text) const;
  std::vector<int> encode(const std::string& text) const;
  std::string decode(const std::vector<int>& ids, bool skip_special = false) const;

  int vocab_size() const { return static_cast<int>(tokens_.size()); }
  int id(const std::string& token) const;  // -1 when absent

  // DIR/vocab.json, DIR/merges.txt and DIR/added_tokens.json (tokens added after
  // loading), which load() reads back to the same tokenizer; with split digits
  // DIR/tokenizer.json instead (the only format that records them). Each file atomically.
  void save(const std::string& dir) const;

  // GPT-2's pre-tokenizer alone (UTF-8 pieces), for tests; split_digits: each digit
  // (\p{N}) its own piece first.
  static std::vector<std::string> pretokenize(const std::string& text, bool split_digits = false);
  bool split_digits() const { return split_digits_; }

 private:
  std::vector<std::string> bpe(const std::string& piece) const;
  void read_tokenizer_json_extras(const nlohmann::json& j, const std::string& path);
  void save_tokenizer_json(const std::string& dir) const;

  std::unordered_map<std::string, int> ids_;
  std::vector<std::string> tokens_;  // id -> token
  std::unordered_map<std::string, int> ranks_;  // "first second" -> rank
  std::vector<std::string> merges_;             // "first second", in file order (for save)
  std::vector<std::string> specials_;
  std::vector<std::string> lstrip_;
  std::string unk_;
  int base_size_ = 0;  // ids below this came with the vocabulary, the rest were added
  bool split_digits_ = false;
};

}  // namespace latent
