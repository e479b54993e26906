#include "model/pretrained.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "model/model_io.h"
#include "util/alloc_budget.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;
namespace {

std::string path_in(const std::string& dir, const std::string& file) { return (fs::path(dir) / file).string(); }

// The encoder's tokenizer must cover exactly the model's embedding rows; the decoder's
// may add tokens (DMLP's <PAD>, <BOS>, <EOS>) after the pretrained rows.
// source: where the row counts come from ("config.json", "dmlp.json").
void check_vocab(const TextCodec& enc, int enc_rows, const std::string& bert_dir, const TextCodec& dec, int dec_rows,
                 const std::string& gpt2_dir, const std::string& source, bool enc_padded) {
  if (enc_padded ? enc.vocab_size() > enc_rows : enc.vocab_size() != enc_rows)
    throw Error(bert_dir, "the tokenizer has " + std::to_string(enc.vocab_size()) + " tokens but " + source +
                              " gives the encoder " + std::to_string(enc_rows));
  if (dec.vocab_size() < dec_rows)
    throw Error(gpt2_dir, "the tokenizer has " + std::to_string(dec.vocab_size()) + " tokens (with <PAD>, <BOS>, <EOS>) but " +
                              source + " gives the decoder " + std::to_string(dec_rows));
}

// max_length within both models' positions (BOS/EOS, and the decoder's memory slot).
void fit_max_length(ModelConfig& m) {
  const int enc_extra = encoder_family(m.encoder.arch, "model.encoder.arch").extra_positions;
  m.max_length = std::min({m.max_length, m.encoder.max_positions - 2 - enc_extra, m.decoder.max_positions - 3});
  if (m.max_length < 1) throw Error("max_position_embeddings", "the pretrained models have too few positions");
}

const nlohmann::json& section(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j[key].is_object()) throw Error(where + ": " + key, "missing or not an object");
  return j[key];
}

template <class T> T value(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw Error(where + ": " + key, "missing");
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw Error(where + ": " + key, "has the wrong type: " + j[key].dump());
  }
}

// The tokenizer a folder holds must be the kind its family reads.
void check_tokenizer_kind(const TextCodec& codec, const std::string& want, const std::string& family, const std::string& dir) {
  if (codec.kind() != want)
    throw Error(dir, "the " + family + " family reads a " + want + " tokenizer, but the folder holds a " + codec.kind() + " one");
}

// The model that the folders' config files describe is built within a budget set by the
// weights those folders hold (util/alloc_budget.h).
VaeDdpm build_within_weights(const ModelConfig& m, const Tokenizers& tokenizers, const std::vector<std::string>& weight_files,
                             const std::string& where) {
  uint64_t bytes = 0;
  for (const auto& f : weight_files) {
    std::error_code ec;
    const uint64_t size = fs::file_size(f, ec);
    if (!ec) bytes += size;
  }
  AllocationBudget budget(AllocationBudget::for_weights(bytes), where, "the weights hold " + format_bytes(bytes) + ": its shapes do not match the weights");
  return VaeDdpm(m, tokenizers);
}

}  // namespace

void dmlp_finetune(TrainConfig& c) {
  c.optimizer = "adam";
  c.lr = 9e-5;
  c.adam_eps = 1e-5;
  c.lr_power = 3.0;
  c.lr_end_ratio = 0.01;
  c.grad_clip = 1.0;
  c.trainable = "dmlp";
  c.ddpm_detach_steps = 0;
}

ImportedModel import_hf(const std::string& bert_dir, const std::string& gpt2_dir, const Config& base) {
  ImportedModel r;
  r.config = base;
  ModelConfig& m = r.config.model;
  m.encoder = hf_encoder_config(bert_dir, base.model.encoder);
  m.decoder = hf_decoder_config(gpt2_dir, base.model.decoder);
  m.tokenizer.type = "pretrained";
  fit_max_length(m);
  validate(r.config, "import-hf");

  r.tokenizers = Tokenizers(load_codec(bert_dir), load_codec(gpt2_dir));
  check_tokenizer_kind(*r.tokenizers.encoder, encoder_family(m.encoder.arch, bert_dir).tokenizer, m.encoder.arch, bert_dir);
  check_tokenizer_kind(*r.tokenizers.decoder, decoder_family(m.decoder.arch, gpt2_dir).tokenizer, m.decoder.arch, gpt2_dir);
  check_vocab(*r.tokenizers.encoder, hf_vocab_size(bert_dir), bert_dir, *r.tokenizers.decoder, hf_vocab_size(gpt2_dir),
              gpt2_dir, "config.json", encoder_family(m.encoder.arch, bert_dir).padded_embedding);
  m.tokenizer.vocab_size = r.tokenizers.decoder->vocab_size();  // informative only with "pretrained"
  torch::manual_seed(r.config.train.seed);
  r.model = build_within_weights(m, r.tokenizers, {path_in(bert_dir, "model.safetensors"), path_in(gpt2_dir, "model.safetensors")},
                                 path_in(bert_dir, "config.json") + " and " + path_in(gpt2_dir, "config.json"));
  for (auto& w : load_hf_encoder(*r.model->encoder, bert_dir)) r.warnings.push_back(std::move(w));
  for (auto& w : load_hf_decoder(*r.model->decoder, gpt2_dir)) r.warnings.push_back(std::move(w));
  r.model->eval();
  return r;
}

