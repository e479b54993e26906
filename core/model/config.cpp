#include "model/config.h"

#include <nlohmann/json.hpp>

#include <set>

#include "io/model_dir.h"
#include "model/family.h"
#include "util/error.h"

namespace latent {
namespace {

using nlohmann::json;

enum class Range { Any, Positive, NonNegative, Probability };

// Reads the fields of one JSON object into a struct, checking types and ranges and
// rejecting unknown keys. `prefix` is the dotted path used in messages.
class Reader {
 public:
  Reader(const json& j, std::string where, std::string prefix) : j_(j), where_(std::move(where)), prefix_(std::move(prefix)) {
    if (!j_.is_object()) fail(prefix_.empty() ? "(top level)" : prefix_.substr(0, prefix_.size() - 1), "must be an object");
  }

  template <class T>
  void field(const char* key, T& value, Range range = Range::Any, std::initializer_list<const char*> choices = {}) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end()) return;
    const std::string name = prefix_ + key;
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) fail(name, "must be true or false, got " + it->dump());
      value = it->template get<bool>();
    } else if constexpr (std::is_integral_v<T>) {
      if (!it->is_number_integer()) fail(name, "must be an integer, got " + it->dump());
      if (std::is_unsigned_v<T> && it->is_number_integer() && !it->is_number_unsigned())
        fail(name, "must not be negative, got " + it->dump());
      value = it->template get<T>();
      check_range(name, static_cast<double>(value), range);
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!it->is_number()) fail(name, "must be a number, got " + it->dump());
      value = it->template get<T>();
      check_range(name, value, range);
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (!it->is_array()) fail(name, "must be a list of strings, got " + it->dump());
      std::vector<std::string> items;
      for (const auto& e : *it) {
        if (!e.is_string() || e.template get<std::string>().empty()) fail(name, "must hold non-empty strings, got " + e.dump());
        items.push_back(e.template get<std::string>());
      }
      value = std::move(items);
    } else {
      if (!it->is_string()) fail(name, "must be a string, got " + it->dump());
      value = it->template get<std::string>();
      if (choices.size() > 0) {
        std::string allowed;
        for (const char* c : choices) {
          if (value == c) return;
          allowed += std::string(allowed.empty() ? "" : ", ") + c;
        }
        fail(name, "must be one of " + allowed + ", got \"" + value + "\"");
      }
    }
  }

  template <class S>
  void section(const char* key, S& value) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end()) return;
    Reader sub(*it, where_, prefix_ + key + ".");
    fields(sub, value);  // found by argument-dependent lookup at instantiation
    sub.finish();
  }

  // A key only some families read: read like any other.
  template <class T>
  void family_field(const char* key, T& value, const T&, const T&, Range range = Range::Any,
                    std::initializer_list<const char*> choices = {}) {
    field(key, value, range, choices);
  }

  void ignore(const char* key) { seen_.insert(key); }

  // A family name, read first: a new family takes its defaults (rebase(c, arch, key)).
  template <class S, class Rebase>
  void arch(S& c, Rebase rebase) {
    seen_.insert("arch");
    const auto it = j_.find("arch");
    if (it == j_.end()) return;
    const std::string name = prefix_ + "arch";
    if (!it->is_string()) fail(name, "must be a string, got " + it->dump());
    c = rebase(c, it->template get<std::string>(), where_ + ": " + name);
  }

  void finish() {
    for (const auto& [k, v] : j_.items())
      if (!seen_.count(k)) fail(prefix_ + k, "unknown key");
  }

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& why) const { throw Error(where_ + ": " + key, why); }

  void check_range(const std::string& name, double v, Range range) const {
    if (range == Range::Positive && !(v > 0)) fail(name, "must be positive, got " + format(v));
    if (range == Range::NonNegative && !(v >= 0)) fail(name, "must not be negative, got " + format(v));
    if (range == Range::Probability && !(v >= 0 && v < 1)) fail(name, "must be in [0, 1), got " + format(v));
  }
  static std::string format(double v) { return json(v).dump(); }

  const json& j_;
  std::string where_, prefix_;
  std::set<std::string> seen_;
};

