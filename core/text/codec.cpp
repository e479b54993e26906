#include "text/codec.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "text/bpe.h"
#include "text/hf_sentencepiece.h"
#include "text/tokenizer.h"
#include "text/wordpiece.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;
namespace {

std::string trim(std::string s) {
  const size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

void make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
}

class SentencePieceCodec final : public TextCodec {
 public:
  explicit SentencePieceCodec(Tokenizer t) : t_(std::move(t)) {}
  std::string kind() const override { return "sentencepiece"; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(text); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.pieces(text); }
  std::string decode(const std::vector<int>& ids) const override { return t_.decode(ids); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return {Tokenizer::kPad, Tokenizer::kUnk, Tokenizer::kBos, Tokenizer::kEos}; }
  void save(const std::string& dir) const override {
    make_dir(dir);
    t_.save((fs::path(dir) / tokenizer_files::kShared).string());
  }
  const Tokenizer& tokenizer() const { return t_; }

 private:
  Tokenizer t_;
};

class WordPieceCodec final : public TextCodec {
 public:
  explicit WordPieceCodec(WordPieceTokenizer t) : t_(std::move(t)) {}
  std::string kind() const override { return "wordpiece"; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(text, /*add_special=*/false); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.tokenize(text); }
  std::string decode(const std::vector<int>& ids) const override { return t_.decode(ids); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return {t_.pad_id(), t_.unk_id(), t_.cls_id(), t_.sep_id()}; }
  void save(const std::string& dir) const override { t_.save(dir); }

 private:
  WordPieceTokenizer t_;
};

// add_prefix_space: GPT2Tokenizer's option (Optimus's tokenizer always does it): a space
// before the text, so its first word is tokenized as after a space.
class Gpt2Codec final : public TextCodec {
 public:
  Gpt2Codec(ByteLevelBpe t, bool add_prefix_space) : t_(std::move(t)), prefix_(add_prefix_space) {
    t_.add_special_tokens({"<PAD>", "<BOS>", "<EOS>"});  // DMLP's, appended as resize_token_embeddings does
    ids_ = {t_.id("<PAD>"), t_.id("<|endoftext|>"), t_.id("<BOS>"), t_.id("<EOS>")};
    if (ids_.unk < 0) ids_.unk = ids_.pad;  // a vocabulary without GPT-2's end-of-text token
  }
  std::string kind() const override { return "gpt2-bpe"; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(prefix_ ? " " + text : text); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.tokenize(prefix_ ? " " + text : text); }
  std::string decode(const std::vector<int>& ids) const override { return trim(t_.decode(ids, /*skip_special=*/true)); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return ids_; }
  void save(const std::string& dir) const override {
    t_.save(dir);
    const std::string cfg = (fs::path(dir) / "tokenizer_config.json").string();
    std::error_code ec;
    if (prefix_)
      write_file_atomic(cfg, nlohmann::json{{"tokenizer_class", "GPT2Tokenizer"}, {"add_prefix_space", true}}.dump(1) + "\n");
    else if (present(cfg) && !fs::remove(cfg, ec))  // saving over a folder that had one
      throw Error(cfg, "cannot remove the previous tokenizer configuration: " + ec.message());
  }
  bool add_prefix_space() const { return prefix_; }
  const ByteLevelBpe& bpe() const { return t_; }

