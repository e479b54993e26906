#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <filesystem>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/model_io.h"
#include "train/optimizer.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;

namespace {
void replace_dir(const std::string& partial, const std::string& dir) {
  std::error_code ec;
  const std::string old = dir + ".old";
  fs::remove_all(old, ec);
  if (fs::exists(dir, ec)) {
    fs::rename(dir, old, ec);
    if (ec) throw Error(dir, "cannot move the previous checkpoint aside: " + ec.message());
  }
  fs::rename(partial, dir, ec);
  if (ec) throw Error(dir, "cannot move the new checkpoint into place: " + ec.message());
  fs::remove_all(old, ec);
}
}  // namespace

void write_checkpoint(const std::string& dir, const Config& config, const Tokenizers& tok, VaeDdpm& model,
                      const AdamOptimizer* optim, const TrainerState& st) {
  const std::string partial = dir + ".partial";
  std::error_code ec;
  fs::remove_all(partial, ec);
  fs::create_directories(partial, ec);
  if (ec) throw Error(partial, "cannot create folder: " + ec.message());
  if (optim) {
    io::NamedTensors tensors = optim->state();
    tensors.emplace_back("rng.cpu", at::detail::getDefaultCPUGenerator().get_state());
    if (torch::cuda::is_available())
      tensors.emplace_back("rng.cuda", at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0)).get_state());
    io::save(io::join(partial, io::files::kTrainerStateTensors), tensors);
    io::write_json_file(io::join(partial, io::files::kTrainerStateJson),
                        {{"step", st.step}, {"epoch", st.epoch}, {"batch_in_epoch", st.batch_in_epoch},
                         {"nonfinite_total", st.nonfinite_total}, {"nonfinite_run", st.nonfinite_run},
                         {"best_bleu", st.best_bleu}, {"optimizer_step", optim->steps()}});
  }
  save_model(partial, config, tok, model);
  replace_dir(partial, dir);
}

TrainerState read_trainer_state(const std::string& dir) {
  const std::string path = io::join(dir, io::files::kTrainerStateJson);
  const auto j = io::read_json_file(path);
  TrainerState st;
  try {
    st.step = j.at("step").get<int64_t>();
    st.epoch = j.at("epoch").get<int64_t>();
    st.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
    st.nonfinite_total = j.at("nonfinite_total").get<int64_t>();
    st.nonfinite_run = j.at("nonfinite_run").get<int64_t>();
    st.best_bleu = j.at("best_bleu").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("incomplete trainer state: ") + e.what());
  }
  return st;
}

void load_optimizer_state(const std::string& dir, AdamOptimizer& optim, const TrainerState& st) {
  const std::string path = io::join(dir, io::files::kTrainerStateTensors);
  io::NamedTensors tensors = io::load(path);
  optim.load_state(tensors, st.step, path);
  for (auto& [name, t] : tensors) {
    at::Generator gen;
    if (name == "rng.cpu") gen = at::detail::getDefaultCPUGenerator();
    else if (name == "rng.cuda" && torch::cuda::is_available()) gen = at::globalContext().defaultGenerator(at::Device(at::kCUDA, 0));
    if (!gen.defined()) continue;
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(t);
  }
}

}  // namespace latent