ImportedModel import_dmlp(const std::string& export_dir, const std::string& bert_dir, const std::string& gpt2_dir) {
  const std::string jpath = path_in(export_dir, "dmlp.json");
  if (!fs::exists(jpath))
    throw Error(export_dir, "no dmlp.json: convert DMLP's checkpoint first with tools/dmlp/convert_checkpoint.py");
  const nlohmann::json j = io::read_json_file(jpath);
  const auto& je = section(j, "encoder", jpath);
  const auto& jd = section(j, "decoder", jpath);
  const auto& jdiff = section(j, "diffusion", jpath);
  const auto& jn = section(j, "noise_net", jpath);

  ImportedModel r;
  ModelConfig& m = r.config.model;
  // An Optimus checkpoint (tools/optimus/convert_checkpoint.py): the same classes, a learned
  // posterior, no diffusion prior (the noise network starts fresh), and a GPT-2 tokenizer
  // that puts a space before the text.
  // A DAVAE checkpoint (tools/davae/convert_checkpoint.py, Randeng-DAVAE): the same, with
  // DAVAE's decoder family and T5 SentencePiece decoder tokenizer.
  const bool optimus = j.contains("optimus") && value<bool>(j, "optimus", jpath);
  const bool davae = j.contains("davae") && value<bool>(j, "davae", jpath);
  const bool no_prior = optimus || davae;
  m.latent_dim = value<int>(j, "latent_size", jpath);
  m.alpha_ddpm = value<double>(j, "ddpm_weight", jpath);
  m.loss_pairing = "dmlp";
  m.posterior = no_prior ? value<std::string>(j, "posterior", jpath) : "fixed";
  if (m.posterior != "fixed" && m.posterior != "learned" && m.posterior != "deterministic")
    throw Error(jpath + ": posterior", "must be \"fixed\", \"learned\" or \"deterministic\", got \"" + m.posterior + "\"");
  m.word_dropout = 0.0;
  m.tokenizer.type = "pretrained";
  // DMLP's class names pick the families and their settings (pooling, extra block).
  const EncoderClass ec = encoder_class_for_dmlp(value<std::string>(je, "class", jpath + ": encoder"), jpath + ": encoder.class");
  const DecoderClass dc = decoder_class_for_dmlp(value<std::string>(jd, "class", jpath + ": decoder"), jpath + ": decoder.class");
  const EncoderConfig enc_base = merge_encoder_config(ec.family->defaults, nlohmann::json::parse(ec.dmlp->overrides),
                                                      "DMLP class " + ec.dmlp->name);
  DecoderConfig dec_base = merge_decoder_config(dc.family->defaults, nlohmann::json::parse(dc.dmlp->overrides),
                                                "DMLP class " + dc.dmlp->name);
  dec_base.latent_as_embedding = value<bool>(jd, "latent_as_gpt_emb", jpath + ": decoder");
  dec_base.latent_as_memory = value<bool>(jd, "latent_as_gpt_memory", jpath + ": decoder");
  m.encoder = hf_encoder_config(bert_dir, enc_base);
  m.decoder = hf_decoder_config(gpt2_dir, dec_base);
  if (m.encoder.arch != ec.family->name)
    throw Error(bert_dir, "is a " + m.encoder.arch + " model, but DMLP's " + ec.dmlp->name + " needs one of the " + ec.family->name + " family");
  if (m.decoder.arch != dc.family->name)
    throw Error(gpt2_dir, "is a " + m.decoder.arch + " model, but DMLP's " + dc.dmlp->name + " needs one of the " + dc.family->name + " family");
  // What the converter read from the tensors must be what the class names imply.
  if (je.contains("extra_layer") && value<bool>(je, "extra_layer", jpath + ": encoder") != m.encoder.extra_layer)
    throw Error(jpath + ": encoder.extra_layer", "does not match DMLP's class " + ec.dmlp->name);
  if (jd.contains("extra_block_inner") &&
      value<int>(jd, "extra_block_inner", jpath + ": decoder") != m.decoder.extra_block_mlp_ratio * m.decoder.hidden)
    throw Error(jpath + ": decoder.extra_block_inner", jd["extra_block_inner"].dump() + " is not " +
                                                           std::to_string(m.decoder.extra_block_mlp_ratio) + " x " +
                                                           std::to_string(m.decoder.hidden) + " (DMLP's class " +
                                                           dc.dmlp->name + ")");
  const int blocks = m.decoder.layers + (m.decoder.extra_first_block ? 1 : 0);
  if (jd.contains("blocks") && value<int>(jd, "blocks", jpath + ": decoder") != blocks)
    throw Error(jpath + ": decoder.blocks", "the export has " + jd["blocks"].dump() + " blocks but " + gpt2_dir +
                                                " gives " + std::to_string(blocks) + ": is it the GPT-2 the run started from?");

  m.diffusion.steps = value<int>(jdiff, "T", jpath + ": diffusion");
  const std::string schedule = value<std::string>(jdiff, "schedule", jpath + ": diffusion");
  if (schedule != "constant")
    throw Error(jpath + ": diffusion.schedule", "only DMLP's constant schedule is supported, got \"" + schedule + "\"");
  m.diffusion.schedule = "constant";
  m.diffusion.beta = value<double>(jdiff, "beta", jpath + ": diffusion");

  const std::string type = value<std::string>(jn, "type", jpath + ": noise_net");
  m.noise_net.type = type == "mlp_skip" || type == "transformer" || type == "linear" ? type : "";
  if (m.noise_net.type.empty()) throw Error(jpath + ": noise_net.type", "unknown noise network \"" + type + "\"");
  if (jn.contains("layers")) m.noise_net.layers = value<int>(jn, "layers", jpath + ": noise_net");
  if (jn.contains("hidden")) m.noise_net.hidden = value<int>(jn, "hidden", jpath + ": noise_net");
  if (jn.contains("heads")) m.noise_net.heads = value<int>(jn, "heads", jpath + ": noise_net");
  if (jn.contains("dropout")) m.noise_net.dropout = value<double>(jn, "dropout", jpath + ": noise_net");
  if (type == "transformer")
    r.warnings.push_back(jpath + ": DMLP's TransformerNet attends across the batch (batch_first=False); ours attends "
                         "over each sample's tokens, so noise predictions differ from DMLP's");
  fit_max_length(m);
  dmlp_finetune(r.config.train);
  r.config.train.warmup_steps = 0;  // continuing a trained model
  if (no_prior) {
    // No prior to keep: a run from this model trains a fresh noise network on Optimus's
    // latents as they are (detached), leaving its encoder and decoder to their own loss.
    m.alpha_ddpm = 1.0;
    r.config.train.ddpm_detach_steps = 1000000000;
  }
  validate(r.config, jpath);

  r.tokenizers = Tokenizers(load_codec(bert_dir), load_codec(gpt2_dir));
  if (jd.contains("tokenizer_add_prefix_space") && value<bool>(jd, "tokenizer_add_prefix_space", jpath + ": decoder"))
    r.tokenizers.decoder = gpt2_with_prefix_space(r.tokenizers.decoder, gpt2_dir);
  check_tokenizer_kind(*r.tokenizers.encoder, ec.family->tokenizer, ec.family->name, bert_dir);
  check_tokenizer_kind(*r.tokenizers.decoder, dc.family->tokenizer, dc.family->name, gpt2_dir);
  check_vocab(*r.tokenizers.encoder, value<int>(je, "vocab_size", jpath + ": encoder"), bert_dir, *r.tokenizers.decoder,
              value<int>(jd, "vocab_size", jpath + ": decoder"), gpt2_dir, jpath, ec.family->padded_embedding);
  m.tokenizer.vocab_size = r.tokenizers.decoder->vocab_size();
  if (r.tokenizers.decoder->vocab_size() != value<int>(jd, "vocab_size", jpath + ": decoder"))
    throw Error(gpt2_dir, "the tokenizer has " + std::to_string(r.tokenizers.decoder->vocab_size()) +
                              " tokens with its special tokens but " + jpath + " (decoder.vocab_size) gives the DMLP decoder " +
                              jd["vocab_size"].dump() + " rows");
  if (jd.contains("special_tokens") && jd["special_tokens"].is_object()) {
    const SpecialIds ids = r.tokenizers.decoder->specials();
    const auto& st = jd["special_tokens"];
    for (const auto& [name, ours] : std::map<std::string, int>{{"pad", ids.pad}, {"bos", ids.bos}, {"eos", ids.eos}}) {
      const std::string key = jpath + ": decoder.special_tokens." + name;
      if (!st.contains(name) || !st[name].is_object()) throw Error(key, "missing");
      const int theirs = value<int>(st[name], "id", key);
      if (theirs != ours)
        throw Error(key, "id " + std::to_string(theirs) + " in DMLP's run, " + std::to_string(ours) + " in " + gpt2_dir);
    }
  } else {
    r.warnings.push_back(jpath + ": no decoder.special_tokens (exported without --gpt2): the <PAD>, <BOS>, <EOS> ids of " +
                         gpt2_dir + " are assumed to be the run's");
  }

  torch::manual_seed(r.config.train.seed);  // what the export does not hold (an Optimus noise network) starts the same
  auto file = [&](const char* key, const char* fallback) {
    const bool listed = j.contains("files") && j["files"].is_object() && j["files"].contains(key);
    return path_in(export_dir, listed ? value<std::string>(j["files"], key, jpath + ": files") : fallback);
  };
  // Within what the files it is loaded from hold (an Optimus export has no eps_model file).
  r.model = build_within_weights(m, r.tokenizers, {file("encoder", "encoder.safetensors"), file("decoder", "decoder.safetensors"),
                                                   file("eps_model", "eps_model.safetensors")}, jpath);
  for (auto& w : load_dmlp_encoder(*r.model->encoder, file("encoder", "encoder.safetensors"))) r.warnings.push_back(std::move(w));
  for (auto& w : load_dmlp_decoder(*r.model->decoder, file("decoder", "decoder.safetensors"))) r.warnings.push_back(std::move(w));
  if (no_prior) {
    r.warnings.push_back(jpath + (davae ? ": a DAVAE model" : ": an Optimus model") + " has no diffusion prior: the noise network is fresh (latent-cli train "
                                 "--init trains it on the model's latents, detached, before sampling from the prior)");
    r.model->eval();
    return r;
  }
  const std::string eps_path = file("eps_model", "eps_model.safetensors");
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : io::load(eps_path)) stored.emplace(name, std::move(t));
  copy_tensors(state_tensors(*r.model->eps_model), stored, eps_path, "noise network tensors", "dmlp.json's noise_net");
  for (const auto& [name, t] : stored) r.warnings.push_back(eps_path + ": ignored tensor " + name);
  r.model->eval();
  return r;
}

