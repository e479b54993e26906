// Model families: one registry of encoder families (BERT, RoBERTa, ...) and decoder
// families (GPT-2, ...). A family is one file in model/families/ that returns its entry
// (name, Hugging Face model_types, DMLP classes, tokenizer kind, defaults, config mapping
// and checks, constructor, weight loader) plus one line in the list of model/families.cpp.
// config.json's model.encoder.arch / model.decoder.arch, import-hf (by the folder's
// model_type), import-dmlp (by DMLP's class name) and `latent-cli models` all go through
// the lookups below. Two things are shared rather than per family: a family's own config
// keys live in EncoderConfig / DecoderConfig (model/config.h; each family's check rejects
// the ones it does not read), and a new tokenizer kind is a TextCodec (text/codec.h).
//
// The list is explicit (not self-registering objects) because latent_core is a static
// library: the linker would drop a family file that nothing references.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/decoder.h"
#include "model/encoder.h"
#include "text/codec.h"

namespace latent {

// One entry of DMLP's MODEL_CLASS: the family's config with these keys set (JSON text
// of model.encoder / model.decoder keys, e.g. {"pooling": "avg"}).
struct DmlpClass {
  std::string name;       // "BertForLatentConnectorAVG"
  std::string overrides;  // "{\"pooling\": \"avg\"}"
};

using Warnings = std::vector<std::string>;

struct EncoderFamily {
  std::string name;                         // model.encoder.arch
  std::string description;                  // one line for `latent-cli models`
  std::vector<std::string> hf_model_types;  // Hugging Face config.json model_type values it reads
  std::vector<DmlpClass> dmlp_classes;
  std::string tokenizer;                    // the TextCodec kind its folders hold ("wordpiece", ...)
  EncoderConfig defaults;                   // arch set; the family-specific keys apply when arch changes
  int extra_positions = 0;                  // position ids used beyond the tokens (RoBERTa: padding_idx + 1)
  bool padded_embedding = false;            // checkpoints may hold more embedding rows than tokens (T5: 32128 for 32100)
  // A Hugging Face config.json (parsed) -> the encoder's shapes; base supplies what the
  // folder does not fix (pooling, dropout). Unsupported settings fail naming the key.
  std::function<EncoderConfig(const nlohmann::json& hf, const EncoderConfig& base, const std::string& where)> from_hf;
  std::function<Encoder(const EncoderConfig& c, const VocabSpec& vocab, LatentShape latent)> make;
  // Rejects settings this family does not read or cannot honour (config.json keys of other
  // families, out-of-range values), naming the key: where + ": model.encoder.<key>".
  std::function<void(const EncoderConfig& c, const std::string& where)> check;
  // Tensors under Hugging Face names (the family's model prefix accepted) into the encoder;
  // with_latent: "linear" too (a DMLP checkpoint), else it keeps its initialisation.
  std::function<Warnings(EncoderImpl& e, io::NamedTensors tensors, const std::string& path, bool with_latent)> load;
};

struct DecoderFamily {
  std::string name;                         // model.decoder.arch
  std::string description;
  std::vector<std::string> hf_model_types;
  std::vector<DmlpClass> dmlp_classes;
  std::string tokenizer;                    // TextCodec kind
  DecoderConfig defaults;
  std::vector<std::string> injections;      // latent injection modes it supports ("memory", "embedding")
  bool has_extra_first_block = true;        // DMLP's extra first block (T5: none; switching arch to it drops the setting)
  std::function<DecoderConfig(const nlohmann::json& hf, const DecoderConfig& base, const std::string& where)> from_hf;
  std::function<Decoder(const DecoderConfig& c, const VocabSpec& vocab, LatentShape latent)> make;
  std::function<void(const DecoderConfig& c, const std::string& where)> check;  // as EncoderFamily::check
  // Pretrained (Hugging Face) tensors: the extra first block and the latent projections
  // keep their initialisation, rows past the pretrained vocabulary (added tokens) too.
  // dmlp: a DMLP checkpoint's state, which holds everything.
  std::function<Warnings(DecoderImpl& d, io::NamedTensors tensors, const std::string& path, bool dmlp)> load;
};

// Lookups. Unknown names throw latent::Error(where, "... (registered: a, b, c)").
const EncoderFamily& encoder_family(const std::string& arch, const std::string& where);
const DecoderFamily& decoder_family(const std::string& arch, const std::string& where);
const EncoderFamily& encoder_family_for_hf(const std::string& model_type, const std::string& where);
const DecoderFamily& decoder_family_for_hf(const std::string& model_type, const std::string& where);
bool is_encoder_family(const std::string& arch);
bool is_decoder_family(const std::string& arch);
// DMLP's class name -> the family, and the class's config on top of `base` (same arch).
struct EncoderClass { const EncoderFamily* family; const DmlpClass* dmlp; };
struct DecoderClass { const DecoderFamily* family; const DmlpClass* dmlp; };
EncoderClass encoder_class_for_dmlp(const std::string& name, const std::string& where);
DecoderClass decoder_class_for_dmlp(const std::string& name, const std::string& where);
// Sorted by name.
std::vector<const EncoderFamily*> encoder_families();
std::vector<const DecoderFamily*> decoder_families();

// with_encoder_arch, with_decoder_arch and the plain name lists are in model/config.h
// (no LibTorch there: the UI's views use them).

// Shared by families whose names equal ours once a model prefix ("bert.") is dropped:
// every parameter of `module` must be in `tensors` with its shape, but "linear*" (DMLP's
// latent projection) unless with_latent: a pretrained folder does not have it and it keeps
// its initialisation; and "pooler.*" when absent (a checkpoint saved without a pooler, as
// transformers and DMLP do, starts it fresh: a warning says so). Tensors left over are
// warnings, except those in `ignored`.
Warnings load_by_name(torch::nn::Module& module, io::NamedTensors tensors, const std::string& path,
                      const std::vector<std::string>& prefixes, const std::vector<std::string>& ignored, bool with_latent,
                      const std::string& what);

// For family checks: throws Error(where + ": " + key, why) unless ok.
void require(bool ok, const std::string& where, const char* key, const std::string& why);
// The family-specific encoder keys (extra_layer, embedding_size, layer_groups,
// inner_group_num, head_dim, relative_buckets, relative_max_distance, relative_attention,
// max_relative_positions, position_biased_input) that `family` does not read must keep their
// defaults, so that no setting is silently ignored; type_vocab 0 only where it reads "type_vocab".
void check_unread_encoder_keys(const EncoderConfig& c, const std::string& where, const std::string& family,
                               std::initializer_list<const char*> reads);
// The same for the family-specific decoder keys (intermediate, kv_heads, rms_norm_eps,
// rope_*, tied_head, qkv_bias, lora_rank, latent_from_block, cpu_decode_weights, extra_block_mlp_ratio, head_dim,
// relative_buckets, relative_max_distance, activation).
void check_unread_decoder_keys(const DecoderConfig& c, const std::string& where, const std::string& family,
                               std::initializer_list<const char*> reads);

}  // namespace latent

namespace latent {
// Reading Hugging Face config.json values; errors name where (the file) and the key. A
// fallback is the value when the key is absent; without one the key is required.
int hf_positive_int(const nlohmann::json& j, const char* key, const std::string& where, int fallback = 0);
double hf_positive_number(const nlohmann::json& j, const char* key, const std::string& where, double fallback);
}  // namespace latent