// Writes fields to JSON; the same field lists drive reading and writing.
class Writer {
 public:
  template <class T>
  void field(const char* key, T& value, Range = Range::Any, std::initializer_list<const char*> = {}) { j[key] = value; }
  template <class S>
  void section(const char* key, S& value) {
    Writer sub;
    fields(sub, value);
    j[key] = sub.j;
  }
  // Written only when it differs from the struct's default or its family's (reading it back
  // absent gives the family's default, which is then the same value): config.json shows the
  // keys the model's families use, not every family's.
  template <class T>
  void family_field(const char* key, T& value, const T& plain, const T& family, Range = Range::Any,
                    std::initializer_list<const char*> = {}) {
    if (!(value == plain && value == family)) j[key] = value;
  }
  void ignore(const char*) {}
  template <class S, class Rebase>
  void arch(S& c, Rebase) { j["arch"] = c.arch; }
  json j = json::object();
};

template <class V> void fields(V& v, TokenizerConfig& c) {
  v.field("type", c.type, Range::Any, {"unigram", "bpe", "pretrained"});
  v.field("vocab_size", c.vocab_size, Range::Positive);
}
template <class V> void fields(V& v, EncoderConfig& c) {
  v.arch(c, with_encoder_arch);
  v.field("hidden", c.hidden, Range::Positive);
  v.field("layers", c.layers, Range::Positive);
  v.field("heads", c.heads, Range::Positive);
  v.field("intermediate", c.intermediate, Range::Positive);
  v.field("max_positions", c.max_positions, Range::Positive);
  v.field("type_vocab", c.type_vocab, Range::NonNegative);
  v.field("pooling", c.pooling, Range::Any, {"avg", "cls", "tokens"});
  v.field("layer_norm_eps", c.layer_norm_eps, Range::Positive);
  v.field("extra_layer", c.extra_layer);
  v.field("activation", c.activation, Range::Any, {"gelu", "gelu_new", "relu", "gated-gelu"});
  v.field("embedding_noise", c.embedding_noise, Range::NonNegative);
  const EncoderConfig p, f = is_encoder_family(c.arch) ? encoder_family(c.arch, "model.encoder.arch").defaults : p;
  v.family_field("embedding_size", c.embedding_size, p.embedding_size, f.embedding_size, Range::NonNegative);
  v.family_field("layer_groups", c.layer_groups, p.layer_groups, f.layer_groups, Range::Positive);
  v.family_field("inner_group_num", c.inner_group_num, p.inner_group_num, f.inner_group_num, Range::Positive);
  v.family_field("head_dim", c.head_dim, p.head_dim, f.head_dim, Range::NonNegative);
  v.family_field("relative_buckets", c.relative_buckets, p.relative_buckets, f.relative_buckets, Range::Positive);
  v.family_field("relative_max_distance", c.relative_max_distance, p.relative_max_distance, f.relative_max_distance, Range::Positive);
  v.family_field("relative_attention", c.relative_attention, p.relative_attention, f.relative_attention, Range::Any,
                 {"none", "c2p", "p2c", "c2p|p2c"});
  v.family_field("max_relative_positions", c.max_relative_positions, p.max_relative_positions, f.max_relative_positions,
                 Range::NonNegative);
  v.family_field("position_biased_input", c.position_biased_input, p.position_biased_input, f.position_biased_input);
  v.field("dropout", c.dropout, Range::Probability);
}
template <class V> void fields(V& v, DecoderConfig& c) {
  v.arch(c, with_decoder_arch);
  v.field("hidden", c.hidden, Range::Positive);
  v.field("layers", c.layers, Range::Positive);
  v.field("heads", c.heads, Range::Positive);
  v.field("max_positions", c.max_positions, Range::Positive);
  v.field("extra_first_block", c.extra_first_block);
  v.field("extra_block_mlp_ratio", c.extra_block_mlp_ratio, Range::Positive);
  v.field("latent_as_embedding", c.latent_as_embedding);
  v.field("latent_as_memory", c.latent_as_memory);
  v.field("latent_every_layer", c.latent_every_layer);
  v.field("dropout", c.dropout, Range::Probability);
  const DecoderConfig p, f = is_decoder_family(c.arch) ? decoder_family(c.arch, "model.decoder.arch").defaults : p;
  v.family_field("intermediate", c.intermediate, p.intermediate, f.intermediate, Range::NonNegative);
  v.family_field("kv_heads", c.kv_heads, p.kv_heads, f.kv_heads, Range::NonNegative);
  v.family_field("rms_norm_eps", c.rms_norm_eps, p.rms_norm_eps, f.rms_norm_eps, Range::Positive);
  v.family_field("rope_theta", c.rope_theta, p.rope_theta, f.rope_theta, Range::Positive);
  v.family_field("rope_scaling", c.rope_scaling, p.rope_scaling, f.rope_scaling, Range::Any, {"none", "linear", "llama3"});
  v.family_field("rope_factor", c.rope_factor, p.rope_factor, f.rope_factor, Range::Positive);
  v.family_field("rope_low_freq_factor", c.rope_low_freq_factor, p.rope_low_freq_factor, f.rope_low_freq_factor, Range::Positive);
  v.family_field("rope_high_freq_factor", c.rope_high_freq_factor, p.rope_high_freq_factor, f.rope_high_freq_factor, Range::Positive);
  v.family_field("rope_original_max_positions", c.rope_original_max_positions, p.rope_original_max_positions,
                 f.rope_original_max_positions, Range::Positive);
  v.family_field("tied_head", c.tied_head, p.tied_head, f.tied_head);
  v.family_field("qkv_bias", c.qkv_bias, p.qkv_bias, f.qkv_bias);
  v.family_field("lora_rank", c.lora_rank, p.lora_rank, f.lora_rank, Range::NonNegative);
  v.family_field("latent_from_block", c.latent_from_block, p.latent_from_block, f.latent_from_block, Range::NonNegative);
  v.family_field("cpu_decode_weights", c.cpu_decode_weights, p.cpu_decode_weights, f.cpu_decode_weights, Range::Any,
                 {"float32", "float16", "gguf-blocks"});
  v.family_field("head_dim", c.head_dim, p.head_dim, f.head_dim, Range::NonNegative);
  v.family_field("relative_buckets", c.relative_buckets, p.relative_buckets, f.relative_buckets, Range::Positive);
  v.family_field("relative_max_distance", c.relative_max_distance, p.relative_max_distance, f.relative_max_distance, Range::Positive);
  v.family_field("activation", c.activation, p.activation, f.activation, Range::Any, {"relu", "gated-gelu"});
}
template <class V> void fields(V& v, DiffusionConfig& c) {
  v.field("steps", c.steps, Range::Positive);
  v.field("schedule", c.schedule, Range::Any, {"constant", "linear", "cosine"});
  v.field("beta", c.beta, Range::Probability);
  v.field("beta_start", c.beta_start, Range::Probability);
  v.field("beta_end", c.beta_end, Range::Probability);
}
template <class V> void fields(V& v, NoiseNetConfig& c) {
  v.field("type", c.type, Range::Any, {"mlp_skip", "transformer", "linear"});
  v.field("layers", c.layers, Range::Positive);
  v.field("hidden", c.hidden, Range::Positive);
  v.field("heads", c.heads, Range::Positive);
  v.field("dropout", c.dropout, Range::Probability);
}
template <class V> void fields(V& v, ModelConfig& c) {
  v.field("latent_dim", c.latent_dim, Range::Positive);
  v.field("latent_tokens", c.latent_tokens, Range::Positive);
  v.field("max_length", c.max_length, Range::Positive);
  v.section("tokenizer", c.tokenizer);
  v.section("encoder", c.encoder);
  v.section("decoder", c.decoder);
  v.section("diffusion", c.diffusion);
  v.section("noise_net", c.noise_net);
  v.field("alpha_ddpm", c.alpha_ddpm, Range::NonNegative);
  v.field("loss_pairing", c.loss_pairing, Range::Any, {"dmlp", "per_sample"});
  v.field("posterior", c.posterior, Range::Any, {"fixed", "learned", "deterministic"});
  v.field("kl_schedule", c.kl_schedule, Range::Any, {"constant", "linear", "cyclical", "optimus", "trapezoid"});
  v.field("kl_anneal_steps", c.kl_anneal_steps, Range::NonNegative);
  v.field("kl_cycles", c.kl_cycles, Range::Positive);
  v.field("kl_ratio_zero", c.kl_ratio_zero, Range::Probability);
  v.field("kl_ratio_increase", c.kl_ratio_increase, Range::Positive);
  v.field("kl_ratio_decrease", c.kl_ratio_decrease, Range::Probability);
  v.field("kl_weight", c.kl_weight, Range::NonNegative);
  v.field("free_bits", c.free_bits, Range::NonNegative);
  v.field("free_bits_mode", c.free_bits_mode, Range::Any, {"floor", "mask"});
  v.field("length_weighted_loss", c.length_weighted_loss);
  v.field("word_dropout", c.word_dropout, Range::Probability);
  v.field("regularizer", c.regularizer, Range::Any, {"none", "mmd", "adversarial"});
  v.field("regularizer_weight", c.regularizer_weight, Range::NonNegative);
  v.field("regularizer_warmup_k", c.regularizer_warmup_k, Range::NonNegative);
  v.field("regularizer_warmup_b", c.regularizer_warmup_b, Range::Any);
}
template <class V> void fields(V& v, TrainConfig& c) {
  v.field("optimizer", c.optimizer, Range::Any, {"adam", "adamw"});
  v.field("lr", c.lr, Range::Positive);
  v.field("adam_eps", c.adam_eps, Range::Positive);
  v.field("weight_decay", c.weight_decay, Range::NonNegative);
  v.field("warmup_steps", c.warmup_steps, Range::NonNegative);
  v.field("lr_end_ratio", c.lr_end_ratio, Range::NonNegative);
  v.field("lr_power", c.lr_power, Range::Positive);
  v.field("grad_clip", c.grad_clip, Range::NonNegative);
  v.field("accumulate", c.accumulate, Range::Positive);
  v.field("batch_size", c.batch_size, Range::Positive);
  v.field("steps", c.steps, Range::NonNegative);
  v.field("epochs", c.epochs, Range::Positive);
  v.field("trainable", c.trainable, Range::Any, {"all", "dmlp", "latent"});
  v.field("freeze", c.freeze);
  v.field("seed", c.seed);
  v.field("precision", c.precision, Range::Any, {"bf16", "fp16", "fp32"});
  v.field("cpu_precision", c.cpu_precision, Range::Any, {"fp32", "bf16"});
  v.field("frozen_state_cache_mb", c.frozen_state_cache_mb, Range::NonNegative);
  v.field("eval_every", c.eval_every, Range::NonNegative);
  v.field("eval_sentences", c.eval_sentences, Range::NonNegative);
  v.field("eval_samples", c.eval_samples, Range::NonNegative);
  v.field("max_nonfinite", c.max_nonfinite, Range::Positive);
  v.field("ddpm_detach_steps", c.ddpm_detach_steps, Range::NonNegative);
  v.field("log_every", c.log_every, Range::Positive);
  v.field("threads", c.threads, Range::NonNegative);  // at most kMaxThreads: validate()
}

}  // namespace

