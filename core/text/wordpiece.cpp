#include "text/wordpiece.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "text/unicode.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent {
namespace {

namespace uc = unicode;

bool is_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || uc::category(c) == uc::Category::Zs;
}

bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  const auto cat = uc::category(c);
  return cat == uc::Category::Cc || cat == uc::Category::Cf || cat == uc::Category::Cs || cat == uc::Category::Co ||
         cat == uc::Category::Cn;
}

bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return uc::is_punctuation(uc::category(c));
}

bool is_chinese(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::vector<std::u32string> split_whitespace(const std::u32string& s) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : s) {
    // Python's str.split(): any Unicode whitespace (category Zs, the separators and the
    // ASCII/C1 controls that count as space).
    const bool ws = is_whitespace(c) || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E || c == 0x1F ||
                    c == 0x85 || c == 0x2028 || c == 0x2029;
    if (ws) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string config_token(const nlohmann::json& j, const char* key, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (j[key].is_string()) return j[key].get<std::string>();
  if (j[key].is_object() && j[key].contains("content")) return j[key]["content"].get<std::string>();
  return fallback;
}

}  // namespace

WordPieceTokenizer WordPieceTokenizer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string vocab_path = (fs::path(dir) / "vocab.txt").string();
  if (!fs::exists(vocab_path)) throw Error(vocab_path, "missing: a BERT folder needs vocab.txt");
  // One token per line, id = line number (transformers' load_vocab).
  std::vector<std::string> vocab = read_lines(vocab_path);
  WordPieceOptions o;
  const std::string cfg_path = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(cfg_path)) {
    const auto j = nlohmann::json::parse(read_file(cfg_path), nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(cfg_path, "not a JSON object");
    if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean()) o.lower_case = j["do_lower_case"].get<bool>();
    if (j.contains("strip_accents") && j["strip_accents"].is_boolean()) o.strip_accents = j["strip_accents"].get<bool>() ? 1 : 0;
    if (j.contains("tokenize_chinese_chars") && j["tokenize_chinese_chars"].is_boolean())
      o.chinese_chars = j["tokenize_chinese_chars"].get<bool>();
    o.unk = config_token(j, "unk_token", o.unk);
    o.cls = config_token(j, "cls_token", o.cls);
    o.sep = config_token(j, "sep_token", o.sep);
    o.pad = config_token(j, "pad_token", o.pad);
    o.mask = config_token(j, "mask_token", o.mask);
  }
  return WordPieceTokenizer(std::move(vocab), o, vocab_path);
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options, const std::string& where)
    : vocab_(std::move(vocab)), opt_(std::move(options)) {
  for (size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<int>(i);  // a repeated token: the last line wins, as load_vocab
  if (!ids_.count(opt_.unk)) throw Error(where, "the unknown token " + opt_.unk + " is not in the vocabulary");
}

int WordPieceTokenizer::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it != ids_.end() ? it->second : ids_.at(opt_.unk);
}

// BasicTokenizer.tokenize on a segment without special tokens (already lower-cased
// by the caller when do_lower_case, as PreTrainedTokenizer.tokenize does).
std::vector<std::string> WordPieceTokenizer::basic_tokens(const std::u32string& text) const {
  std::u32string clean;
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) clean += U' ';
    else if (opt_.chinese_chars && is_chinese(c)) (clean += U' ', clean += c, clean += U' ');
    else clean += c;
  }
  const bool strip = opt_.lower_case ? opt_.strip_accents != 0 : opt_.strip_accents == 1;
  std::vector<std::string> out;
  for (std::u32string token : split_whitespace(uc::nfc(clean))) {
    if (opt_.lower_case) token = uc::to_lower(token);  // BasicTokenizer's token.lower(): no capitals are left
    if (strip) {
      std::u32string kept;
      for (char32_t c : uc::nfd(token))
        if (uc::category(c) != uc::Category::Mn) kept += c;
      token = std::move(kept);
    }
    // Split on punctuation: each punctuation character is a token of its own.
    std::u32string cur;
    for (char32_t c : token) {
      if (is_punctuation(c)) {
        if (!cur.empty()) out.push_back(uc::encode(cur));
        cur.clear();
        out.push_back(uc::encode(std::u32string(1, c)));
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) out.push_back(uc::encode(cur));
  }
  // whitespace_tokenize(" ".join(split_tokens)): drops tokens that were only spaces.
  out.erase(std::remove_if(out.begin(), out.end(), [](const std::string& t) { return t.empty(); }), out.end());
  return out;
}

