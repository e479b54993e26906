#include "model/hf_import.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_config(const std::string& dir) {
  const std::string path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(path)) throw Error(path, "missing: a Hugging Face model folder needs config.json");
  const auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path, "not a JSON object");
  return j;
}

int int_key(const nlohmann::json& j, const char* key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_number_integer()) throw Error(path + ": " + key, "missing or not an integer");
  return j[key].get<int>();
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

std::vector<std::string> load_hf_bert(Encoder& encoder, const std::string& dir) {
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(path)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin"))
      throw Error(path, "missing; the folder has pytorch_model.bin: convert it with tools/hf/convert_bin_to_safetensors.py " + dir);
    throw Error(path, "missing");
  }
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : io::load(path)) stored.emplace(name.rfind("bert.", 0) == 0 ? name.substr(5) : name, t);
  std::string missing, mismatched;
  {
    torch::NoGradGuard guard;
    for (auto& p : encoder->named_parameters()) {
      if (p.key().rfind("linear.", 0) == 0) continue;  // ours: the latent projection
      const auto it = stored.find(p.key());
      if (it == stored.end()) {
        missing += (missing.empty() ? "" : ", ") + p.key();
        continue;
      }
      if (it->second.sizes() != p.value().sizes())
        mismatched += (mismatched.empty() ? "" : ", ") + p.key() + " " + c10::str(it->second.sizes()) + " vs " +
                      c10::str(p.value().sizes());
      else
        p.value().copy_(it->second.to(p.value().scalar_type()));
      stored.erase(it);
    }
  }
  if (!missing.empty()) throw Error(path, "missing BERT tensors: " + missing);
  if (!mismatched.empty()) throw Error(path, "tensor shapes differ from config.json: " + mismatched);
  std::vector<std::string> warnings;
  for (const auto& [name, t] : stored)
    if (name != "embeddings.position_ids") warnings.push_back(path + ": ignored tensor " + name);
  return warnings;
}

}  // namespace latent
