// Saving and loading a VaeDdpm model directory (see io/model_dir.h for the layout).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "model/config.h"
#include "model/vae_ddpm.h"
#include "io/safetensors.h"
#include "text/codec.h"

namespace latent {

struct LoadedModel {
  std::string dir;
  Config config;
  Tokenizers tokenizers;
  VaeDdpm model;
};


// Builds the model from config.json, loads weights (every tensor must be present with
// the right shape; unexpected ones are errors too), on the CPU, in eval mode.
LoadedModel load_model(const std::string& path);

// Copies stored[name] into each target. Everything is checked first: a missing name or a
// shape that differs throws latent::Error(where, "missing <what>: ..." or "tensor shapes do
// not match <against>: ...") and nothing is copied. Copied entries leave `stored`, so the
// caller sees what was left over.
void copy_tensors(const io::NamedTensors& targets, std::map<std::string, at::Tensor>& stored, const std::string& where,
                  const std::string& what, const std::string& against);

// Copies `tensors` into the model's parameters and buffers. Every tensor must be present
// with the right shape; unexpected ones are errors too (messages start with `where`).
void load_state(VaeDdpm& model, io::NamedTensors tensors, const std::string& where);

// A copy of a model's weights on the CPU, with what is needed to rebuild it: taken by the
// training thread, read by inference (a live view of a model in training).
struct ModelSnapshot {
  int64_t step = 0;
  Config config;
  Tokenizers tokenizers;  // immutable, shared with the training thread
  io::NamedTensors tensors;
};
ModelSnapshot take_snapshot(const Config& config, const Tokenizers& tokenizers, VaeDdpm& model, int64_t step);
// A model in eval mode on the CPU; `where` names the snapshot in errors and in LoadedModel::dir.
LoadedModel restore_snapshot(const ModelSnapshot& snapshot, const std::string& where);

// Writes the tokenizers (tokenizer.model, or encoder_tokenizer/ + decoder_tokenizer/),
// model.safetensors (in `dtype`, e.g. at::kHalf for a compact copy; loading converts back
// to float32) and config.json last; each file atomically.
void save_model(const std::string& dir, const Config& config, const Tokenizers& tokenizers, VaeDdpm& model,
                at::ScalarType dtype = at::kFloat);

// Parameter (and buffer) tensors by name, as stored.
io::NamedTensors state_tensors(torch::nn::Module& m);

}  // namespace latent
