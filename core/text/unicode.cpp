#include "text/unicode.h"

#include <algorithm>
#include <cstdint>

namespace latent::unicode {
namespace {

struct CategoryRange { char32_t first, last; unsigned char cat; };
struct LowerEntry { char32_t cp; char32_t to[3]; };
struct DecompEntry { char32_t cp; unsigned char n; char32_t to[4]; };
struct CccRange { char32_t first, last; unsigned char ccc; };
struct ComposeEntry { char32_t first, second, composed; };
struct CodeRange { char32_t first, last; };
struct CompatEntry { char32_t cp; uint32_t offset; unsigned char n; };

#include "text/unicode_tables.inc"

// Hangul syllables (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

template <class T, class F>
const T* find_range(const T* begin, const T* end, char32_t cp, F first) {
  // The last range whose first code point is <= cp.
  const T* it = std::upper_bound(begin, end, cp, [&](char32_t v, const T& r) { return v < first(r); });
  return it == begin ? nullptr : it - 1;
}

void decompose_into(char32_t cp, std::u32string& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const int s = static_cast<int>(cp - kSBase);
    out += static_cast<char32_t>(kLBase + s / kNCount);
    out += static_cast<char32_t>(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out += static_cast<char32_t>(kTBase + s % kTCount);
    return;
  }
  const auto* end = std::end(kDecomp);
  const auto* it = std::lower_bound(std::begin(kDecomp), end, cp, [](const DecompEntry& e, char32_t v) { return e.cp < v; });
  if (it != end && it->cp == cp) out.append(it->to, it->n);
  else out += cp;
}

char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* end = std::end(kCompose);
  const auto* it = std::lower_bound(std::begin(kCompose), end, std::pair<char32_t, char32_t>{a, b},
                                    [](const ComposeEntry& e, const std::pair<char32_t, char32_t>& v) {
                                      return e.first < v.first || (e.first == v.first && e.second < v.second);
                                    });
  return it != end && it->first == a && it->second == b ? it->composed : 0;
}

bool is_cased(char32_t cp) {
  const Category c = category(cp);
  return c == Category::Lu || c == Category::Ll || c == Category::Lt;
}

// Approximates Unicode's Case_Ignorable for Final_Sigma: marks, format characters,
// modifiers and the apostrophe/period-like characters words may contain.
bool is_case_ignorable(char32_t cp) {
  const Category c = category(cp);
  if (c == Category::Mn || c == Category::Me || c == Category::Cf || c == Category::Lm || c == Category::Sk) return true;
  return cp == 0x27 || cp == 0x2E || cp == 0x3A || cp == 0xB7 || cp == 0x2019 || cp == 0x2018 || cp == 0x2024 ||
         cp == 0xAD || cp == 0x5F4 || cp == 0x2027 || cp == 0xFE13 || cp == 0xFE52 || cp == 0xFE55 || cp == 0xFF07 ||
         cp == 0xFF0E || cp == 0xFF1A;
}

}  // namespace

const char* version() { return kUnicodeVersion; }

std::u32string decode(std::string_view s) {
  // Each maximal ill-formed subpart becomes one U+FFFD (Unicode 3.9, as Python does).
  std::u32string out;
  out.reserve(s.size());
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
      out += b0;
      ++i;
      continue;
    }
    int n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 1;
    else if (b0 >= 0xE0 && b0 <= 0xEF) n = 2, lo = b0 == 0xE0 ? 0xA0 : 0x80, hi = b0 == 0xED ? 0x9F : 0xBF;
    else if (b0 >= 0xF0 && b0 <= 0xF4) n = 3, lo = b0 == 0xF0 ? 0x90 : 0x80, hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (n == 0) {
      out += 0xFFFD;
      ++i;
      continue;
    }
    char32_t cp = b0 & (0x3F >> n);
    int got = 0;
    while (got < n && i + 1 + got < s.size()) {
      const unsigned char c = byte(i + 1 + got);
      if (got == 0 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) break;
      cp = (cp << 6) | (c & 0x3F);
      ++got;
    }
    out += got == n ? cp : 0xFFFD;
    i += 1 + got;
  }
  return out;
}

