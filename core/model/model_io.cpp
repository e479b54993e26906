#include "model/model_io.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/weight_init.h"
#include "util/alloc_budget.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;

io::NamedTensors state_tensors(torch::nn::Module& m) {
  io::NamedTensors out;
  for (const auto& p : m.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

void copy_tensors(const io::NamedTensors& targets, std::map<std::string, at::Tensor>& stored, const std::string& where,
                  const std::string& what, const std::string& against) {
  std::string missing, mismatched;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;  // (destination, source)
  for (const auto& [name, target] : targets) {
    const auto it = stored.find(name);
    if (it == stored.end()) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    if (it->second.sizes() != target.sizes())
      mismatched += (mismatched.empty() ? "" : ", ") + name + " " + c10::str(it->second.sizes()) + " vs " +
                    c10::str(target.sizes());
    else
      copies.emplace_back(target, it->second);
  }
  if (!missing.empty()) throw Error(where, "missing " + what + ": " + missing);
  if (!mismatched.empty()) throw Error(where, "tensor shapes do not match " + against + ": " + mismatched);
  torch::NoGradGuard guard;
  for (auto& [dst, src] : copies) dst.copy_(src);  // copy_ converts the dtype (fp16 files)
  for (const auto& [name, target] : targets) stored.erase(name);
}

void load_state(VaeDdpm& model, io::NamedTensors tensors, const std::string& where) {
  std::map<std::string, at::Tensor> stored;
  for (auto& [name, t] : tensors) stored.emplace(name, std::move(t));
  copy_tensors(state_tensors(*model), stored, where, "tensors for this config", "config.json");
  if (!stored.empty()) {
    std::string extra;
    for (const auto& [name, t] : stored) extra += (extra.empty() ? "" : ", ") + name;
    throw Error(where, "unexpected tensors: " + extra);
  }
}

ModelSnapshot take_snapshot(const Config& config, const Tokenizers& tokenizers, VaeDdpm& model, int64_t step) {
  ModelSnapshot s;
  s.step = step;
  s.config = config;
  s.tokenizers = tokenizers;
  torch::NoGradGuard guard;
  for (auto& [name, t] : state_tensors(*model)) s.tensors.emplace_back(name, t.detach().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true));
  return s;
}

LoadedModel restore_snapshot(const ModelSnapshot& s, const std::string& where) {
  VaeDdpm model{nullptr};
  {
    SkipWeightDraws loaded_next;  // load_state sets every tensor (model/weight_init.h)
    model = VaeDdpm(s.config.model, s.tokenizers);
  }
  load_state(model, s.tensors, where);
  model->eval();
  return {where, s.config, s.tokenizers, std::move(model)};
}

static LoadedModel load_model_files(const std::string& path) {
  const std::string dir = io::resolve_model_dir(path);
  const nlohmann::json j = io::read_model_config(dir);
  const std::string cfg_path = io::join(dir, io::files::kConfig);
  Config config = config_from_json(j, cfg_path);
  Tokenizers tok = load_tokenizers(dir);
  const std::string wpath = io::join(dir, io::files::kWeights);
  std::error_code ec;
  const uint64_t weight_bytes = fs::file_size(wpath, ec);
  if (ec) throw Error(wpath, "cannot read: " + ec.message());
  VaeDdpm model{nullptr};
  {
    AllocationBudget budget(AllocationBudget::for_weights(weight_bytes), cfg_path,
                            std::string(io::files::kWeights) + " holds " + format_bytes(weight_bytes) + ": its shapes do not match the weights");
    SkipWeightDraws loaded_next;  // load_state sets every tensor (model/weight_init.h)
    model = VaeDdpm(config.model, tok);
  }
  load_state(model, io::load(wpath), wpath);
  model->eval();
  return {dir, std::move(config), std::move(tok), std::move(model)};
}

LoadedModel load_model(const std::string& path) {
  return reading(path, [&] { return load_model_files(path); });
}

void save_model(const std::string& dir, const Config& config, const Tokenizers& tokenizers, VaeDdpm& model,
                at::ScalarType dtype) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
  save_tokenizers(dir, tokenizers);
  io::NamedTensors tensors;
  {
    torch::NoGradGuard guard;
    for (auto& [name, t] : state_tensors(*model))
      tensors.emplace_back(name, t.is_floating_point() ? t.detach().to(at::kCPU, dtype) : t.detach().to(at::kCPU));
  }
  io::save(io::join(dir, io::files::kWeights), tensors, {{"format", "pt"}, {"producer", "latent-studio"}});
  io::write_json_file(io::join(dir, io::files::kConfig), config_to_json(config));
}

}  // namespace latent
