// import-hf, import-dmlp: model folders from pretrained Hugging Face folders or from a
// DMLP-trained checkpoint (exported by tools/dmlp/convert_checkpoint.py).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "io/model_dir.h"
#include "model/model_io.h"
#include "model/pretrained.h"

namespace latent::cli {
namespace {

void write_imported(ImportedModel& m, const std::string& out, bool json, const std::string& what) {
  for (const auto& w : m.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  save_model(out, m.config, m.tokenizers, m.model);
  int64_t params = 0;
  for (const auto& p : m.model->parameters()) params += p.numel();
  const std::string toks = m.tokenizers.describe();
  if (json) {
    print_json({{"out", out}, {"params", params}, {"tokenizers", toks}, {"warnings", m.warnings},
                {"latent_dim", m.config.model.latent_dim}, {"max_length", m.config.model.max_length}});
    return;
  }
  std::printf("wrote %s: %s, %lld parameters; %s\n", out.c_str(), what.c_str(), static_cast<long long>(params), toks.c_str());
}

void add_import_hf(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "import-hf", "Build a model folder from a Hugging Face encoder folder (BERT family) and decoder folder (GPT-2 or Llama family), "
      "as DMLP does");
  struct Args {
    std::string encoder, decoder, out, preset = "dmlp", config_file, delta;
    int latent = 0;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--encoder", a->encoder, "BERT-family folder: config.json, model.safetensors, vocab.txt")->required();
  cmd->add_option("--decoder", a->decoder, "GPT-2, Llama-family or T5 folder: config.json, model.safetensors, its tokenizer files")->required();
  cmd->add_option("--out", a->out, "Model folder to write")->required();
  cmd->add_option("--preset", a->preset, "Preset for what the folders do not fix (latent, noise network, diffusion); its training settings "
                                  "are DMLP's, but for the pretrained preset's own")
      ->check(CLI::IsMember(preset_names()))->capture_default_str();
  cmd->add_option("--config", a->config_file, "JSON with \"model\"/\"train\" sections, applied over the preset");
  cmd->add_option("--latent", a->latent, "Latent size (default: the preset's)")->check(CLI::PositiveNumber);
  cmd->add_option("--delta", a->delta, "Safetensors of what training changed (tools/default_model/make_delta.py), "
                                      "applied over the imported weights; give the trained model's config.json as --config");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    Config base = preset(a->preset);
    // DMLP's training settings, under what --config says; the pretrained preset has its own recipe.
    if (a->preset != "pretrained") dmlp_finetune(base.train);
    // --latent wins over --config; set first too, so that the file's keys are checked against it
    // (latent_tokens must divide it).
    if (a->latent > 0) base.model.latent_dim = a->latent;
    if (!a->config_file.empty()) base = merge_config(base, io::read_json_file(a->config_file), a->config_file);
    if (a->latent > 0) base.model.latent_dim = a->latent;
    ImportedModel m = import_hf(a->encoder, a->decoder, base);
    if (!a->delta.empty()) {
      const int n = apply_delta(*m.model, a->delta);
      write_imported(m, a->out, a->json, "pretrained encoder and decoder, " + std::to_string(n) + " trained tensors from " + a->delta);
      return;
    }
    write_imported(m, a->out, a->json, "pretrained encoder and decoder, fresh latent parts and noise network");
  });
}

void add_import_dmlp(CLI::App& app) {
  auto* cmd = app.add_subcommand("import-dmlp", "Build a model folder from a DMLP checkpoint exported by "
                                                "tools/dmlp/convert_checkpoint.py");
  struct Args {
    std::string checkpoint, encoder, decoder, out;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--checkpoint", a->checkpoint, "Folder written by tools/dmlp/convert_checkpoint.py (dmlp.json, *.safetensors)")
      ->required();
  cmd->add_option("--encoder", a->encoder, "The BERT folder the DMLP run started from (tokenizer, config.json)")->required();
  cmd->add_option("--decoder", a->decoder, "The GPT-2 folder the DMLP run started from (tokenizer, config.json)")->required();
  cmd->add_option("--out", a->out, "Model folder to write")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    ImportedModel m = import_dmlp(a->checkpoint, a->encoder, a->decoder);
    write_imported(m, a->out, a->json, "DMLP-trained VAE_DDPM");
  });
}

}  // namespace

void add_import_commands(CLI::App& app) {
  add_import_hf(app);
  add_import_dmlp(app);
}

}  // namespace latent::cli
