// The one list of model families, the lookups over it, and what every family shares.
#include "model/family.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "model/model_io.h"
#include "util/error.h"

namespace latent {

// Each family's file defines its entry.
EncoderFamily albert_family();
EncoderFamily bert_family();
EncoderFamily deberta_family();
EncoderFamily roberta_family();
EncoderFamily t5_encoder_family();
DecoderFamily davae_decoder_family();
DecoderFamily gpt2_family();
DecoderFamily llama_family();
DecoderFamily t5_decoder_family();

namespace {

struct Registry {
  std::map<std::string, EncoderFamily> encoders;
  std::map<std::string, DecoderFamily> decoders;

  template <class Family>
  static void add(std::map<std::string, Family>& to, Family f, const char* side) {
    const std::string where = std::string("model families: ") + side + " \"" + f.name + "\"";
    if (f.name.empty() || !f.make || !f.from_hf || !f.load || !f.check) throw Error(where, "incomplete entry");
    if (f.defaults.arch != f.name) throw Error(where, "its defaults name arch \"" + f.defaults.arch + "\"");
    for (const auto& [name, other] : to) {
      if (name == f.name) throw Error(where, "registered twice");
      for (const auto& t : f.hf_model_types)
        if (std::count(other.hf_model_types.begin(), other.hf_model_types.end(), t))
          throw Error(where, "Hugging Face model_type \"" + t + "\" is already read by \"" + name + "\"");
      for (const auto& c : f.dmlp_classes)
        for (const auto& oc : other.dmlp_classes)
          if (c.name == oc.name) throw Error(where, "DMLP class " + c.name + " is already covered by \"" + name + "\"");
    }
    std::string name = f.name;
    to.emplace(std::move(name), std::move(f));
  }
};

const Registry& registry() {
  static const Registry r = [] {
    Registry r;
    for (auto family : {bert_family, roberta_family, deberta_family, albert_family, t5_encoder_family}) Registry::add(r.encoders, family(), "encoder");
    for (auto family : {gpt2_family, llama_family, t5_decoder_family, davae_decoder_family}) Registry::add(r.decoders, family(), "decoder");
    return r;
  }();
  return r;
}

template <class Family>
std::string names(const std::map<std::string, Family>& m) {
  std::string s;
  for (const auto& [name, f] : m) s += (s.empty() ? "" : ", ") + name;
  return s;
}

template <class Family>
std::string model_types(const std::map<std::string, Family>& m) {
  std::string s;
  for (const auto& [name, f] : m)
    for (const auto& t : f.hf_model_types) s += (s.empty() ? "" : ", ") + t;
  return s;
}

template <class Family>
const Family& by_name(const std::map<std::string, Family>& m, const std::string& arch, const std::string& where,
                      const char* side) {
  const auto it = m.find(arch);
  if (it == m.end())
    throw Error(where, "\"" + arch + "\" is not a registered " + side + " family (registered: " + names(m) + ")");
  return it->second;
}

template <class Family>
const Family& by_model_type(const std::map<std::string, Family>& m, const std::string& type, const std::string& where,
                            const char* side) {
  for (const auto& [name, f] : m)
    if (std::count(f.hf_model_types.begin(), f.hf_model_types.end(), type)) return f;
  throw Error(where, "model_type \"" + type + "\" is not supported as the " + side + " (supported: " + model_types(m) + ")");
}

template <class Family>
std::pair<const Family*, const DmlpClass*> by_class(const std::map<std::string, Family>& m, const std::string& cls,
                                                    const std::string& where, const char* side) {
  std::string all;
  for (const auto& [name, f] : m)
    for (const auto& c : f.dmlp_classes) {
      if (c.name == cls) return {&f, &c};
      all += (all.empty() ? "" : ", ") + c.name;
    }
  throw Error(where, "DMLP class \"" + cls + "\" is not supported as the " + side + " (supported: " + all + ")");
}

template <class Family>
std::vector<const Family*> sorted(const std::map<std::string, Family>& m) {
  std::vector<const Family*> out;
  for (const auto& [name, f] : m) out.push_back(&f);
  return out;
}

}  // namespace

const EncoderFamily& encoder_family(const std::string& arch, const std::string& where) {
  return by_name(registry().encoders, arch, where, "encoder");
}
const DecoderFamily& decoder_family(const std::string& arch, const std::string& where) {
  return by_name(registry().decoders, arch, where, "decoder");
}
const EncoderFamily& encoder_family_for_hf(const std::string& model_type, const std::string& where) {
  return by_model_type(registry().encoders, model_type, where, "encoder");
}
const DecoderFamily& decoder_family_for_hf(const std::string& model_type, const std::string& where) {
  return by_model_type(registry().decoders, model_type, where, "decoder");
}
bool is_encoder_family(const std::string& arch) { return registry().encoders.count(arch) > 0; }
bool is_decoder_family(const std::string& arch) { return registry().decoders.count(arch) > 0; }
EncoderClass encoder_class_for_dmlp(const std::string& name, const std::string& where) {
  const auto [f, c] = by_class(registry().encoders, name, where, "encoder");
  return {f, c};
}
DecoderClass decoder_class_for_dmlp(const std::string& name, const std::string& where) {
  const auto [f, c] = by_class(registry().decoders, name, where, "decoder");
  return {f, c};
}
std::vector<const EncoderFamily*> encoder_families() { return sorted(registry().encoders); }
std::vector<const DecoderFamily*> decoder_families() { return sorted(registry().decoders); }

std::vector<std::string> encoder_family_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry().encoders) out.push_back(name);
  return out;
}
std::vector<std::string> decoder_family_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : registry().decoders) out.push_back(name);
  return out;
}

