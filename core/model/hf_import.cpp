#include "model/hf_import.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/model_io.h"
#include "util/error.h"

namespace latent {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(path)) throw Error(path, "missing: a Hugging Face model folder needs config.json");
  auto j = io::read_json_file(path);  // syntax errors with line and column
  if (!j.is_object()) throw Error(path, "not a JSON object");
  return j;
}

int int_key(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_number_integer()) throw Error(path + ": " + key, "missing or not an integer");
  const int v = j[key].get<int>();
  if (v <= 0) throw Error(path + ": " + key, "must be positive, got " + std::to_string(v));
  return v;
}

}  // namespace

EncoderConfig hf_bert_config(const std::string& dir, const EncoderConfig& base) {
  const auto j = read_config(dir);
  const std::string path = (fs::path(dir) / "config.json").string();
  EncoderConfig c = base;
  c.hidden = int_key(j, "hidden_size", path);
  c.layers = int_key(j, "num_hidden_layers", path);
  c.heads = int_key(j, "num_attention_heads", path);
  c.intermediate = int_key(j, "intermediate_size", path);
  c.max_positions = int_key(j, "max_position_embeddings", path);
  c.type_vocab = j.value("type_vocab_size", 2);
  if (j.value("hidden_act", std::string("gelu")) != "gelu")
    throw Error(path + ": hidden_act", "only \"gelu\" (erf) is supported, got \"" + j["hidden_act"].get<std::string>() + "\"");
  if (j.value("position_embedding_type", std::string("absolute")) != "absolute")
    throw Error(path + ": position_embedding_type", "only \"absolute\" is supported");
  if (std::abs(j.value("layer_norm_eps", 1e-12) - 1e-12) > 1e-15)
    throw Error(path + ": layer_norm_eps", "only 1e-12 (BERT's) is supported");
  if (c.hidden % c.heads != 0) throw Error(path + ": num_attention_heads", "does not divide hidden_size");
  return c;
}

int hf_bert_vocab_size(const std::string& dir) {
  return int_key(read_config(dir), "vocab_size", (fs::path(dir) / "config.json").string());
}

namespace {

std::string safetensors_of(const std::string& dir) {
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(path)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin"))
      throw Error(path, "missing; the folder has pytorch_model.bin: convert it with tools/hf/convert_bin_to_safetensors.py " + dir);
    throw Error(path, "missing");
  }
  return path;
}

// BERT tensors (BertModel names, optional "bert." prefix) into the encoder; with_linear:
// DMLP's latent projection "linear" too, else it keeps its initialisation.
std::vector<std::string> load_bert_tensors(Encoder& encoder, io::NamedTensors tensors, const std::string& path,
                                           bool with_linear) {
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : tensors) stored.emplace(name.rfind("bert.", 0) == 0 ? name.substr(5) : name, t);
  io::NamedTensors targets;
  for (auto& p : encoder->named_parameters())
    if (with_linear || p.key().rfind("linear.", 0) != 0) targets.emplace_back(p.key(), p.value());
  copy_tensors(targets, stored, path, "BERT tensors", "the configuration");
  std::vector<std::string> warnings;
  for (const auto& [name, t] : stored)
    if (name != "embeddings.position_ids") warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

std::vector<std::string> load_hf_bert(Encoder& encoder, const std::string& dir) {
  const std::string path = safetensors_of(dir);
  return load_bert_tensors(encoder, io::load(path), path, /*with_linear=*/false);
}

std::vector<std::string> load_dmlp_encoder(Encoder& encoder, const std::string& path) {
  return load_bert_tensors(encoder, io::load(path), path, /*with_linear=*/true);
}

