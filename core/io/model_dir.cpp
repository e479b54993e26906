#include "io/model_dir.h"

#include <algorithm>
#include <filesystem>

#include "text/codec.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::io {
namespace fs = std::filesystem;

std::string join(const std::string& dir, const std::string& file) { return (fs::path(dir) / file).string(); }

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e666
    throw Error(path, "invalid JSON: " + library_text(e));
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

std::string resolve_model_dir(const std::string& path) {
  std::error_code ec;
  if (fs::exists(join(path, files::kConfig), ec)) return path;
  for (const char* sub : {"best", "last"})
    if (fs::exists(join(join(path, sub), files::kConfig), ec)) return join(path, sub);
  return path;  // read_model_config reports what is missing
}

nlohmann::json read_model_config(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(dir, "model folder does not exist");
  const std::string path = join(dir, files::kConfig);
  if (!fs::exists(path, ec)) throw Error(dir, std::string("not a model folder: ") + files::kConfig + " is missing");
  nlohmann::json config = read_json_file(path);
  if (!config.is_object()) throw Error(path, "top level is not a JSON object");
  const auto v = config.find("format_version");
  if (v == config.end()) throw Error(path + ": format_version", "missing");
  if (!v->is_number_integer()) throw Error(path + ": format_version", "must be an integer");
  const int version = v->get<int>();
  if (version < 1 || version > kFormatVersion)
    throw Error(path + ": format_version", std::to_string(version) + " is not supported (this build reads 1.." +
                                                std::to_string(kFormatVersion) + ")");
  return config;
}

std::vector<ModuleParams> group_params(const std::vector<TensorEntry>& entries, int depth) {
  std::vector<ModuleParams> groups;
  for (const auto& e : entries) {
    size_t cut = std::string::npos;
    for (int d = 0; d < depth; ++d) {
      cut = e.name.find('.', d == 0 ? 0 : cut + 1);
      if (cut == std::string::npos) break;
    }
    const std::string key = cut == std::string::npos ? e.name : e.name.substr(0, cut);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const ModuleParams& m) { return m.module == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), ModuleParams{key});
    it->params += e.numel();
    it->bytes += e.end - e.begin;
    ++it->tensors;
  }
  return groups;
}

static ModelSummary summarize_files(const std::string& dir, bool with_tokenizers) {
  ModelSummary s;
  s.dir = dir;
  s.config = read_model_config(dir);
  std::error_code ec;
  const std::string weights = join(dir, files::kWeights);
  if (!fs::exists(weights, ec)) throw Error(dir, std::string(files::kWeights) + " is missing");
  s.weights = read_index(weights).entries;
  s.modules = group_params(s.weights, 1);
  s.submodules = group_params(s.weights, 2);
  for (const auto& m : s.modules) {
    s.total_params += m.params;
    s.total_bytes += m.bytes;
  }
  if (with_tokenizers && has_tokenizers(dir)) {
    const Tokenizers t = load_tokenizers(dir);
    s.tokenizer_vocab = t.decoder->vocab_size();
    s.tokenizers = t.describe();
  }
  s.has_trainer_state = fs::exists(join(dir, files::kTrainerStateJson), ec);
  return s;
}

ModelSummary summarize_model_dir(const std::string& dir, bool with_tokenizers) {
  return reading(dir, [&] { return summarize_files(dir, with_tokenizers); });
}

}  // namespace latent::io