EncoderConfig with_encoder_arch(const EncoderConfig& c, const std::string& arch, const std::string& where) {
  if (arch == c.arch) return c;
  EncoderConfig out = encoder_family(arch, where).defaults;
  out.hidden = c.hidden;
  out.layers = c.layers;
  out.heads = c.heads;
  out.intermediate = c.intermediate;
  out.max_positions = c.max_positions;
  out.pooling = c.pooling;
  out.extra_layer = c.extra_layer;
  out.dropout = c.dropout;
  return out;
}

DecoderConfig with_decoder_arch(const DecoderConfig& c, const std::string& arch, const std::string& where) {
  if (arch == c.arch) return c;
  const DecoderFamily& f = decoder_family(arch, where);
  DecoderConfig out = f.defaults;
  out.hidden = c.hidden;
  out.layers = c.layers;
  out.heads = c.heads;
  out.max_positions = c.max_positions;
  out.extra_first_block = c.extra_first_block && f.has_extra_first_block;
  out.extra_block_mlp_ratio = c.extra_block_mlp_ratio;
  // Injections the family lacks are dropped; when that leaves none of those asked for, it
  // takes its default ones. A decoder asked for without the latent (the LM judge) stays so.
  auto supports = [&](const char* mode) { return std::count(f.injections.begin(), f.injections.end(), mode) > 0; };
  out.latent_as_embedding = c.latent_as_embedding && supports("embedding");
  out.latent_as_memory = c.latent_as_memory && supports("memory");
  if ((c.latent_as_embedding || c.latent_as_memory) && !out.latent_as_embedding && !out.latent_as_memory) {
    out.latent_as_embedding = f.defaults.latent_as_embedding;
    out.latent_as_memory = f.defaults.latent_as_memory;
  }
  out.latent_every_layer = c.latent_every_layer && out.latent_as_embedding;
  out.dropout = c.dropout;
  return out;
}