DecoderConfig hf_gpt2_config(const std::string& dir, const DecoderConfig& base) {
  const auto j = read_config(dir);
  const std::string path = (fs::path(dir) / "config.json").string();
  DecoderConfig c = base;
  c.hidden = int_key(j, "n_embd", path);
  c.layers = int_key(j, "n_layer", path);
  c.heads = int_key(j, "n_head", path);
  c.max_positions = j.contains("n_positions") ? int_key(j, "n_positions", path) : int_key(j, "n_ctx", path);
  const std::string act = j.value("activation_function", std::string("gelu_new"));
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    throw Error(path + ": activation_function", "only GPT-2's tanh GELU (gelu_new) is supported, got \"" + act + "\"");
  if (std::abs(j.value("layer_norm_epsilon", 1e-5) - 1e-5) > 1e-12)
    throw Error(path + ": layer_norm_epsilon", "only 1e-5 (GPT-2's) is supported");
  if (!j.value("tie_word_embeddings", true)) throw Error(path + ": tie_word_embeddings", "the decoder's head is tied");
  if (c.hidden % c.heads != 0) throw Error(path + ": n_head", "does not divide n_embd");
  return c;
}

int hf_gpt2_vocab_size(const std::string& dir) {
  return int_key(read_config(dir), "vocab_size", (fs::path(dir) / "config.json").string());
}

namespace {

// GPT-2 tensors into the decoder. shift: added to HF block indices (1 puts them behind
// DMLP's extra first block, which then keeps its initialisation); with_latent: the
// latent projections too (DMLP's own state), else they keep theirs.
std::vector<std::string> load_gpt2_tensors(Decoder& decoder, io::NamedTensors tensors, const std::string& path, int shift,
                                           bool with_latent) {
  // "h.3.attn.c_attn.weight" -> "transformer.h.4.attn.c_attn.weight"
  auto ours = [&](std::string name) {
    if (name.rfind("transformer.", 0) == 0) name = name.substr(12);
    if (name.rfind("h.", 0) == 0) {
      const size_t dot = name.find('.', 2);
      name = "h." + std::to_string(std::stoi(name.substr(2, dot - 2)) + shift) + name.substr(dot);
    }
    return "transformer." + name;
  };
  std::map<std::string, at::Tensor> stored;
  std::vector<std::string> warnings;
  for (auto& [name, t] : tensors) {
    if (name == "lm_head.weight" || name.find(".attn.bias") != std::string::npos ||
        name.find(".attn.masked_bias") != std::string::npos)
      continue;  // tied head, causal-mask buffers
    if (name == "lm_head.bias") {  // DMLP's head has a bias, zero unless trained; ours has none
      const double m = t.abs().max().item<double>();
      if (m > 0) warnings.push_back(path + ": lm_head.bias is not zero (max |b| = " + std::to_string(m) +
                                    "); this decoder has no head bias, so its logits differ by it");
      continue;
    }
    const bool conv1d = name.find("attn.c_attn.weight") != std::string::npos ||
                        name.find("attn.c_proj.weight") != std::string::npos ||
                        name.find("mlp.c_fc.weight") != std::string::npos ||
                        name.find("mlp.c_proj.weight") != std::string::npos;
    stored.emplace(ours(name), conv1d ? t.t() : t);  // Conv1D stores (in, out)
  }
  io::NamedTensors targets;
  for (auto& p : decoder->named_parameters()) {
    const std::string& name = p.key();
    if (!with_latent && name.rfind("transformer.linear", 0) == 0) continue;
    if (shift > 0 && name.rfind("transformer.h.0.", 0) == 0) continue;
    at::Tensor dst = p.value();
    const auto it = stored.find(name);
    if (name == "transformer.wte.weight" && it != stored.end() && it->second.dim() == 2 &&
        it->second.size(0) <= dst.size(0) && it->second.size(1) == dst.size(1))
      dst = dst.narrow(0, 0, it->second.size(0));  // added tokens keep their fresh rows
    targets.emplace_back(name, dst);
  }
  copy_tensors(targets, stored, path, "GPT-2 tensors", "the configuration");
  for (const auto& [name, t] : stored) warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace

std::vector<std::string> load_hf_gpt2(Decoder& decoder, const std::string& dir) {
  const std::string path = safetensors_of(dir);
  return load_gpt2_tensors(decoder, io::load(path), path, decoder->config.extra_first_block ? 1 : 0, /*with_latent=*/false);
}

std::vector<std::string> load_dmlp_decoder(Decoder& decoder, const std::string& path) {
  return load_gpt2_tensors(decoder, io::load(path), path, 0, /*with_latent=*/true);
}

}  // namespace latent
