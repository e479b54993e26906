// What the model needs of a tokenizer, whatever its kind: the ids of a text (without
// framing), the framing and padding ids, decoding, and saving into a model folder.
//
// Kinds: "sentencepiece" (ours, trained on the corpus: one shared by both sides),
// "wordpiece" (a BERT folder: [CLS] text [SEP], padded with [PAD]), "gpt2-bpe" (a
// GPT-2 folder with DMLP's added <PAD>, <BOS>, <EOS>) and "roberta-bpe" (a RoBERTa folder,
// told by tokenizer_config.json's tokenizer_class or config.json's model_type:
// <s> text </s>, padded with <pad>), "deberta-bpe" (a DeBERTa v1 folder, told the same way by
// DebertaTokenizer / model_type deberta: [CLS] text [SEP], padded with [PAD]), "albert-spm" (an ALBERT folder's spiece.model with
// AlbertTokenizer's preprocessing: [CLS] text [SEP], padded with <pad>) and "t5-spm" (a T5
// folder's spiece.model: text </s>, no BOS) and "llama-bpe" (a SmolLM2 / Llama 3 / Qwen2
// tokenizer.json with tokenizer_config.json's bos/eos/pad tokens: bos text eos; told by
// tokenizer_class PreTrainedTokenizerFast, LlamaTokenizerFast, Qwen2Tokenizer or model_type
// llama / qwen2). An encoder and a decoder may use
// different tokenizers (DMLP: BERT's for the encoder, GPT-2's for the decoder); the data
// pipeline tokenizes each side with its own.
//
// In a model folder: tokenizer.model (one SentencePiece model for both sides), or
// encoder_tokenizer/ and decoder_tokenizer/, each holding the files of its kind
// (tokenizer.model | vocab.txt + tokenizer_config.json | vocab.json + merges.txt +
// added_tokens.json [+ tokenizer_config.json] | spiece.model + tokenizer_config.json). Codecs are immutable: threads may share them.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace latent {

class Tokenizer;
class WordPieceTokenizer;
class ByteLevelBpe;
class HfSentencePiece;

// Framing and padding: sequences are bos ids eos, padded with pad; unk replaces dropped words.
struct SpecialIds {
  int pad = 0, unk = 1, bos = 2, eos = 3;  // SentencePiece's fixed ids; bos -1: none (T5's encoder: text </s>)
};

// A side of the model's vocabulary: its size and its special ids.
struct VocabSpec {
  int size = 0;
  SpecialIds ids;
};

class TextCodec {
 public:
  virtual ~TextCodec() = default;
  virtual std::string kind() const = 0;
  virtual std::vector<int> encode(const std::string& text) const = 0;  // no framing
  virtual std::vector<std::string> pieces(const std::string& text) const = 0;  // the tokens of encode(), as strings
  virtual std::string decode(const std::vector<int>& ids) const = 0;   // special ids dropped
  virtual int vocab_size() const = 0;
  virtual SpecialIds specials() const = 0;
  virtual void save(const std::string& dir) const = 0;  // its files into dir (created), atomically each
  VocabSpec spec() const { return {vocab_size(), specials()}; }
  // The spec as a decoder sees it: a tokenizer without BOS (T5's) starts its sequences from
  // <pad>, T5's decoder_start_token_id.
  VocabSpec decoder_spec() const {
    VocabSpec s = spec();
    if (s.ids.bos < 0) s.ids.bos = s.ids.pad;
    return s;
  }
  std::string describe() const;  // "wordpiece, 30522 tokens"
};
using CodecPtr = std::shared_ptr<const TextCodec>;

CodecPtr sentencepiece_codec(Tokenizer tokenizer);
// where: the vocabulary file, named when [PAD], [CLS] or [SEP] is missing from it.
CodecPtr wordpiece_codec(WordPieceTokenizer tokenizer, const std::string& where);
// Adds DMLP's <PAD>, <BOS>, <EOS> when missing (the vocabulary grows by up to 3).
// add_prefix_space: GPT2Tokenizer's option (a space before the text; Optimus's tokenizer),
// kept in the folder's tokenizer_config.json when saved.
CodecPtr gpt2_codec(ByteLevelBpe tokenizer, bool add_prefix_space = false);
// The same GPT-2 tokenizer with add_prefix_space; where: named when codec is not GPT-2's.
CodecPtr gpt2_with_prefix_space(const CodecPtr& codec, const std::string& where);
// RoBERTa's: <s> text </s>, padded with <pad> (all in the vocabulary); where: the vocabulary file.
CodecPtr roberta_codec(ByteLevelBpe tokenizer, const std::string& where);
// DeBERTa v1's: [CLS] text [SEP], padded with [PAD] (RoBERTa's byte-level BPE otherwise).
CodecPtr deberta_codec(ByteLevelBpe tokenizer, const std::string& where);
// ALBERT's ([CLS] text [SEP], padded with <pad>, ALBERT's text preprocessing) or T5's
// (text </s>, no BOS: SpecialIds::bos is -1), by the tokenizer's flavour.
CodecPtr hf_spm_codec(HfSentencePiece tokenizer);

// A tokenizer folder (or a tokenizer.model file), its kind told by its files:
// tokenizer.model -> sentencepiece; vocab.txt -> wordpiece; spiece.model -> albert-spm or
// t5-spm (by tokenizer_config.json's tokenizer_class, else config.json's model_type);
// vocab.json + merges.txt or tokenizer.json -> roberta-bpe (RobertaTokenizer, or model_type
// roberta), deberta-bpe (DebertaTokenizer, or model_type deberta), llama-bpe (as above) or gpt2-bpe. Errors name the folder and what is missing.
CodecPtr load_codec(const std::string& path);
bool is_tokenizer_folder(const std::string& dir);  // one that load_codec reads

// The tokenizers of a model: the same object on both sides, or one each.
struct Tokenizers {
  CodecPtr encoder, decoder;
  Tokenizers() = default;
  Tokenizers(CodecPtr enc, CodecPtr dec) : encoder(std::move(enc)), decoder(std::move(dec)) {}
  // One SentencePiece tokenizer shared by both sides (models trained from scratch).
  Tokenizers(Tokenizer shared);  // NOLINT: implicit on purpose
  bool shared() const { return encoder == decoder; }
  // "sentencepiece, 4000 tokens", or "encoder wordpiece, 30522 tokens; decoder gpt2-bpe, 50260 tokens".
  std::string describe() const;
};

namespace tokenizer_files {
inline constexpr const char* kShared = "tokenizer.model";
inline constexpr const char* kEncoderDir = "encoder_tokenizer";
inline constexpr const char* kDecoderDir = "decoder_tokenizer";
}  // namespace tokenizer_files

// A shared SentencePiece tokenizer is written as DIR/tokenizer.model (format 1, as
// before); anything else as DIR/encoder_tokenizer/ and DIR/decoder_tokenizer/.
void save_tokenizers(const std::string& model_dir, const Tokenizers& t);
Tokenizers load_tokenizers(const std::string& model_dir);
bool has_tokenizers(const std::string& model_dir);

}  // namespace latent