Warnings load_by_name(torch::nn::Module& module, io::NamedTensors tensors, const std::string& path,
                      const std::vector<std::string>& prefixes, const std::vector<std::string>& ignored, bool with_latent,
                      const std::string& what) {
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : tensors) {
    std::string ours = name;
    for (const auto& p : prefixes)
      if (ours.rfind(p, 0) == 0) {
        ours = ours.substr(p.size());
        break;
      }
    stored.emplace(std::move(ours), std::move(t));
  }
  io::NamedTensors targets;
  Warnings warnings;
  bool pooler_missing = false;
  for (auto& p : module.named_parameters()) {
    if (!with_latent && p.key().rfind("linear", 0) == 0) continue;
    if (p.key().rfind("pooler", 0) == 0 && !stored.count(p.key())) {
      pooler_missing = true;
      continue;
    }
    targets.emplace_back(p.key(), p.value());
  }
  copy_tensors(targets, stored, path, what, "the configuration");
  if (pooler_missing) warnings.push_back(path + ": no pooler weights: the pooler starts fresh");
  for (const auto& [name, t] : stored)
    if (!std::count(ignored.begin(), ignored.end(), name)) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

void require(bool ok, const std::string& where, const char* key, const std::string& why) {
  if (!ok) throw Error(where + ": " + key, why);
}

void check_unread_encoder_keys(const EncoderConfig& c, const std::string& where, const std::string& family,
                               std::initializer_list<const char*> reads) {
  const EncoderConfig d;
  const std::pair<const char*, bool> keys[] = {
      {"extra_layer", c.extra_layer != d.extra_layer},       {"embedding_size", c.embedding_size != d.embedding_size},
      {"layer_groups", c.layer_groups != d.layer_groups},    {"inner_group_num", c.inner_group_num != d.inner_group_num},
      {"head_dim", c.head_dim != d.head_dim},                {"relative_buckets", c.relative_buckets != d.relative_buckets},
      {"relative_max_distance", c.relative_max_distance != d.relative_max_distance},
      {"relative_attention", c.relative_attention != d.relative_attention},
      {"max_relative_positions", c.max_relative_positions != d.max_relative_positions},
      {"position_biased_input", c.position_biased_input != d.position_biased_input}};
  for (const auto& [key, changed] : keys) {
    bool read = false;
    for (const char* r : reads) read = read || std::string(r) == key;
    require(read || !changed, where, key, "the " + family + " family has no such setting (its default is kept only)");
  }
  bool no_types = false;  // type_vocab 0 (no token-type embedding): DeBERTa's only
  for (const char* r : reads) no_types = no_types || std::string(r) == "type_vocab";
  require(no_types || c.type_vocab >= 1, where, "type_vocab", "the " + family + " family needs at least one token type, got 0");
}

void check_unread_decoder_keys(const DecoderConfig& c, const std::string& where, const std::string& family,
                               std::initializer_list<const char*> reads) {
  const DecoderConfig d;
  const std::pair<const char*, bool> keys[] = {
      {"intermediate", c.intermediate != d.intermediate},
      {"kv_heads", c.kv_heads != d.kv_heads},
      {"rms_norm_eps", c.rms_norm_eps != d.rms_norm_eps},
      {"rope_theta", c.rope_theta != d.rope_theta},
      {"rope_scaling", c.rope_scaling != d.rope_scaling},
      {"rope_factor", c.rope_factor != d.rope_factor},
      {"rope_low_freq_factor", c.rope_low_freq_factor != d.rope_low_freq_factor},
      {"rope_high_freq_factor", c.rope_high_freq_factor != d.rope_high_freq_factor},
      {"rope_original_max_positions", c.rope_original_max_positions != d.rope_original_max_positions},
      {"tied_head", c.tied_head != d.tied_head},
      {"qkv_bias", c.qkv_bias != d.qkv_bias},
      {"lora_rank", c.lora_rank != d.lora_rank},
      {"latent_from_block", c.latent_from_block != d.latent_from_block},
      {"cpu_decode_weights", c.cpu_decode_weights != d.cpu_decode_weights},
      {"extra_block_mlp_ratio", c.extra_block_mlp_ratio != d.extra_block_mlp_ratio},
      {"head_dim", c.head_dim != d.head_dim},
      {"relative_buckets", c.relative_buckets != d.relative_buckets},
      {"relative_max_distance", c.relative_max_distance != d.relative_max_distance},
      {"activation", c.activation != d.activation}};
  for (const auto& [key, changed] : keys) {
    bool read = false;
    for (const char* r : reads) read = read || std::string(r) == key;
    require(read || !changed, where, key, "the " + family + " family has no such setting (its default is kept only)");
  }
}