int apply_delta(VaeDdpmImpl& model, const std::string& path) {
  const io::NamedTensors delta = io::load(path);
  std::map<std::string, at::Tensor> targets;
  for (auto& p : model.named_parameters()) targets.emplace(p.key(), p.value());
  for (auto& b : model.named_buffers()) targets.emplace(b.key(), b.value());
  std::string problems;
  auto problem = [&](const std::string& text) {
    if (problems.size() < 600) problems += (problems.empty() ? "" : "; ") + text;
  };
  for (const auto& [name, t] : delta) {
    const auto it = targets.find(name);
    if (it == targets.end())
      problem("\"" + name + "\" is not in the model");
    else if (t.sizes() != it->second.sizes())
      problem("\"" + name + "\" has shape " + c10::str(t.sizes()) + ", the model's is " + c10::str(it->second.sizes()));
    else if (t.is_floating_point() && !at::isfinite(t).all().item<bool>())
      problem("\"" + name + "\" holds non-finite values");
  }
  if (delta.empty()) problem("it holds no tensors");
  if (!problems.empty()) throw Error(path, problems + " (the delta does not fit these base models: nothing was applied)");
  torch::NoGradGuard guard;
  for (const auto& [name, t] : delta) targets.at(name).copy_(t.to(targets.at(name).scalar_type()));
  return static_cast<int>(delta.size());
}

}  // namespace latent