std::string encode(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t c : cps) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

Category category(char32_t cp) {
  const auto* r = find_range(std::begin(kCategories), std::end(kCategories), cp, [](const CategoryRange& x) { return x.first; });
  return r && cp <= r->last ? static_cast<Category>(r->cat) : Category::Cn;
}

namespace {
template <size_t N>
bool in(const CodeRange (&table)[N], char32_t cp) {
  const auto* r = find_range(std::begin(table), std::end(table), cp, [](const CodeRange& x) { return x.first; });
  return r && cp <= r->last;
}
}  // namespace

bool regex_letter(char32_t cp) { return in(kRegexLetter, cp); }
bool regex_number(char32_t cp) { return in(kRegexNumber, cp); }
bool regex_space(char32_t cp) { return in(kRegexSpace, cp); }

int combining_class(char32_t cp) {
  const auto* r = find_range(std::begin(kCcc), std::end(kCcc), cp, [](const CccRange& x) { return x.first; });
  return r && cp <= r->last ? r->ccc : 0;
}

std::u32string to_lower(std::u32string_view s, bool final_sigma) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t cp = s[i];
    if (cp == 0x3A3 && final_sigma) {  // Final_Sigma: after a cased letter and not before one (case-ignorables skipped)
      bool before = false, after = false;
      for (size_t j = i; j-- > 0;) {
        if (is_case_ignorable(s[j])) continue;
        before = is_cased(s[j]);
        break;
      }
      for (size_t j = i + 1; j < s.size(); ++j) {
        if (is_case_ignorable(s[j])) continue;
        after = is_cased(s[j]);
        break;
      }
      out += before && !after ? 0x3C2 : 0x3C3;
      continue;
    }
    const auto* end = std::end(kLower);
    const auto* it = std::lower_bound(std::begin(kLower), end, cp, [](const LowerEntry& e, char32_t v) { return e.cp < v; });
    if (it == end || it->cp != cp) {
      out += cp;
      continue;
    }
    for (char32_t c : it->to)
      if (c) out += c;
  }
  return out;
}

std::u32string nfkd(std::u32string_view s) {
  // Each code point's full NFKD (from the table, else itself), then NFD, which decomposes
  // what is left canonically and puts every run of combining marks in canonical order.
  std::u32string expanded;
  expanded.reserve(s.size());
  const auto* end = std::end(kCompat);
  for (char32_t cp : s) {
    const auto* it = std::lower_bound(std::begin(kCompat), end, cp, [](const CompatEntry& e, char32_t v) { return e.cp < v; });
    if (it != end && it->cp == cp) expanded.append(kCompatData + it->offset, it->n);
    else expanded += cp;
  }
  return nfd(expanded);
}

std::u32string nfd(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (char32_t cp : s) decompose_into(cp, out);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  size_t i = 0;
  while (i < out.size()) {
    if (combining_class(out[i]) == 0) { ++i; continue; }
    size_t j = i;
    while (j < out.size() && combining_class(out[j]) != 0) ++j;
    std::stable_sort(out.begin() + static_cast<long>(i), out.begin() + static_cast<long>(j),
                     [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  return out;
}

std::u32string nfc(std::u32string_view s) {
  const std::u32string d = nfd(s);
  // Canonical composition (Unicode 3.11): a character composes with the last starter
  // when nothing between them blocks it (a starter, or a mark of the same or a higher
  // class). last_class is -1 while the character would be adjacent to the starter.
  std::u32string out;
  out.reserve(d.size());
  size_t starter = std::u32string::npos;
  int last_class = -1;
  for (char32_t cp : d) {
    const int ccc = combining_class(cp);
    if (starter != std::u32string::npos && (last_class == -1 || last_class < ccc)) {
      if (const char32_t c = compose_pair(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (ccc == 0) {
      starter = out.size();
      last_class = -1;
    } else {
      last_class = ccc;
    }
    out += cp;
  }
  return out;
}

}  // namespace latent::unicode
