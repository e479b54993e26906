// Checks of a SentencePiece model proto that the SentencePiece library (0.1.97, Debian 12)
// does not make: its normalizer's precompiled character map (a darts-clone trie and the
// replacement strings) is used as given, so a damaged one makes Encode() read far out of
// bounds (found by fuzz_tokenizer_folder: SEGV in Normalizer::NormalizePrefix).
#pragma once

#include <string>

namespace latent {

// Walks every path of the normalizer's and denormalizer's tries: every unit reached must lie
// in the trie and every replacement in the string table, NUL-terminated. Throws
// latent::Error naming `where` otherwise. The proto must already have parsed.
void check_sentencepiece_charsmaps(const std::string& proto, const std::string& where);

}  // namespace latent
