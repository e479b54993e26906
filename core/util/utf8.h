// Small UTF-8 helpers for corpus cleaning (no locale, no ICU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace latent::utf8 {

// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid(std::string_view s);

// Number of code points; s must be valid.
size_t length(std::string_view s);

// Byte offset of the first byte after the first n code points (s must be valid).
size_t byte_offset(std::string_view s, size_t n);

// Strips leading/trailing whitespace and collapses inner runs (ASCII whitespace and
// U+00A0 no-break space) into one space.
std::string normalize_whitespace(std::string_view s);

// Splits on ASCII whitespace, as Python's str.split() does for ASCII text.
std::vector<std::string> split_whitespace(std::string_view s);

// 64-bit FNV-1a: a stable hash for deterministic data splits.
uint64_t fnv1a64(std::string_view s);

}  // namespace latent::utf8
