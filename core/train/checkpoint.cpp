#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <fcntl.h>
#include <stdio.h>

#include <filesystem>

#include "io/model_dir.h"
#include "io/safetensors.h"
#include "model/model_io.h"
#include "train/optimizer.h"
#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;

namespace {
// Puts the complete folder `partial` in place of `dir`. With renameat2(RENAME_EXCHANGE)
// the two swap in one atomic step, so `dir` always names a complete checkpoint, whatever
// moment a kill -9 or a power cut strikes; the old one is then removed. File systems
// without the exchange fall back to rename-aside; a resume takes DIR.old back when a kill
// fell between the two renames (trainer.cpp, load_resumable).
void replace_dir(const std::string& partial, const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
      fs::remove_all(partial, ec);  // now the previous checkpoint
      return;
    }
    const std::string old = dir + ".old";
    fs::remove_all(old, ec);
    fs::rename(dir, old, ec);
    if (ec) throw Error(dir, "cannot move the previous checkpoint aside: " + ec.message());
    fs::rename(partial, dir, ec);
    if (ec) throw Error(dir, "cannot move the new checkpoint into place: " + ec.message());
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(partial, dir, ec);
  if (ec) throw Error(dir, "cannot move the new checkpoint into place: " + ec.message());
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
  auto integer = [&](const char* key) -> int64_t {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) throw Error(path + ": " + key, "missing or not an integer");
    return it->get<int64_t>();
  };
  if (!j.is_object()) throw Error(path, "top level is not a JSON object");
  st.step = integer("step");
  st.epoch = integer("epoch");
  st.batch_in_epoch = integer("batch_in_epoch");
  st.nonfinite_total = integer("nonfinite_total");
  st.nonfinite_run = integer("nonfinite_run");
  const auto best = j.find("best_bleu");
  if (best == j.end() || !best->is_number()) throw Error(path + ": best_bleu", "missing or not a number");
  st.best_bleu = best->get<double>();
  if (st.step < 0 || st.epoch < 0 || st.batch_in_epoch < 0)
    throw Error(path, "negative step, epoch or batch_in_epoch");
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