 private:
  ByteLevelBpe t_;
  bool prefix_;
  SpecialIds ids_;
};

// A byte-level BPE framed by special tokens of its vocabulary: RoBERTa's (<s> text </s>,
// padded with <pad>) and DeBERTa v1's ([CLS] text [SEP], padded with [PAD]). The special
// tokens are kept whole in text; the mask token strips the space before it (lstrip), as
// both transformers tokenizers declare it.
struct BpeFraming {
  const char* kind;             // "roberta-bpe"
  const char* tokenizer_class;  // written to tokenizer_config.json: what load_codec reads back
  const char *bos, *eos, *pad, *unk, *mask;
  const char* family;           // "RoBERTa", for errors
};
constexpr BpeFraming kRobertaFraming{"roberta-bpe", "RobertaTokenizer", "<s>", "</s>", "<pad>", "<unk>", "<mask>", "RoBERTa"};
constexpr BpeFraming kDebertaFraming{"deberta-bpe", "DebertaTokenizer", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "DeBERTa"};

class FramedBpeCodec final : public TextCodec {
 public:
  FramedBpeCodec(ByteLevelBpe t, const BpeFraming& f, const std::string& where) : t_(std::move(t)), f_(f) {
    for (const char* tok : {f.bos, f.eos, f.pad, f.unk})
      if (t_.id(tok) < 0)
        throw Error(where, std::string("the vocabulary has no ") + tok + " token, which " + f.family + "'s framing needs");
    t_.add_special_tokens({f.bos, f.eos, f.unk, f.pad});
    if (t_.id(f.mask) >= 0) {
      t_.add_special_tokens({f.mask});
      t_.set_lstrip(f.mask);
    }
    ids_ = {t_.id(f.pad), t_.id(f.unk), t_.id(f.bos), t_.id(f.eos)};
  }
  std::string kind() const override { return f_.kind; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(text); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.tokenize(text); }
  std::string decode(const std::vector<int>& ids) const override { return trim(t_.decode(ids, /*skip_special=*/true)); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return ids_; }
  void save(const std::string& dir) const override {
    t_.save(dir);
    // What tells load_codec whose vocab.json + merges.txt this is.
    write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(),
                      nlohmann::json{{"tokenizer_class", f_.tokenizer_class}}.dump(1) + "\n");
  }

 private:
  ByteLevelBpe t_;
  BpeFraming f_;
  SpecialIds ids_;
};

// A byte-level BPE with its own special tokens (SmolLM2, Llama 3, Qwen2 folders): bos text eos,
// the tokens named by tokenizer_config.json. The padding must differ from eos (the loss
// ignores padding): pad_token if it does, else unk_token, else <|endoftext|>, else an added
// <pad>; saved back as pad_token, so a reload takes the same. No bos_token (Qwen2): eos
// opens sentences too.
struct LlamaSpecialNames {
  std::string bos, eos, pad, unk;
};

class LlamaCodec final : public TextCodec {
 public:
  LlamaCodec(ByteLevelBpe t, LlamaSpecialNames names, const std::string& where) : t_(std::move(t)), names_(std::move(names)) {
    if (names_.eos.empty() || t_.id(names_.eos) < 0)
      throw Error(where + ": eos_token", "missing or not in the vocabulary (\"" + names_.eos + "\"): sentences need an end");
    if (names_.bos.empty() || t_.id(names_.bos) < 0) names_.bos = names_.eos;
    auto usable = [&](const std::string& tok) { return !tok.empty() && t_.id(tok) >= 0 && tok != names_.eos && tok != names_.bos; };
    if (!usable(names_.pad)) names_.pad = usable(names_.unk) ? names_.unk : usable("<|endoftext|>") ? "<|endoftext|>" : "<pad>";
    t_.add_special_tokens({names_.bos, names_.eos, names_.pad});  // <pad> grows the vocabulary when it is new
    if (names_.unk.empty() || t_.id(names_.unk) < 0) names_.unk = names_.pad;
    ids_ = {t_.id(names_.pad), t_.id(names_.unk), t_.id(names_.bos), t_.id(names_.eos)};
  }
  std::string kind() const override { return "llama-bpe"; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(text); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.tokenize(text); }
  std::string decode(const std::vector<int>& ids) const override { return trim(t_.decode(ids, /*skip_special=*/true)); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return ids_; }
  void save(const std::string& dir) const override {
    t_.save(dir);
    write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(),
                      nlohmann::json{{"tokenizer_class", "PreTrainedTokenizerFast"}, {"bos_token", names_.bos},
                                     {"eos_token", names_.eos}, {"pad_token", names_.pad}, {"unk_token", names_.unk}}
                              .dump(1) + "\n");
  }

 private:
  ByteLevelBpe t_;
  LlamaSpecialNames names_;
  SpecialIds ids_;
};

