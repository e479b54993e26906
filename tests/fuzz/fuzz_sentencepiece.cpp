// A SentencePiece model as we load it (tokenizer.model of a model folder): the proto is
// checked (Tokenizer::from_serialized), then used.
#include <cstdint>

#include "fuzz_files.h"
#include "probe_text.h"
#include "text/codec.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  latent::fuzz::expect_clean([&] {
    latent::Tokenizer t = latent::Tokenizer::from_serialized(std::string(reinterpret_cast<const char*>(data), size),
                                                             "tokenizer.model");
    latent::fuzz::exercise(*latent::sentencepiece_codec(std::move(t)));
  });
  return 0;
}
