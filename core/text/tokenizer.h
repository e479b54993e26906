// SentencePiece tokenizer (unigram or BPE), trained in memory from a corpus and saved
// with the model as tokenizer.model. Fixed special ids: pad 0, unk 1, bos 2, eos 3.
// Byte fallback and identity normalisation make every UTF-8 string round-trip
// (CJK, emoji, accents), including characters never seen in training.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace latent {

struct TokenizerTrainOptions {
  std::string model_type = "unigram";  // "unigram" or "bpe"
  int vocab_size = 8000;               // an upper bound: small corpora yield fewer pieces
  bool byte_fallback = true;           // unknown characters become byte pieces, not <unk>
  int num_threads = 2;
  unsigned seed = 1234;                // SentencePiece's sampling seed (training is deterministic)
};

// Parses a SentencePiece model proto; any damage (including what the library's trie
// builder throws) is a latent::Error naming `where`.
std::shared_ptr<sentencepiece::SentencePieceProcessor> load_sentencepiece(const std::string& proto, const std::string& where);

class Tokenizer {
 public:
  static constexpr int kPad = 0;
  static constexpr int kUnk = 1;
  static constexpr int kBos = 2;
  static constexpr int kEos = 3;

  // Throws latent::Error when the sentences are empty or SentencePiece refuses them.
  static Tokenizer train(const std::vector<std::string>& sentences, const TokenizerTrainOptions& options);
  // where: the file the bytes came from, for error messages.
  static Tokenizer from_serialized(const std::string& model_proto, const std::string& where);
  static Tokenizer load(const std::string& path);

  void save(const std::string& path) const;  // atomic
  const std::string& serialized() const { return proto_; }

  std::vector<int> encode(const std::string& text) const;
  std::vector<std::string> pieces(const std::string& text) const;
  // Special ids (pad, bos, eos) are dropped; decoding stops at nothing.
  std::string decode(const std::vector<int>& ids) const;
  std::string piece(int id) const;
  int vocab_size() const;

 private:
  Tokenizer() = default;
  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string proto_;
};

}  // namespace latent
