// info --model DIR: configuration summary and parameter counts per module.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "io/model_dir.h"
#include "model/model_io.h"

namespace latent::cli {
namespace {

nlohmann::json modules_json(const std::vector<io::ModuleParams>& mods) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& m : mods) j[m.module] = {{"params", m.params}, {"bytes", m.bytes}, {"tensors", m.tensors}};
  return j;
}

void print_config(const nlohmann::json& j, const std::string& prefix) {
  for (const auto& [key, value] : j.items()) {
    if (value.is_object()) {
      print_config(value, prefix + key + ".");
    } else {
      std::printf("  %-36s %s\n", (prefix + key).c_str(), value.dump().c_str());
    }
  }
}

}  // namespace

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Copy a model folder without trainer state, optionally in half precision");
  struct Args {
    std::string model, out, dtype = "f32";
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "Model folder (or a run folder: its best/)")->required();
  cmd->add_option("--out", a->out, "Output model folder")->required();
  cmd->add_option("--dtype", a->dtype, "Weights on disk: f32, f16 or bf16 (loading converts back to f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16"}))->capture_default_str();
  cmd->callback([a] {
    LoadedModel lm = load_model(a->model);
    const auto dtype = a->dtype == "f16" ? at::kHalf : a->dtype == "bf16" ? at::kBFloat16 : at::kFloat;
    save_model(a->out, lm.config, lm.tokenizers, lm.model, dtype);
    std::printf("wrote %s (%s weights)\n", a->out.c_str(), a->dtype.c_str());
  });
}

void add_model_commands(CLI::App& app) {
  add_export(app);
  auto* cmd = app.add_subcommand("info", "Configuration summary and parameter counts per module of a model folder");
  struct Args {
    std::string model;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "Model folder")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    const io::ModelSummary s = io::summarize_model_dir(a->model);
    if (a->json) {
      print_json({{"model", s.dir},
                  {"config", s.config},
                  {"total_params", s.total_params},
                  {"total_bytes", s.total_bytes},
                  {"modules", modules_json(s.modules)},
                  {"submodules", modules_json(s.submodules)},
                  {"tokenizer_vocab", s.tokenizer_vocab},
                  {"tokenizers", s.tokenizers},
                  {"has_trainer_state", s.has_trainer_state}});
      return;
    }
    std::printf("model: %s\nconfiguration:\n", s.dir.c_str());
    print_config(s.config, "");
    std::printf("parameters: %llu (%.1f MB on disk)\n", static_cast<unsigned long long>(s.total_params),
                static_cast<double>(s.total_bytes) / 1e6);
    for (const auto& m : s.modules) {
      std::printf("  %-36s %12llu\n", m.module.c_str(), static_cast<unsigned long long>(m.params));
      for (const auto& sub : s.submodules)
        if (sub.module != m.module && sub.module.rfind(m.module + ".", 0) == 0)
          std::printf("    %-34s %12llu\n", sub.module.c_str(), static_cast<unsigned long long>(sub.params));
    }
    if (s.tokenizer_vocab >= 0) std::printf("tokenizer: %s\n", s.tokenizers.c_str());
    else std::printf("tokenizer: missing\n");
    std::printf("trainer state: %s\n", s.has_trainer_state ? "present (training can resume)" : "none");
  });
}

}  // namespace latent::cli
