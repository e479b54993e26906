// models: the registered encoder and decoder families, the Hugging Face model_types and
// DMLP classes each one reads, its tokenizer and its defaults (model/family.h).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "model/config.h"
#include "model/family.h"

namespace latent::cli {
namespace {

template <class Family>
nlohmann::json family_json(const Family& f, const nlohmann::json& defaults) {
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& c : f.dmlp_classes) classes.push_back({{"name", c.name}, {"sets", nlohmann::json::parse(c.overrides)}});
  return {{"name", f.name}, {"description", f.description}, {"hf_model_types", f.hf_model_types},
          {"dmlp_classes", classes}, {"tokenizer", f.tokenizer}, {"defaults", defaults}};
}

void print_family(const nlohmann::json& f) {
  std::printf("  %-10s %s\n", f["name"].get<std::string>().c_str(), f["description"].get<std::string>().c_str());
  std::string types;
  for (const auto& t : f["hf_model_types"]) types += (types.empty() ? "" : ", ") + t.get<std::string>();
  std::printf("  %-10s hf model_type: %s   tokenizer: %s\n", "", types.c_str(), f["tokenizer"].get<std::string>().c_str());
  for (const auto& c : f["dmlp_classes"])
    std::printf("  %-10s dmlp: %s %s\n", "", c["name"].get<std::string>().c_str(), c["sets"].dump().c_str());
  if (f.contains("injections")) {
    std::string inj;
    for (const auto& t : f["injections"]) inj += (inj.empty() ? "" : ", ") + t.get<std::string>();
    std::printf("  %-10s latent injection: %s\n", "", inj.c_str());
  }
  std::printf("  %-10s defaults: %s\n", "", f["defaults"].dump().c_str());
}

}  // namespace

void add_family_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("models", "List the registered model families (encoders, decoders), the Hugging Face "
                                           "model_types and DMLP classes each reads, and their defaults");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->callback([json] {
    nlohmann::json out = {{"encoders", nlohmann::json::array()}, {"decoders", nlohmann::json::array()}};
    Config c;
    for (const EncoderFamily* f : encoder_families()) {
      c.model.encoder = f->defaults;
      out["encoders"].push_back(family_json(*f, config_to_json(c)["model"]["encoder"]));
    }
    for (const DecoderFamily* f : decoder_families()) {
      c.model.decoder = f->defaults;
      auto j = family_json(*f, config_to_json(c)["model"]["decoder"]);
      j["injections"] = f->injections;
      out["decoders"].push_back(std::move(j));
    }
    if (*json) {
      print_json(out);
      return;
    }
    std::printf("encoder families (model.encoder.arch):\n");
    for (const auto& f : out["encoders"]) print_family(f);
    std::printf("decoder families (model.decoder.arch):\n");
    for (const auto& f : out["decoders"]) print_family(f);
  });
}

}  // namespace latent::cli
