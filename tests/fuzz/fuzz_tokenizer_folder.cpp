// A Hugging Face tokenizer folder as `latent-cli import-hf` and `tokenize --tokenizer`
// read it (load_codec): vocab.txt, vocab.json + merges.txt, tokenizer.json,
// tokenizer_config.json, added_tokens.json, special_tokens_map.json, spiece.model and
// config.json's model_type. A tokenizer that loads is then used and saved.
#include <cstdint>

#include "fuzz_files.h"
#include "probe_text.h"
#include "text/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  scratch.clear();
  const auto files = latent::fuzz::split_files(
      data, size,
      {"vocab.txt", "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "added_tokens.json",
       "special_tokens_map.json", "spiece.model", "config.json"});
  for (const auto& [name, bytes] : files) scratch.write("in/" + name, bytes);
  latent::fuzz::expect_clean([&] {
    const latent::CodecPtr codec = latent::load_codec(scratch.dir() + "/in");
    latent::fuzz::exercise(*codec);
    codec->save(scratch.dir() + "/out");
    latent::fuzz::exercise(*latent::load_codec(scratch.dir() + "/out"));
  });
  return 0;
}
