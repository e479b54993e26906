// Strings every tokenizer target encodes after a successful load: a loaded tokenizer must
// also survive use (ids in range, decode of what it encoded, specials inside text).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "text/codec.h"

namespace latent::fuzz {

inline const char* const kProbeTexts[] = {
    "Hello, world! The quick brown fox jumps over 12 lazy dogs.",
    "  whitespace\truns\n and caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80 ",
    "<|endoftext|> [CLS] <s> </s> <pad> [MASK] <unk>",
    "",
};

[[noreturn]] inline void finding(const char* what, int id, int vocab) {
  std::fprintf(stderr, "\nfuzz: %s: id %d, vocabulary %d\n", what, id, vocab);
  std::abort();
}

// Encodes and decodes the probes, decodes every special id and a sweep of the vocabulary.
// Aborts when an id is out of the vocabulary: the model would index past its embedding.
inline void exercise(const TextCodec& codec) {
  const int n = codec.vocab_size();
  for (const char* text : kProbeTexts) {
    const std::vector<int> ids = codec.encode(text);
    for (int id : ids)
      if (id < 0 || id >= n) finding("encode gave an id outside the vocabulary", id, n);
    codec.pieces(text);
    codec.decode(ids);
  }
  const SpecialIds s = codec.specials();
  std::vector<int> ids;
  for (int id : {s.pad, s.unk, s.bos, s.eos})
    if (id >= 0) {
      if (id >= n) finding("a special id is outside the vocabulary", id, n);
      ids.push_back(id);
    }
  for (int id = 0; id < n; id += 1 + n / 64) ids.push_back(id);
  codec.decode(ids);
}

}  // namespace latent::fuzz
