// Build-time tool: extracts WordNet's example sentences into the default corpus.
//   make_default_corpus OUT_DIR DATA_FILE...
// writes OUT_DIR/{train,valid,test}.txt (one sentence per line) and OUT_DIR/README.txt.
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "data/wordnet.h"
#include "util/atomic_file.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: make_default_corpus OUT_DIR DATA_FILE...\n");
    return 2;
  }
  try {
    const std::string out_dir = argv[1];
    std::vector<std::string> all;
    for (int i = 2; i < argc; ++i) {
      auto ex = latent::wordnet_examples(latent::read_file(argv[i]));
      all.insert(all.end(), ex.begin(), ex.end());
    }
    const auto split = latent::split_corpus(all);
    auto write = [&](const char* name, const std::vector<std::string>& lines) {
      std::string bytes;
      for (const auto& l : lines) bytes += l + '\n';
      latent::write_file_atomic(out_dir + "/" + name, bytes);
    };
    write("train.txt", split.train);
    write("valid.txt", split.valid);
    write("test.txt", split.test);
    std::ostringstream readme;
    readme << "Default corpus: the quoted example sentences of WordNet 3.0 (Debian wordnet-base).\n"
           << "Extracted by make_default_corpus: whitespace normalised, deduplicated, split by\n"
           << "FNV-1a hash % 47 (0 -> valid, 1 -> test, else train).\n"
           << "train " << split.train.size() << ", valid " << split.valid.size() << ", test "
           << split.test.size() << " sentences from " << all.size() << " examples.\n"
           << "WordNet license: see /usr/share/doc/wordnet-base/copyright.\n";
    latent::write_file_atomic(out_dir + "/README.txt", readme.str());
    std::printf("default corpus: %zu train, %zu valid, %zu test\n", split.train.size(), split.valid.size(),
                split.test.size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
