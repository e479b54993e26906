// Shared by the LibTorch-side fuzz targets (fuzz_model_config, fuzz_hf_config,
// fuzz_dmlp_json): a folder whose fuzzed file is written fresh for each input while its
// other files are links to a fixed, valid folder (weights, tokenizers), so that each input
// goes through the whole loader as the CLI runs it.
#pragma once

#include <filesystem>
#include <string>

#include "fuzz_files.h"

namespace latent::fuzz {

inline std::string fixture(const std::string& rel) { return std::string(LATENT_FIXTURE_DIR) + "/" + rel; }

// Makes DIR a copy of `from` by symbolic links, leaving out `except` (which the caller writes).
inline void link_folder(const std::string& from, const std::string& dir, const std::string& except) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  for (const auto& e : fs::recursive_directory_iterator(from)) {
    const fs::path rel = fs::relative(e.path(), from);
    if (rel == except) continue;
    const fs::path to = fs::path(dir) / rel;
    if (e.is_directory())
      fs::create_directories(to);
    else
      fs::create_symlink(fs::absolute(e.path()), to);
  }
}

}  // namespace latent::fuzz