void WordPieceTokenizer::wordpiece(const std::string& word, std::vector<std::string>& out) const {
  const std::u32string chars = uc::decode(word);
  if (static_cast<int>(chars.size()) > opt_.max_chars_per_word) {
    out.push_back(opt_.unk);
    return;
  }
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < chars.size()) {
    size_t end = chars.size();
    std::string found;
    while (start < end) {
      std::string sub = uc::encode(chars.substr(start, end - start));
      if (start > 0) sub = "##" + sub;
      if (ids_.count(sub)) {
        found = std::move(sub);
        break;
      }
      --end;
    }
    if (found.empty()) {
      out.push_back(opt_.unk);
      return;
    }
    pieces.push_back(std::move(found));
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  const std::vector<std::string> specials{opt_.unk, opt_.sep, opt_.pad, opt_.cls, opt_.mask};
  std::u32string s = uc::decode(text);
  std::vector<std::string> out;
  // Split on special tokens (longest first at each position); lower-case the rest.
  std::vector<std::u32string> special32;
  for (const auto& t : specials) special32.push_back(uc::decode(t));
  std::u32string segment;
  auto flush = [&] {
    if (segment.empty()) return;
    const std::u32string seg = opt_.lower_case ? uc::to_lower(segment, /*final_sigma=*/false) : segment;
    for (const auto& word : basic_tokens(seg)) wordpiece(word, out);
    segment.clear();
  };
  for (size_t i = 0; i < s.size();) {
    size_t best = 0;
    int which = -1;
    for (size_t k = 0; k < special32.size(); ++k) {
      const auto& t = special32[k];
      if (!t.empty() && t.size() > best && s.compare(i, t.size(), t) == 0) {
        best = t.size();
        which = static_cast<int>(k);
      }
    }
    if (which >= 0) {
      flush();
      out.push_back(specials[static_cast<size_t>(which)]);
      i += best;
    } else {
      segment += s[i++];
    }
  }
  flush();
  return out;
}

std::vector<int> WordPieceTokenizer::encode(const std::string& text, bool add_special) const {
  std::vector<int> ids;
  if (add_special) ids.push_back(cls_id());
  for (const auto& t : tokenize(text)) ids.push_back(id(t));
  if (add_special) ids.push_back(sep_id());
  return ids;
}

std::string WordPieceTokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  for (int i : ids) {
    if (i < 0 || i >= vocab_size()) continue;
    const std::string& t = vocab_[static_cast<size_t>(i)];
    if (t == opt_.cls || t == opt_.sep || t == opt_.pad || t == opt_.mask) continue;
    if (t.rfind("##", 0) == 0) out += t.substr(2);
    else out += (out.empty() ? "" : " ") + t;
  }
  return out;
}

void WordPieceTokenizer::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
  write_file_atomic((fs::path(dir) / "vocab.txt").string(), [&](std::ostream& out) {
    for (const auto& t : vocab_) out << t << '\n';
  });
  nlohmann::json j = {{"tokenizer_class", "BertTokenizer"},
                      {"do_lower_case", opt_.lower_case},
                      {"tokenize_chinese_chars", opt_.chinese_chars},
                      {"unk_token", opt_.unk},
                      {"cls_token", opt_.cls},
                      {"sep_token", opt_.sep},
                      {"pad_token", opt_.pad},
                      {"mask_token", opt_.mask}};
  j["strip_accents"] = opt_.strip_accents < 0 ? nlohmann::json(nullptr) : nlohmann::json(opt_.strip_accents == 1);
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), j.dump(2));
}

}  // namespace latent