// Hugging Face SentencePiece: ALBERT's ([CLS] text [SEP], padded with <pad>, ALBERT's
// preprocessing) or T5's (text </s>, no BOS, padded with <pad>; the names its
// tokenizer_config.json gives, e.g. Randeng-DAVAE's <bos> text <|endoftext|>).
class HfSpmCodec final : public TextCodec {
 public:
  explicit HfSpmCodec(HfSentencePiece t) : t_(std::move(t)) {
    const HfSentencePiece::Options& o = t_.options();
    if (t_.flavor() == HfSentencePiece::Flavor::Albert) ids_ = {t_.id("<pad>"), t_.id("<unk>"), t_.id("[CLS]"), t_.id("[SEP]")};
    else ids_ = {t_.id(o.pad), t_.id(o.unk), o.bos.empty() ? -1 : t_.id(o.bos), t_.id(o.eos)};
  }
  std::string kind() const override { return t_.flavor() == HfSentencePiece::Flavor::Albert ? "albert-spm" : "t5-spm"; }
  std::vector<int> encode(const std::string& text) const override { return t_.encode(text); }
  std::vector<std::string> pieces(const std::string& text) const override { return t_.tokenize(text); }
  std::string decode(const std::vector<int>& ids) const override { return trim(t_.decode(ids)); }
  int vocab_size() const override { return t_.vocab_size(); }
  SpecialIds specials() const override { return ids_; }
  void save(const std::string& dir) const override { t_.save(dir); }

 private:
  HfSentencePiece t_;
  SpecialIds ids_;
};

}  // namespace

std::string TextCodec::describe() const { return kind() + ", " + std::to_string(vocab_size()) + " tokens"; }

CodecPtr sentencepiece_codec(Tokenizer tokenizer) { return std::make_shared<SentencePieceCodec>(std::move(tokenizer)); }
CodecPtr wordpiece_codec(WordPieceTokenizer tokenizer, const std::string& where) {
  const WordPieceOptions& o = tokenizer.options();
  for (const std::string* tok : {&o.pad, &o.cls, &o.sep})
    if (!tokenizer.contains(*tok))
      throw Error(where, "the vocabulary has no " + *tok + " token, which the encoder needs (padding and framing)");
  return std::make_shared<WordPieceCodec>(std::move(tokenizer));
}
CodecPtr gpt2_codec(ByteLevelBpe tokenizer, bool add_prefix_space) {
  return std::make_shared<Gpt2Codec>(std::move(tokenizer), add_prefix_space);
}
CodecPtr gpt2_with_prefix_space(const CodecPtr& codec, const std::string& where) {
  const auto* g = dynamic_cast<const Gpt2Codec*>(codec.get());
  if (!g) throw Error(where, "a prefix space applies to GPT-2's tokenizer, not to a " + codec->kind() + " one");
  return g->add_prefix_space() ? codec : gpt2_codec(g->bpe(), true);
}
CodecPtr hf_spm_codec(HfSentencePiece tokenizer) { return std::make_shared<HfSpmCodec>(std::move(tokenizer)); }
CodecPtr roberta_codec(ByteLevelBpe tokenizer, const std::string& where) {
  return std::make_shared<FramedBpeCodec>(std::move(tokenizer), kRobertaFraming, where);
}
CodecPtr deberta_codec(ByteLevelBpe tokenizer, const std::string& where) {
  return std::make_shared<FramedBpeCodec>(std::move(tokenizer), kDebertaFraming, where);
}

