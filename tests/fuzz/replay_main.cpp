// A fuzz target without libFuzzer: feeds it every file of the folders given, in name
// order. The normal ctest build (gcc, no sanitizers) replays the committed seeds and the
// regression inputs (tests/fuzz/regressions/<target>/: each crash found, once fixed) this
// way, so a fix that breaks again fails the ordinary suite.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!fs::is_directory(argv[i], ec)) continue;  // a target may have no regressions yet
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(argv[i])) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      std::ostringstream buf;
      buf << in.rdbuf();
      const std::string bytes = buf.str();
      std::fprintf(stderr, "replay %s\n", f.c_str());
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      ++n;
    }
  }
  std::printf("%zu inputs replayed without a crash\n", n);
  return n > 0 ? 0 : 1;
}