// --- what every encoder shares ---

EncoderOutput EncoderImpl::forward(const at::Tensor& ids) {
  if (config.pooling == "tokens") {  // t5-vae: the first n positions, each projected, then tanh
    const int64_t B = ids.size(0), n = latent_tokens;
    const auto padded = ids.size(1) >= n ? ids : at::constant_pad_nd(ids, {0, n - ids.size(1)}, pad_id);
    const auto mask = padded.ne(pad_id);
    const auto both = linear(hidden_states(padded, mask).narrow(1, 0, n)).chunk(2, -1);  // 2 x (B, n, D/n)
    return {at::tanh(both[0]).reshape({B, latent_dim}), both[1].reshape({B, latent_dim})};
  }
  const auto mask = ids.ne(pad_id);                          // (B, L)
  const auto pooled = pool(hidden_states(ids, mask), mask);  // (B, H)
  const auto both = linear(pooled).chunk(2, -1);             // 2 x (B, D)
  return {both[0], both[1]};
}

at::Tensor EncoderImpl::noisy_embeddings(const at::Tensor& emb) const {
  if (!is_training() || !(config.embedding_noise > 0)) return emb;
  return emb + at::randn_like(emb) * config.embedding_noise;
}

void EncoderImpl::init_latent_projection(int hidden) {
  const int out = 2 * (config.pooling == "tokens" ? latent_dim / latent_tokens : latent_dim);
  linear = register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(hidden, out).bias(false)));
  torch::NoGradGuard guard;
  // The draw the family's N(0, 0.02) initialisation made for "linear" before the registry
  // (it was its last parameter): the random stream, so a seed's starting weights, stay as
  // in earlier versions.
  linear->weight.normal_(0.0, 0.02);
  // A pretrained-style N(0, 0.02) projection would start mu (std ~0.04) below the fixed
  // posterior noise (std sqrt(0.008) = 0.09), and a decoder trained from scratch then
  // learns to ignore z. DMLP avoids this through a pretrained encoder whose pooled output
  // saturates; from scratch, an O(1) projection gives the same start.
  linear->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(hidden)));
}

at::Tensor masked_mean(const at::Tensor& h, const at::Tensor& mask) {
  const auto m = mask.unsqueeze(-1).to(h.scalar_type());  // (B, L, 1)
  return (h * m).sum(1) / m.sum(1).clamp_min(1.0);        // (B, H)
}

}  // namespace latent

namespace latent {
int hf_positive_int(const nlohmann::json& j, const char* key, const std::string& where, int fallback) {
  if (fallback > 0 && !j.contains(key)) return fallback;
  if (!j.contains(key) || !j[key].is_number_integer()) throw Error(where + ": " + key, "missing or not an integer");
  const int64_t v = j[key].get<int64_t>();
  if (v <= 0 || v > (int64_t(1) << 30)) throw Error(where + ": " + key, "must be positive and below 2^30, got " + std::to_string(v));
  return static_cast<int>(v);
}

double hf_positive_number(const nlohmann::json& j, const char* key, const std::string& where, double fallback) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number() || !(j[key].get<double>() > 0))
    throw Error(where + ": " + key, "must be a positive number, got " + j[key].dump());
  return j[key].get<double>();
}
}  // namespace latent
