#include "text/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>
#include <sstream>

#include "text/sentencepiece_check.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int v);  // exported by libsentencepiece, not declared in its headers
}

namespace latent {
namespace {

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& s) : s_(s) {}
  bool done() const override { return i_ >= s_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return s_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& s_;
  size_t i_ = 0;
};

std::mutex g_train_mutex;  // SentencePiece's seed and log level are process-wide

// SentencePiece gives every character that it must cover a piece of its own and fails
// when they do not fit the vocabulary. With byte fallback, rare characters can go to
// byte pieces instead: lower the coverage (SentencePiece accepts 0.98..1) until the
// most frequent characters fit beside the 260 fixed pieces.
double character_coverage(const std::vector<std::string>& sentences, int vocab_size, bool byte_fallback) {
  if (!byte_fallback) return 1.0;
  std::unordered_map<std::string, uint64_t> freq;
  uint64_t total = 0;
  for (const auto& s : sentences) {
    for (size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (c != ' ') {
        ++freq[s.substr(i, len)];
        ++total;
      }
      i += len;
    }
  }
  const size_t room = static_cast<size_t>(std::max(0, vocab_size - 261));
  if (freq.size() <= room || total == 0) return 1.0;
  std::vector<uint64_t> counts;
  for (const auto& [ch, n] : freq) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  uint64_t kept = 0;
  for (size_t i = 0; i < room; ++i) kept += counts[i];
  const double coverage = static_cast<double>(kept) / static_cast<double>(total);
  if (coverage < 0.98) {
    size_t needed = 0;
    for (uint64_t cum = 0; static_cast<double>(cum) < 0.98 * static_cast<double>(total); ++needed) cum += counts[needed];
    throw Error("tokenizer.vocab_size", std::to_string(vocab_size) + " is too small for this corpus: " +
                                            std::to_string(needed) + " characters make up 98% of its text; use at least " +
                                            std::to_string(needed + 261));
  }
  return coverage * 0.9999;  // SentencePiece's cut is inclusive
}

}  // namespace

Tokenizer Tokenizer::train(const std::vector<std::string>& sentences, const TokenizerTrainOptions& o) {
  if (sentences.empty()) throw Error("tokenizer", "cannot train on an empty corpus");
  if (o.model_type != "unigram" && o.model_type != "bpe")
    throw Error("tokenizer.model_type", "must be \"unigram\" or \"bpe\", got \"" + o.model_type + "\"");
  const int minimum = o.byte_fallback ? 256 + 4 + 1 : 4 + 1;
  if (o.vocab_size < minimum)
    throw Error("tokenizer.vocab_size", "must be at least " + std::to_string(minimum) +
                                            (o.byte_fallback ? " (256 byte pieces + 4 special ids + 1)" : ""));
  std::ostringstream args;
  args << "--model_type=" << o.model_type << " --vocab_size=" << o.vocab_size
       << " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3"
       << " --pad_piece=<pad> --unk_piece=<unk> --bos_piece=<s> --eos_piece=</s>"
       << " --hard_vocab_limit=false --character_coverage="
       << character_coverage(sentences, o.vocab_size, o.byte_fallback)
       << " --byte_fallback=" << (o.byte_fallback ? "true" : "false")
       << " --normalization_rule_name=identity --remove_extra_whitespaces=false"
       << " --split_digits=true --max_sentence_length=16384"
       << " --num_threads=" << std::max(1, o.num_threads);
  VectorIterator it(sentences);
  std::string proto;
  sentencepiece::util::Status status;
  {
    std::lock_guard<std::mutex> lock(g_train_mutex);
    sentencepiece::logging::SetMinLogLevel(2);  // keep training chatter off stderr
    sentencepiece::SetRandomGeneratorSeed(o.seed);
    status = sentencepiece::SentencePieceTrainer::Train(args.str(), &it, &proto);
  }
  if (!status.ok()) throw Error("tokenizer training", status.ToString());
  return from_serialized(proto, "trained tokenizer");
}

std::shared_ptr<sentencepiece::SentencePieceProcessor> load_sentencepiece(const std::string& proto, const std::string& where) {
  auto sp = std::make_shared<sentencepiece::SentencePieceProcessor>();
  sentencepiece::util::Status status;
  try {
    status = sp->LoadFromSerializedProto(proto);
  } catch (const std::exception& e) {  // the trie builder (darts-clone) throws on some damaged piece tables
    std::string why = e.what();
    const size_t cut = why.find("exception: ");
    if (cut != std::string::npos) why = why.substr(cut + 11);
    throw Error(where, "not a SentencePiece model: its piece table is damaged (" + why + ")");
  }
  if (!status.ok()) throw Error(where, "not a SentencePiece model: " + status.ToString());
  check_sentencepiece_charsmaps(proto, where);
  return sp;
}

Tokenizer Tokenizer::from_serialized(const std::string& model_proto, const std::string& where) {
  Tokenizer t;
  t.sp_ = load_sentencepiece(model_proto, where);
  if (t.sp_->pad_id() != kPad || t.sp_->unk_id() != kUnk || t.sp_->bos_id() != kBos || t.sp_->eos_id() != kEos)
    throw Error(where, "special ids must be pad=0 unk=1 bos=2 eos=3, got pad=" + std::to_string(t.sp_->pad_id()) +
                           " unk=" + std::to_string(t.sp_->unk_id()) + " bos=" + std::to_string(t.sp_->bos_id()) +
                           " eos=" + std::to_string(t.sp_->eos_id()));
  t.proto_ = model_proto;
  return t;
}

Tokenizer Tokenizer::load(const std::string& path) { return from_serialized(read_file(path), path); }

void Tokenizer::save(const std::string& path) const { write_file_atomic(path, proto_); }

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) throw Error("tokenizer", "cannot encode: " + status.ToString());
  return ids;
}

std::vector<std::string> Tokenizer::pieces(const std::string& text) const {
  std::vector<std::string> out;
  const auto status = sp_->Encode(text, &out);
  if (!status.ok()) throw Error("tokenizer", "cannot encode: " + status.ToString());
  return out;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  const int n = vocab_size();
  for (int id : ids)
    if (id != kPad && id != kBos && id != kEos && id >= 0 && id < n) kept.push_back(id);
  std::string text;
  const auto status = sp_->Decode(kept, &text);
  if (!status.ok()) throw Error("tokenizer", "cannot decode: " + status.ToString());
  return text;
}

std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= vocab_size()) throw Error("tokenizer", "id " + std::to_string(id) + " out of range");
  return sp_->IdToPiece(id);
}

int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace latent
