// The Unicode operations the Hugging Face tokenizers need, without ICU: UTF-8 to code
// points and back, general categories, Python's str.lower(), and the normalisation forms
// NFD, NFC and NFKD. The data comes from Python's unicodedata (see
// tools/unicode/make_unicode_tables.py), so results equal transformers running on that
// Python (3.11: Unicode 14.0.0).
#pragma once

#include <string>
#include <string_view>

namespace latent::unicode {

enum class Category : unsigned char {
  Cn, Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe, Pi, Pf,
  Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co
};

const char* version();  // of the tables, e.g. "14.0.0"

// Invalid bytes become U+FFFD, as Python's bytes.decode("utf-8", "replace") does.
std::u32string decode(std::string_view utf8);
std::string encode(std::u32string_view cps);

Category category(char32_t cp);
inline bool is_punctuation(Category c) { return c >= Category::Pc && c <= Category::Po; }

// The `regex` package's \p{L}, \p{N} and \s (GPT-2's pre-tokenizer uses them; its
// Unicode data may be newer than Python's unicodedata).
bool regex_letter(char32_t cp);
bool regex_number(char32_t cp);
bool regex_space(char32_t cp);

// Python's str.lower(): full mappings (U+0130 -> "i\u0307") and, with final_sigma, the
// context rule for capital sigma. Without it each code point is lowered on its own, as
// transformers' tokenize() does (its regex lowers the text one character at a time).
std::u32string to_lower(std::u32string_view s, bool final_sigma = true);
// Canonical decomposition with canonical ordering; canonical composition after it.
std::u32string nfd(std::u32string_view s);
std::u32string nfc(std::u32string_view s);
// Compatibility decomposition (Python's unicodedata.normalize("NFKD")).
std::u32string nfkd(std::u32string_view s);
int combining_class(char32_t cp);

}  // namespace latent::unicode
