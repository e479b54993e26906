// The model directory: everything a trained model is, in one folder.
//
//   config.json                 whole configuration, with "format_version"
//   model.safetensors           weights under Hugging Face-style names
//   tokenizer.model             serialized SentencePiece model shared by both sides, or
//   encoder_tokenizer/          a pretrained encoder's tokenizer (e.g. BERT's vocab.txt) and
//   decoder_tokenizer/          a pretrained decoder's (GPT-2's vocab.json, merges.txt, ...)
//   trainer_state.json          (written by training) step, epoch, RNG, schedule position
//   trainer_state.safetensors   (written by training) optimizer moments
//
// Each file is written atomically; config.json is written last, so a folder whose
// config.json exists has complete weights and tokenizer.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors_index.h"

namespace latent::io {

inline constexpr int kFormatVersion = 1;

namespace files {
inline constexpr const char* kConfig = "config.json";
inline constexpr const char* kWeights = "model.safetensors";
inline constexpr const char* kTokenizer = "tokenizer.model";
inline constexpr const char* kTrainerStateJson = "trainer_state.json";
inline constexpr const char* kTrainerStateTensors = "trainer_state.safetensors";
}  // namespace files

std::string join(const std::string& dir, const std::string& file);

// JSON file I/O with errors that name the file (and the line/column of a syntax error).
nlohmann::json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const nlohmann::json& j);  // atomic, pretty-printed

// A model folder, or a training run folder (then its best/ model, else last/).
std::string resolve_model_dir(const std::string& path);

// Reads DIR/config.json and checks format_version (present, integer, supported).
nlohmann::json read_model_config(const std::string& dir);

struct ModuleParams {
  std::string module;   // name prefix: "encoder", "decoder.transformer", ...
  uint64_t params = 0;  // number of elements
  uint64_t bytes = 0;
  size_t tensors = 0;
};

struct ModelSummary {
  std::string dir;
  nlohmann::json config;
  std::vector<TensorEntry> weights;     // from the safetensors header only
  std::vector<ModuleParams> modules;    // by first name component
  std::vector<ModuleParams> submodules; // by first two name components
  uint64_t total_params = 0;
  uint64_t total_bytes = 0;
  int tokenizer_vocab = -1;             // the decoder's vocabulary; -1 when the tokenizer is missing
  std::string tokenizers;               // e.g. "sentencepiece, 4000 tokens"; empty when missing
  bool has_trainer_state = false;
};

// Checks the folder (config, weights header, and the tokenizers unless with_tokenizers is
// false: a caller that has loaded them already) without loading tensor data.
ModelSummary summarize_model_dir(const std::string& dir, bool with_tokenizers = true);

// Parameter counts grouped by the first `depth` dot-separated components of each name.
std::vector<ModuleParams> group_params(const std::vector<TensorEntry>& entries, int depth);

}  // namespace latent::io
