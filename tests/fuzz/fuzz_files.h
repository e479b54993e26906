// Shared by the fuzz targets: a fuzz input that stands for several files, and a scratch
// folder to write them into, so that every target reads through the same function as the
// CLI and the studio (which take paths).
//
// Input format (what tests/fuzz/make_seeds.py writes): a sequence of
//     "@@@ NAME\n" CONTENT
// where CONTENT runs to the next "\n@@@ " or the end. NAME must be one of the target's
// file names (others are ignored, so mutations of names cost nothing).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "util/error.h"

namespace latent::fuzz {

inline std::vector<std::pair<std::string, std::string>> split_files(const uint8_t* data, size_t size,
                                                                    std::initializer_list<const char*> allowed) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  static const std::string mark = "@@@ ";
  std::vector<std::pair<std::string, std::string>> files;
  size_t pos = in.compare(0, mark.size(), mark) == 0 ? 0 : in.find("\n" + mark);
  while (pos != std::string::npos) {
    const size_t name_at = pos + (in[pos] == '\n' ? 1 : 0) + mark.size();
    const size_t eol = in.find('\n', name_at);
    if (eol == std::string::npos) break;
    const std::string name = in.substr(name_at, eol - name_at);
    size_t next = in.find("\n" + mark, eol);
    const size_t end = next == std::string::npos ? in.size() : next;
    // "\n@@@ " right after the name line: the next file starts at once.
    const std::string content = end > eol + 1 ? in.substr(eol + 1, end - eol - 1) : std::string();
    for (const char* a : allowed)
      if (name == a) files.emplace_back(name, content);
    pos = next;
  }
  return files;
}

// One folder per process, under /dev/shm when there is one; emptied before each input.
class Scratch {
 public:
  Scratch() {
    namespace fs = std::filesystem;
    const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string tmpl = (base / "latent-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    dir_ = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }

  void clear() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) std::filesystem::remove_all(e.path(), ec);
  }
  // Writes DIR/name (creating a sub-folder when name has one) and returns its path.
  std::string write(const std::string& name, const std::string& bytes) {
    const std::filesystem::path p = std::filesystem::path(dir_) / name;
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz scratch: cannot write %s\n", p.c_str());
      std::abort();
    }
    return p.string();
  }

 private:
  std::string dir_;
};

// Runs f; a latent::Error is the expected outcome of a bad input (LATENT_FUZZ_VERBOSE=1
// prints it). Any other exception
// would reach the user as bare text ("std::bad_alloc", "[json.exception...]"), so it is
// a finding: print it and abort, which libFuzzer reports as a crash with the input.
template <typename F>
void expect_clean(F&& f) {
  static const bool verbose = std::getenv("LATENT_FUZZ_VERBOSE") != nullptr;  // print what each input gave
  try {
    f();
    if (verbose) std::fprintf(stderr, "fuzz: loaded\n");
  } catch (const latent::Error& e) {
    if (verbose) std::fprintf(stderr, "fuzz: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nfuzz: an exception that is not latent::Error escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace latent::fuzz
