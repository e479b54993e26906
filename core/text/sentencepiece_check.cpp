#include "text/sentencepiece_check.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "util/error.h"

namespace latent {
namespace {

// Protocol-buffer wire format, only what is needed to find two bytes fields.
struct Reader {
  const unsigned char* p;
  const unsigned char* end;
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      const unsigned char b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  // Calls f(field, bytes) for each length-delimited field; false on malformed input.
  template <typename F>
  bool each_bytes_field(F&& f) {
    while (p < end) {
      uint64_t tag = 0, n = 0;
      if (!varint(tag)) return false;
      switch (tag & 7) {
        case 0: if (!varint(n)) return false; break;
        case 1: if (end - p < 8) return false; p += 8; break;
        case 5: if (end - p < 4) return false; p += 4; break;
        case 2:
          if (!varint(n) || n > static_cast<uint64_t>(end - p)) return false;
          f(tag >> 3, std::string(reinterpret_cast<const char*>(p), n));
          p += n;
          break;
        default: return false;
      }
    }
    return true;
  }
};

// darts-clone's unit layout (darts.h, DoubleArrayUnit).
bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
uint32_t value(uint32_t u) { return u & ((1U << 31) - 1); }
uint32_t label(uint32_t u) { return u & ((1U << 31) | 0xFF); }
uint32_t offset(uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); }

// The map: uint32 trie size in bytes, the trie's units, then NUL-terminated replacements
// (Normalizer::DecodePrecompiledCharsMap). Explores every node reachable from the root the
// way commonPrefixSearch walks: any index outside the units or the strings is damage.
void check_charsmap(const std::string& blob, const std::string& where) {
  if (blob.empty()) return;  // identity normalization
  if (blob.size() < 4) throw Error(where, "the normalizer's character map is cut short");
  uint32_t trie_bytes = 0;
  std::memcpy(&trie_bytes, blob.data(), 4);
  if (trie_bytes % 4 != 0 || trie_bytes == 0 || trie_bytes > blob.size() - 4)
    throw Error(where, "the normalizer's character map has a trie size of " + std::to_string(trie_bytes) +
                           " bytes, which does not fit its " + std::to_string(blob.size()) + " bytes");
  std::vector<uint32_t> units(trie_bytes / 4);
  std::memcpy(units.data(), blob.data() + 4, trie_bytes);
  const std::string strings = blob.substr(4 + trie_bytes);
  const size_t n = units.size();
  auto damaged = [&](const std::string& what) {
    throw Error(where, "the normalizer's character map is damaged (" + what + ")");
  };
  std::vector<char> seen(n, 0);
  std::vector<size_t> frontier{offset(units[0])};  // node_pos after the root, as darts does
  while (!frontier.empty()) {
    const size_t node = frontier.back();
    frontier.pop_back();
    if (node >= n) damaged("a node lies outside the trie");
    if (seen[node]) continue;
    seen[node] = 1;
    for (uint32_t c = 0; c < 256; ++c) {
      const size_t child = node ^ c;
      if (child >= n) damaged("a transition leads outside the trie");
      const uint32_t u = units[child];
      if (label(u) != c) continue;
      const size_t next = child ^ offset(u);
      if (next >= n) damaged("a transition leads outside the trie");
      if (has_leaf(u)) {
        const uint32_t v = value(units[next]);
        if (v >= strings.size() || strings.find('\0', v) == std::string::npos)
          damaged("a replacement lies outside its string table");
      }
      frontier.push_back(next);
    }
  }
}

}  // namespace

void check_sentencepiece_charsmaps(const std::string& proto, const std::string& where) {
  Reader model{reinterpret_cast<const unsigned char*>(proto.data()),
               reinterpret_cast<const unsigned char*>(proto.data()) + proto.size()};
  std::vector<std::string> specs;  // ModelProto.normalizer_spec = 3, denormalizer_spec = 5
  if (!model.each_bytes_field([&](uint64_t field, std::string bytes) {
        if (field == 3 || field == 5) specs.push_back(std::move(bytes));
      }))
    throw Error(where, "not a SentencePiece model: malformed protocol buffer");
  for (const auto& spec : specs) {
    Reader r{reinterpret_cast<const unsigned char*>(spec.data()),
             reinterpret_cast<const unsigned char*>(spec.data()) + spec.size()};
    std::vector<std::string> maps;  // NormalizerSpec.precompiled_charsmap = 2
    if (!r.each_bytes_field([&](uint64_t field, std::string bytes) {
          if (field == 2) maps.push_back(std::move(bytes));
        }))
      throw Error(where, "not a SentencePiece model: malformed normalizer spec");
    for (const auto& m : maps) check_charsmap(m, where);
  }
}

}  // namespace latent