namespace {
enum class FolderKind { None, SentencePiece, WordPiece, Gpt2, Roberta, Deberta, Albert, T5, Llama };

// tokenizer_config.json's special tokens: "<s>" or {"content": "<s>", ...}; "" when absent.
LlamaSpecialNames special_names(const fs::path& dir) {
  const fs::path file = dir / "tokenizer_config.json";
  LlamaSpecialNames n;
  if (!present(file)) return n;
  const auto j = nlohmann::json::parse(read_file(file.string()), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(file.string(), "not a JSON object");
  auto name = [&](const char* key) -> std::string {
    if (!j.contains(key) || j[key].is_null()) return {};
    const auto& v = j[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    throw Error(file.string() + ": " + key, "must be a token string, got " + v.dump());
  };
  return {name("bos_token"), name("eos_token"), name("pad_token"), name("unk_token")};
}

// The tokenizer class a Hugging Face folder names: tokenizer_config.json's
// tokenizer_class, else config.json's model_type ("" when neither says).
std::string bpe_class(const fs::path& p) {
  for (const auto& [file, key] : {std::pair{"tokenizer_config.json", "tokenizer_class"}, std::pair{"config.json", "model_type"}}) {
    if (!present(p / file)) continue;
    const auto j = nlohmann::json::parse(read_file((p / file).string()), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Error((p / file).string(), "not a JSON object");
    if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  }
  return {};
}

// A boolean of tokenizer_config.json (false when the file or the key is absent).
bool bpe_flag(const fs::path& p, const char* key) {
  const fs::path file = p / "tokenizer_config.json";
  if (!present(file)) return false;
  const auto j = nlohmann::json::parse(read_file(file.string()), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(file.string(), "not a JSON object");
  if (!j.contains(key)) return false;
  if (!j[key].is_boolean()) throw Error(file.string() + ": " + key, "must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

FolderKind folder_kind(const fs::path& p) {
  if (present(p / tokenizer_files::kShared)) return FolderKind::SentencePiece;
  if (present(p / "spiece.model")) {
    const std::string c = bpe_class(p);
    if (c == "AlbertTokenizer" || c == "AlbertTokenizerFast" || c == "albert") return FolderKind::Albert;
    if (c == "T5Tokenizer" || c == "T5TokenizerFast" || c == "t5") return FolderKind::T5;
    throw Error((p / "spiece.model").string(), "a SentencePiece tokenizer of class \"" + c +
                                                   "\": only ALBERT's (AlbertTokenizer) and T5's (T5Tokenizer) are supported");
  }
  if (present(p / "vocab.txt")) return FolderKind::WordPiece;
  if ((present(p / "vocab.json") && present(p / "merges.txt")) || present(p / "tokenizer.json")) {
    const std::string c = bpe_class(p);
    if (c == "RobertaTokenizer" || c == "RobertaTokenizerFast" || c == "roberta") return FolderKind::Roberta;
    if (c == "DebertaTokenizer" || c == "DebertaTokenizerFast" || c == "deberta") return FolderKind::Deberta;
    for (const char* llama : {"PreTrainedTokenizerFast", "LlamaTokenizerFast", "Qwen2Tokenizer", "Qwen2TokenizerFast", "llama", "qwen2"})
      if (c == llama) return FolderKind::Llama;
    return FolderKind::Gpt2;
  }
  return FolderKind::None;
}
}  // namespace

bool is_tokenizer_folder(const std::string& dir) { return folder_kind(dir) != FolderKind::None; }

static CodecPtr load_codec_files(const std::string& path) {
  const fs::path p(path);
  if (p.filename() == tokenizer_files::kShared) return sentencepiece_codec(Tokenizer::load(path));
  if (!present(p)) throw Error(path, "tokenizer folder not found");
  switch (folder_kind(p)) {
    case FolderKind::SentencePiece: return sentencepiece_codec(Tokenizer::load((p / tokenizer_files::kShared).string()));
    case FolderKind::WordPiece: return wordpiece_codec(WordPieceTokenizer::load(path), (p / "vocab.txt").string());
    case FolderKind::Gpt2: return gpt2_codec(ByteLevelBpe::load(path), bpe_flag(p, "add_prefix_space"));
    case FolderKind::Roberta: return roberta_codec(ByteLevelBpe::load(path), (p / "vocab.json").string());
    case FolderKind::Deberta: return deberta_codec(ByteLevelBpe::load(path), (p / "vocab.json").string());
    case FolderKind::Albert: return hf_spm_codec(HfSentencePiece::load(path, HfSentencePiece::Flavor::Albert));
    case FolderKind::T5: return hf_spm_codec(HfSentencePiece::load(path, HfSentencePiece::Flavor::T5));
    case FolderKind::Llama:
      return std::make_shared<LlamaCodec>(ByteLevelBpe::load(path), special_names(p), (p / "tokenizer_config.json").string());
    case FolderKind::None: break;
  }
  throw Error(path, "no tokenizer here: expected tokenizer.model (SentencePiece), vocab.txt (BERT WordPiece), "
                    "spiece.model (ALBERT, T5), or vocab.json + merges.txt / tokenizer.json (GPT-2, RoBERTa, DeBERTa or Llama-family byte-level BPE)");
}

CodecPtr load_codec(const std::string& path) {
  return reading(path, [&] { return load_codec_files(path); });
}

Tokenizers::Tokenizers(Tokenizer shared) : encoder(sentencepiece_codec(std::move(shared))), decoder(encoder) {}

std::string Tokenizers::describe() const {
  return shared() ? encoder->describe() : "encoder " + encoder->describe() + "; decoder " + decoder->describe();
}

namespace {
void remove_path(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw Error(p.string(), "cannot remove the previous tokenizer: " + ec.message());
}
}  // namespace

void save_tokenizers(const std::string& model_dir, const Tokenizers& t) {
  if (!t.encoder || !t.decoder) throw Error(model_dir, "internal: a model without tokenizers");
  const fs::path d(model_dir);
  // Saving over another model: the other layout, or another kind's files, must not remain
  // (load_tokenizers would read them instead of these).
  if (t.shared() && t.encoder->kind() == "sentencepiece") {
    remove_path(d / tokenizer_files::kEncoderDir);
    remove_path(d / tokenizer_files::kDecoderDir);
    t.encoder->save(model_dir);
    return;
  }
  remove_path(d / tokenizer_files::kShared);
  for (const auto& [sub, codec] : {std::pair{tokenizer_files::kEncoderDir, t.encoder}, std::pair{tokenizer_files::kDecoderDir, t.decoder}}) {
    remove_path(d / sub);
    codec->save((d / sub).string());
  }
}

bool has_tokenizers(const std::string& model_dir) {
  const fs::path d(model_dir);
  return present(d / tokenizer_files::kShared) || (present(d / tokenizer_files::kEncoderDir) && present(d / tokenizer_files::kDecoderDir));
}

static Tokenizers load_tokenizer_files(const std::string& model_dir) {
  const fs::path d(model_dir);
  if (present(d / tokenizer_files::kShared) && (present(d / tokenizer_files::kEncoderDir) || present(d / tokenizer_files::kDecoderDir)))
    throw Error(model_dir, std::string("holds both ") + tokenizer_files::kShared + " and " + tokenizer_files::kEncoderDir +
                               "/ or " + tokenizer_files::kDecoderDir + "/: remove the one that does not belong to model.safetensors");
  if (present(d / tokenizer_files::kShared)) {
    CodecPtr shared = load_codec((d / tokenizer_files::kShared).string());
    return {shared, shared};
  }
  if (!present(d / tokenizer_files::kEncoderDir) || !present(d / tokenizer_files::kDecoderDir))
    throw Error(model_dir, std::string("no tokenizer: expected ") + tokenizer_files::kShared + ", or " +
                               tokenizer_files::kEncoderDir + "/ and " + tokenizer_files::kDecoderDir + "/");
  return {load_codec((d / tokenizer_files::kEncoderDir).string()), load_codec((d / tokenizer_files::kDecoderDir).string())};
}

Tokenizers load_tokenizers(const std::string& model_dir) {
  return reading(model_dir, [&] { return load_tokenizer_files(model_dir); });
}

}  // namespace latent
