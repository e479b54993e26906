#include "model/hf_import.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "util/error.h"

namespace latent {
namespace {

namespace fs = std::filesystem;

std::string config_path(const std::string& dir) { return (fs::path(dir) / "config.json").string(); }

nlohmann::json read_config(const std::string& dir) {
  const std::string path = config_path(dir);
  if (!fs::exists(path)) throw Error(path, "missing: a Hugging Face model folder needs config.json");
  auto j = io::read_json_file(path);  // syntax errors with line and column
  if (!j.is_object()) throw Error(path, "not a JSON object");
  return j;
}

std::string model_type_of(const nlohmann::json& j, const std::string& path) {
  if (!j.contains("model_type") || !j["model_type"].is_string())
    throw Error(path + ": model_type", "missing or not a string (it names the model family)");
  return j["model_type"].get<std::string>();
}

std::string safetensors_of(const std::string& dir) {
  const std::string path = (fs::path(dir) / "model.safetensors").string();
  if (!fs::exists(path)) {
    if (fs::exists(fs::path(dir) / "pytorch_model.bin"))
      throw Error(path, "missing; the folder has pytorch_model.bin: convert it with tools/hf/convert_bin_to_safetensors.py " + dir);
    throw Error(path, "missing");
  }
  return path;
}

}  // namespace

std::string hf_model_type(const std::string& dir) { return model_type_of(read_config(dir), config_path(dir)); }

int hf_vocab_size(const std::string& dir) { return hf_positive_int(read_config(dir), "vocab_size", config_path(dir)); }

EncoderConfig hf_encoder_config(const std::string& dir, const EncoderConfig& base) {
  const auto j = read_config(dir);
  const std::string path = config_path(dir);
  const EncoderFamily& f = encoder_family_for_hf(model_type_of(j, path), path + ": model_type");
  return f.from_hf(j, with_encoder_arch(base, f.name, path), path);
}

DecoderConfig hf_decoder_config(const std::string& dir, const DecoderConfig& base) {
  const auto j = read_config(dir);
  const std::string path = config_path(dir);
  const DecoderFamily& f = decoder_family_for_hf(model_type_of(j, path), path + ": model_type");
  return f.from_hf(j, with_decoder_arch(base, f.name, path), path);
}

Warnings load_hf_encoder(EncoderImpl& encoder, const std::string& dir) {
  const std::string path = safetensors_of(dir);
  return encoder_family(encoder.config.arch, path).load(encoder, io::load(path), path, /*with_latent=*/false);
}

Warnings load_hf_decoder(DecoderImpl& decoder, const std::string& dir) {
  const std::string path = safetensors_of(dir);
  return decoder_family(decoder.config.arch, path).load(decoder, io::load(path), path, /*dmlp=*/false);
}

Warnings load_dmlp_encoder(EncoderImpl& encoder, const std::string& path) {
  return encoder_family(encoder.config.arch, path).load(encoder, io::load(path), path, /*with_latent=*/true);
}

Warnings load_dmlp_decoder(DecoderImpl& decoder, const std::string& path) {
  return decoder_family(decoder.config.arch, path).load(decoder, io::load(path), path, /*dmlp=*/true);
}

}  // namespace latent
