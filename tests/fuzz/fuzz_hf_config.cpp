// Hugging Face config.json files as `latent-cli import-hf` reads them (import_hf): the
// model_type picks the family, whose entry maps the configuration; then the tokenizers,
// the model within the budget the weights set, and the weights by name. The other files of
// each folder are the test fixture's of that family (a tiny random model).
#include <cstdint>

#include "model/config.h"
#include "model/hf_import.h"
#include "model/pretrained.h"
#include "torch_fixtures.h"

namespace {

// The fixture folder that supplies the other files for a model_type ("" when unknown).
std::string folder_for(const std::string& model_type) {
  if (model_type == "bert") return latent::fuzz::fixture("dmlp/trained/bert");
  if (model_type == "gpt2") return latent::fuzz::fixture("dmlp/trained/gpt2");
  for (const char* t : {"roberta", "albert", "t5", "llama", "qwen2"})
    if (model_type == t) return latent::fuzz::fixture(std::string("hf/tiny-") + t);
  return "";
}

// Writes DIR/config.json and links the rest of the folder of its model_type.
void make_folder(const std::string& dir, const std::string& config) {
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/config.json", std::ios::binary);
    out << config;
  }
  std::string type;
  try {
    type = latent::hf_model_type(dir);
  } catch (const latent::Error&) {
    return;  // import_hf reports it
  }
  const std::string from = folder_for(type);
  if (!from.empty()) latent::fuzz::link_folder(from, dir, "config.json");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  scratch.clear();
  const auto files = latent::fuzz::split_files(data, size, {"encoder/config.json", "decoder/config.json"});
  std::string enc = "{\"model_type\": \"bert\"}", dec = "{\"model_type\": \"gpt2\"}";
  for (const auto& [name, bytes] : files) (name == "encoder/config.json" ? enc : dec) = bytes;
  make_folder(scratch.dir() + "/encoder", enc);
  make_folder(scratch.dir() + "/decoder", dec);
  latent::fuzz::expect_clean([&] {
    latent::Config base = latent::preset("tiny");
    latent::dmlp_finetune(base.train);
    const latent::ImportedModel m = latent::import_hf(scratch.dir() + "/encoder", scratch.dir() + "/decoder", base);
    latent::validate(m.config, "imported");
  });
  return 0;
}