Config merge_config(const Config& base, const nlohmann::json& j, const std::string& where) {
  Config c = base;
  Reader r(j, where, "");
  r.ignore("format_version");
  r.section("model", c.model);
  r.section("train", c.train);
  r.finish();
  validate(c, where);
  return c;
}

EncoderConfig merge_encoder_config(const EncoderConfig& base, const nlohmann::json& j, const std::string& where) {
  EncoderConfig c = base;
  Reader r(j, where, "");
  fields(r, c);
  r.finish();
  return c;
}

DecoderConfig merge_decoder_config(const DecoderConfig& base, const nlohmann::json& j, const std::string& where) {
  DecoderConfig c = base;
  Reader r(j, where, "");
  fields(r, c);
  r.finish();
  return c;
}

Config config_from_json(const nlohmann::json& j, const std::string& where) { return merge_config(Config{}, j, where); }

nlohmann::json config_to_json(const Config& c) {
  Config copy = c;
  Writer w;
  w.j["format_version"] = io::kFormatVersion;
  w.section("model", copy.model);
  w.section("train", copy.train);
  return w.j;
}

void validate(const Config& c, const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& why) { throw Error(where + ": " + key, why); };
  const auto& m = c.model;
  if (m.encoder.hidden % m.encoder.heads != 0) fail("model.encoder.heads", "must divide model.encoder.hidden");
  if (m.decoder.hidden % m.decoder.heads != 0) fail("model.decoder.heads", "must divide model.decoder.hidden");
  const EncoderFamily& ef = encoder_family(m.encoder.arch, where + ": model.encoder.arch");
  ef.check(m.encoder, where + ": model.encoder");
  decoder_family(m.decoder.arch, where + ": model.decoder.arch").check(m.decoder, where + ": model.decoder");
  if (m.max_length + 2 + ef.extra_positions > m.encoder.max_positions)
    fail("model.max_length", "max_length + " + std::to_string(2 + ef.extra_positions) + " must fit model.encoder.max_positions");
  if (m.max_length + 3 > m.decoder.max_positions)
    fail("model.max_length", "max_length + 3 must fit model.decoder.max_positions (memory slot + BOS + EOS)");
  if (m.latent_tokens > 256 || m.latent_dim % m.latent_tokens != 0)
    fail("model.latent_tokens", "must divide model.latent_dim (" + std::to_string(m.latent_dim) + ") and be at most 256, got " +
                                    std::to_string(m.latent_tokens));
  if (m.encoder.pooling == "tokens" && m.latent_tokens + ef.extra_positions > m.encoder.max_positions)
    fail("model.latent_tokens", "pooling \"tokens\" reads that many encoder positions: it must fit model.encoder.max_positions");
  if (m.tokenizer.type != "pretrained" && m.tokenizer.vocab_size < 261) fail("model.tokenizer.vocab_size", "must be at least 261 (256 bytes + 4 specials + 1)");
  if (m.noise_net.type == "transformer" && m.noise_net.hidden % m.noise_net.heads != 0)
    fail("model.noise_net.heads", "must divide model.noise_net.hidden");
  if (m.diffusion.schedule == "linear" && !(m.diffusion.beta_start < m.diffusion.beta_end))
    fail("model.diffusion.beta_start", "must be below beta_end");
  if (!(m.diffusion.beta > 0)) fail("model.diffusion.beta", "must be positive");
  if (m.decoder.latent_every_layer && !m.decoder.latent_as_embedding)
    fail("model.decoder.latent_every_layer", "adds the embedding projection of z after every block: it needs latent_as_embedding");
  if (m.kl_schedule == "trapezoid" && m.kl_ratio_zero + m.kl_ratio_increase + m.kl_ratio_decrease > 1 + 1e-12)
    fail("model.kl_ratio_decrease", "kl_ratio_zero + kl_ratio_increase + kl_ratio_decrease must be at most 1 (one cycle)");
  check_threads(c.train.threads, where + ": train.threads");
}

