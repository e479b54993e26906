// A corpus as File > Open corpus and `latent-cli corpus` read it (load_corpus): plain text
// or JSONL, truncating or skipping long lines, deduplicating or not: the first byte's low
// bits choose (and whether JSONL's other fields are kept); the rest of the input is the file.
#include <cstdint>

#include "data/corpus.h"
#include "fuzz_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  if (size == 0) return 0;
  const bool jsonl = data[0] & 1;
  scratch.clear();
  const std::string path = scratch.write(jsonl ? "corpus.jsonl" : "corpus.txt",
                                         std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  latent::fuzz::expect_clean([&] {
    latent::CorpusOptions options;
    options.max_chars = 64;
    options.deduplicate = data[0] & 2;
    options.skip_long = data[0] & 4;
    options.keep_fields = data[0] & 8;
    const latent::Corpus c = latent::load_corpus(path, options);
    for (const auto& s : c.sentences)
      if (s.empty()) __builtin_trap();  // the loader promises non-empty sentences
    if (c.field_names.size() != c.field_values.size() || c.field_names.size() > latent::Corpus::kMaxFields) __builtin_trap();
    for (const auto& column : c.field_values)
      if (column.size() != c.sentences.size()) __builtin_trap();  // one value per sentence
    latent::length_histogram(c.sentences, 8, 16);
  });
  return 0;
}
