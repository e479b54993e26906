// A model folder as `latent-cli info` and the studio's Model panel check it before loading
// (io::summarize_model_dir): config.json and its format_version, the safetensors header,
// and the tokenizers (tokenizer.model, or encoder_tokenizer/ and decoder_tokenizer/).
#include <cstdint>

#include "fuzz_files.h"
#include "io/model_dir.h"
#include "probe_text.h"
#include "text/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  scratch.clear();
  const auto files = latent::fuzz::split_files(
      data, size,
      {"config.json", "model.safetensors", "tokenizer.model", "trainer_state.json",
       "encoder_tokenizer/vocab.txt", "encoder_tokenizer/tokenizer_config.json",
       "encoder_tokenizer/tokenizer.model", "decoder_tokenizer/vocab.json", "decoder_tokenizer/merges.txt",
       "decoder_tokenizer/added_tokens.json", "decoder_tokenizer/tokenizer_config.json",
       "decoder_tokenizer/tokenizer.json", "decoder_tokenizer/tokenizer.model"});
  for (const auto& [name, bytes] : files) scratch.write(name, bytes);
  latent::fuzz::expect_clean([&] {
    const auto summary = latent::io::summarize_model_dir(scratch.dir());
    if (latent::has_tokenizers(scratch.dir())) {
      const latent::Tokenizers t = latent::load_tokenizers(scratch.dir());
      latent::fuzz::exercise(*t.encoder);
      latent::fuzz::exercise(*t.decoder);
    }
  });
  return 0;
}