void check_threads(int64_t threads, const std::string& where) {
  if (threads < 0 || threads > kMaxThreads)
    throw Error(where, "must be 0 (all cores) to " + std::to_string(kMaxThreads) + ", got " + std::to_string(threads));
}

std::vector<std::string> preset_names() { return {"tiny", "small", "dmlp", "pretrained"}; }

Config preset(const std::string& name) {
  Config c;
  if (name == "tiny") {  // trains in seconds: tests
    c.model.latent_dim = 16;
    c.model.max_length = 40;
    c.model.tokenizer.vocab_size = 1000;
    c.model.encoder.hidden = 64;
    c.model.encoder.layers = 2;
    c.model.encoder.heads = 2;
    c.model.encoder.intermediate = 128;
    c.model.encoder.max_positions = 48;
    c.model.encoder.dropout = 0.0;
    c.model.decoder.hidden = 64;
    c.model.decoder.layers = 1;
    c.model.decoder.heads = 2;
    c.model.decoder.max_positions = 48;
    c.model.decoder.dropout = 0.0;
    c.model.diffusion.steps = 100;
    c.model.noise_net.layers = 3;
    c.model.noise_net.hidden = 64;
    // DMLP's alpha_ddpm = 10 lets the prior dominate a model this small: the encoder
    // collapses to a constant latent that the noise network predicts perfectly.
    c.model.alpha_ddpm = 0.1;
    c.train.lr = 3e-3;
    c.train.warmup_steps = 20;
    c.train.batch_size = 16;
    c.train.eval_every = 0;
    c.train.eval_sentences = 64;
    c.train.eval_samples = 3;
    c.train.log_every = 20;
  } else if (name == "small") {  // the CPU default: good held-out reconstructions within ~30 minutes
    // on 2 cores. Measured (resources/models/default/MODEL_CARD.md): with no pretrained
    // parts, what decides quality in 30 minutes is the number of epochs, so the encoder
    // and decoder are narrow (2 x 128 each, ~3.5M parameters with the noise network) and
    // see ~20 epochs; the 4 x 256 shapes (~11M) reached held-out BLEU 4 in the same time.
    // No dropout and no word dropout (both slowed learning in the budget), and the prior
    // trains on detached latents for the whole run (ddpm_detach_steps): the joint gradient
    // collapses a from-scratch latent (DMLP starts from pretrained BERT and GPT-2).
    c.model.alpha_ddpm = 1.0;
    c.model.encoder.hidden = 128;
    c.model.encoder.layers = 2;
    c.model.encoder.intermediate = 512;
    c.model.encoder.dropout = 0.0;
    c.model.decoder.hidden = 128;
    c.model.decoder.layers = 2;
    c.model.decoder.dropout = 0.0;
    c.train.ddpm_detach_steps = 1000000000;
    c.train.lr = 2e-3;
    c.train.lr_power = 1.0;
    c.train.warmup_steps = 300;
    c.train.eval_every = 1000;
    c.train.steps = 14000;             // ~30 minutes on 2 cores (~20 epochs of the default corpus)
  } else if (name == "dmlp") {   // DMLP's demo shapes (bert-small encoder, GPT-2 decoder)
    c.model.latent_dim = 128;
    c.model.tokenizer.vocab_size = 32000;
    c.model.encoder.hidden = 512;
    c.model.encoder.layers = 4;
    c.model.encoder.heads = 8;
    c.model.encoder.intermediate = 2048;
    c.model.encoder.max_positions = 512;
    c.model.decoder.hidden = 768;
    c.model.decoder.layers = 12;
    c.model.decoder.heads = 12;
    c.model.decoder.max_positions = 1024;
    c.model.noise_net.layers = 20;
    c.model.noise_net.hidden = 2048;
    c.train.lr = 9e-5;
    c.train.warmup_steps = 1000;
    c.train.batch_size = 32;
  } else if (name == "pretrained") {  // the recipe for MiniLM + SmolLM2 (import-hf --preset pretrained,
    // then train --init DIR --preset pretrained; tools/default_model/build_pretrained.sh): the
    // pretrained decoder stays frozen (its 134M parameters, tied embeddings included; the
    // backward pass still runs through it) but for rank-8 adapters on its attention; the
    // encoder's embeddings and lower three layers stay frozen too. What trains (the encoder's
    // upper layers, the latent projections, the extra first block, the adapters, the noise
    // network: ~11M parameters) ships as a delta of at most 25 MB in fp16. Against the same
    // recipe without adapters and with the whole encoder training, the reconstruction loss
    // was 6-13% lower at steps 170-250 and a step 1.3x faster (2026-12-01, 2-core VM).
    // Sentences are short (WordNet examples).
    c.model.max_length = 40;
    c.model.alpha_ddpm = 1.0;
    c.model.encoder.dropout = 0.0;
    c.model.decoder = with_decoder_arch(c.model.decoder, "llama", "preset pretrained");
    c.model.decoder.dropout = 0.0;
    c.model.decoder.lora_rank = 8;
    c.model.decoder.cpu_decode_weights = "gguf-blocks";  // SmolLM2's GGUF blocks, lossless (model/decode_weights.h)
    c.train.trainable = "latent";
    c.train.freeze = {"encoder.embeddings.", "encoder.encoder.layer.0.", "encoder.encoder.layer.1.",
                      "encoder.encoder.layer.2."};
    c.train.ddpm_detach_steps = 2000;  // the autoencoder first learns to use z (as small, for a shorter time)
    c.train.lr = 2e-4;
    c.train.lr_power = 1.0;
    c.train.warmup_steps = 200;
    c.train.batch_size = 16;
    c.train.eval_every = 1000;
    c.train.steps = 20000;             // ~7 hours on 2 cores (~13 sentences/s)
  } else {
    std::string names;
    for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
    throw Error("preset", "unknown preset \"" + name + "\" (known: " + names + ")");
  }
  validate(c, "preset " + name);
  return c;
}

}  // namespace latent
