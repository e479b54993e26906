#include "text/hf_sentencepiece.h"

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "text/tokenizer.h"
#include "text/unicode.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent {
namespace {

namespace fs = std::filesystem;
namespace uc = unicode;

// Python's str.isspace(), which str.split() and str.strip() use.
bool py_space(char32_t c) { return uc::regex_space(c) || (c >= 0x1C && c <= 0x1F); }
// Python's str.isdigit() for one code point (decimal digits and the superscripts).
bool py_digit(char32_t c) {
  return uc::category(c) == uc::Category::Nd || c == 0xB2 || c == 0xB3 || c == 0xB9 || c == 0x2070 ||
         (c >= 0x2074 && c <= 0x2079);
}

// SentencePiece's status as a latent::Error naming what failed.
void ok(const sentencepiece::util::Status& status, const char* what) {
  if (!status.ok()) throw Error("tokenizer", std::string("cannot ") + what + ": " + status.ToString());
}

const std::string kUnderline = "\xE2\x96\x81";  // U+2581, SentencePiece's word start

}  // namespace

namespace {
// tokenizer_config.json's special token: "<s>" or {"content": "<s>", ...}; fallback when
// absent or null (T5Tokenizer's defaults: </s>, <pad>, <unk>, no bos).
std::string token_name(const nlohmann::json& j, const char* key, const std::string& where, const std::string& fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const auto& v = j[key];
  if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string() && !v["content"].get<std::string>().empty())
    return v["content"].get<std::string>();
  throw Error(where + ": " + key, "must be a token string, got " + v.dump().substr(0, 80));
}

// T5: the special token names of tokenizer_config.json and the added tokens of
// added_tokens.json ({"token": id}). Entries at the pieces' or the sentinels' ids must be
// those; the others must take the ids after them without a gap (as transformers assigns
// them), so no id in the file sizes anything.
void read_t5_specials(HfSentencePiece::Options& o, const std::string& dir, int pieces) {
  const std::string cfg = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(cfg)) {
    const auto j = nlohmann::json::parse(read_file(cfg), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Error(cfg, "not a JSON object");
    o.eos = token_name(j, "eos_token", cfg, o.eos);
    o.pad = token_name(j, "pad_token", cfg, o.pad);
    o.unk = token_name(j, "unk_token", cfg, o.unk);
    o.bos = token_name(j, "bos_token", cfg, o.bos);
  }
  const std::string path = (fs::path(dir) / "added_tokens.json").string();
  if (!fs::exists(path)) return;
  const auto j = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw Error(path, "not a JSON object of token: id");
  const int64_t first = static_cast<int64_t>(pieces) + o.extra_ids;
  std::map<int64_t, std::string> beyond;
  for (const auto& [token, id] : j.items()) {
    if (!id.is_number_integer()) throw Error(path + ": \"" + token + "\"", "the id must be an integer, got " + id.dump());
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i >= first + static_cast<int64_t>(j.size()))
      throw Error(path + ": \"" + token + "\"", "id " + std::to_string(i) + " is outside the vocabulary (" + std::to_string(pieces) +
                                                    " pieces, " + std::to_string(o.extra_ids) + " sentinels, " +
                                                    std::to_string(j.size()) + " added tokens)");
    if (i >= first && !beyond.emplace(i, token).second)
      throw Error(path + ": \"" + token + "\"", "id " + std::to_string(i) + " is also \"" + beyond[i] + "\"'s");
  }
  for (const auto& [i, token] : beyond) {
    if (i != first + static_cast<int64_t>(o.added.size()))
      throw Error(path + ": \"" + token + "\"", "id " + std::to_string(i) + ", expected the next free id " +
                                                    std::to_string(first + static_cast<int64_t>(o.added.size())));
    o.added.push_back(token);
  }
}
}  // namespace

HfSentencePiece HfSentencePiece::load(const std::string& dir, Flavor flavor) {
  HfSentencePiece t;
  t.flavor_ = flavor;
  const std::string model = (fs::path(dir) / "spiece.model").string();
  if (!fs::exists(model)) throw Error(model, "missing: a SentencePiece tokenizer folder needs spiece.model");
  t.proto_ = read_file(model);
  t.sp_ = load_sentencepiece(t.proto_, model);
  if (flavor == Flavor::T5) t.options_ = {false, true, false, 100};
  const std::string cfg = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(cfg)) {
    const auto j = nlohmann::json::parse(read_file(cfg), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Error(cfg, "not a JSON object");
    auto flag = [&](const char* key, bool& v) {
      if (!j.contains(key)) return;
      if (!j[key].is_boolean()) throw Error(cfg + ": " + key, "must be true or false, got " + j[key].dump());
      v = j[key].get<bool>();
    };
    if (flavor == Flavor::Albert) {
      flag("do_lower_case", t.options_.lower);
      flag("keep_accents", t.options_.keep_accents);
      flag("remove_space", t.options_.remove_space);
    } else {
      if (j.contains("legacy") && j["legacy"] == false)
        throw Error(cfg + ": legacy", "T5Tokenizer's non-legacy behaviour (legacy: false) is not supported");
      if (j.contains("extra_ids")) {
        if (!j["extra_ids"].is_number_integer() || j["extra_ids"].get<int64_t>() < 0 || j["extra_ids"].get<int64_t>() > 10000)
          throw Error(cfg + ": extra_ids", "must be an integer from 0 to 10000, got " + j["extra_ids"].dump());
        t.options_.extra_ids = j["extra_ids"].get<int>();
      }
    }
  }
  const int pieces = t.sp_->GetPieceSize();
  if (flavor == Flavor::T5) read_t5_specials(t.options_, dir, pieces);
  auto special = [&](const std::string& text, bool lstrip, bool rstrip) {
    const int i = t.sp_->PieceToId(text);
    if (i >= 0 && i < pieces && t.sp_->IdToPiece(i) == text) t.specials_.push_back({text, i, lstrip, rstrip});
  };
  if (flavor == Flavor::Albert) {
    for (const char* s : {"[CLS]", "[SEP]", "<pad>", "<unk>"}) special(s, false, false);
    special("[MASK]", true, false);
  } else {
    for (int i = 0; i < t.options_.extra_ids; ++i)  // T5Tokenizer: <extra_id_i> = len(sp) - 1 + extra_ids - i
      t.specials_.push_back({"<extra_id_" + std::to_string(i) + ">", pieces - 1 + t.options_.extra_ids - i, true, true});
    for (size_t k = 0; k < t.options_.added.size(); ++k)
      t.specials_.push_back({t.options_.added[k], pieces + t.options_.extra_ids + static_cast<int>(k), false, false});
    for (const std::string* s : {&t.options_.eos, &t.options_.pad, &t.options_.unk, &t.options_.bos})
      if (!s->empty() && std::none_of(t.specials_.begin(), t.specials_.end(), [&](const Special& x) { return x.text == *s; }))
        special(*s, false, false);
  }
  for (const auto& sp : t.specials_) t.special_ids_[sp.text] = sp.id;
  const std::vector<std::string> needed = flavor == Flavor::Albert
                                              ? std::vector<std::string>{"<pad>", "<unk>", "[CLS]", "[SEP]"}
                                              : std::vector<std::string>{t.options_.pad, t.options_.unk, t.options_.eos};
  for (const auto& s : needed)
    if (t.id(s) < 0) throw Error(model, "the vocabulary has no " + s + " piece, which the framing needs");
  if (!t.options_.bos.empty() && t.id(t.options_.bos) < 0)
    throw Error(cfg + ": bos_token", "\"" + t.options_.bos + "\" is neither a piece nor an added token");
  return t;
}

int HfSentencePiece::vocab_size() const {
  return sp_->GetPieceSize() + (flavor_ == Flavor::T5 ? options_.extra_ids + static_cast<int>(options_.added.size()) : 0);
}

int HfSentencePiece::id(const std::string& token) const {
  const auto it = special_ids_.find(token);
  if (it != special_ids_.end()) return it->second;
  const int i = sp_->PieceToId(token);
  return i >= 0 && i < sp_->GetPieceSize() && sp_->IdToPiece(i) == token ? i : -1;
}

std::string HfSentencePiece::preprocess(const std::string& text) const {
  std::u32string s = uc::decode(text);
  if (options_.remove_space) {  // " ".join(s.strip().split())
    std::u32string out;
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && py_space(s[i])) ++i;
      size_t j = i;
      while (j < s.size() && !py_space(s[j])) ++j;
      if (j > i) out += (out.empty() ? U"" : U" ") + s.substr(i, j - i);
      i = j;
    }
    s = out;
  }
  for (const std::u32string from : {U"``", U"''"})
    for (size_t p = s.find(from); p != std::u32string::npos; p = s.find(from, p + 1)) s.replace(p, 2, U"\"");
  if (!options_.keep_accents) {
    std::u32string out;
    for (char32_t c : uc::nfkd(s))
      if (uc::combining_class(c) == 0) out += c;
    s = out;
  }
  if (options_.lower) s = uc::to_lower(s);
  return uc::encode(s);
}

std::vector<std::string> HfSentencePiece::pieces_of(const std::string& seg) const {
  std::vector<std::string> pieces, out;
  if (flavor_ == Flavor::T5) {
    ok(sp_->Encode(seg, &pieces), "encode");
    return pieces;
  }
  // tokenize() lowers the text one character at a time before preprocess_text lowers it
  // again (so a final capital sigma becomes σ, not ς).
  const std::string lowered = options_.lower ? uc::encode(uc::to_lower(uc::decode(seg), /*final_sigma=*/false)) : seg;
  ok(sp_->Encode(preprocess(lowered), &pieces), "encode");
  for (const auto& piece : pieces) {
    const std::u32string p = uc::decode(piece);
    if (p.size() > 1 && p.back() == U',' && py_digit(p[p.size() - 2])) {
      // AlbertTokenizer._tokenize: re-encode without the comma and the word-start mark.
      std::string body = uc::encode(p.substr(0, p.size() - 1));
      for (size_t q = body.find(kUnderline); q != std::string::npos; q = body.find(kUnderline)) body.erase(q, kUnderline.size());
      std::vector<std::string> cur;
      ok(sp_->Encode(body, &cur), "encode");
      if (piece.rfind(kUnderline, 0) != 0 && !cur.empty() && cur[0].rfind(kUnderline, 0) == 0) {
        if (cur[0].size() == kUnderline.size()) cur.erase(cur.begin());
        else cur[0] = cur[0].substr(kUnderline.size());
      }
      cur.push_back(",");
      out.insert(out.end(), cur.begin(), cur.end());
    } else {
      out.push_back(piece);
    }
  }
  return out;
}

std::vector<std::string> HfSentencePiece::tokenize(const std::string& text) const {
  // Split on special tokens (the longest at the first position that has one), as
  // transformers' added-tokens trie does; index -1 marks text.
  std::vector<std::pair<std::string, int>> parts;
  size_t i = 0, start = 0;
  while (i < text.size()) {
    int best = -1;
    for (size_t k = 0; k < specials_.size(); ++k)
      if (text.compare(i, specials_[k].text.size(), specials_[k].text) == 0 &&
          (best < 0 || specials_[k].text.size() > specials_[static_cast<size_t>(best)].text.size()))
        best = static_cast<int>(k);
    if (best < 0) {
      ++i;
      continue;
    }
    parts.emplace_back(text.substr(start, i - start), -1);
    parts.emplace_back(specials_[static_cast<size_t>(best)].text, best);
    i += specials_[static_cast<size_t>(best)].text.size();
    start = i;
  }
  parts.emplace_back(text.substr(start), -1);
  // lstrip / rstrip: Python's rstrip() of the text before, lstrip() of the text after.
  for (size_t k = 0; k < parts.size(); ++k) {
    if (parts[k].second < 0) continue;
    const Special& sp = specials_[static_cast<size_t>(parts[k].second)];
    if (sp.lstrip && k > 0 && parts[k - 1].second < 0) {
      std::u32string left = uc::decode(parts[k - 1].first);
      while (!left.empty() && py_space(left.back())) left.pop_back();
      parts[k - 1].first = uc::encode(left);
    }
    if (sp.rstrip && k + 1 < parts.size() && parts[k + 1].second < 0) {
      std::u32string right = uc::decode(parts[k + 1].first);
      size_t b = 0;
      while (b < right.size() && py_space(right[b])) ++b;
      parts[k + 1].first = uc::encode(right.substr(b));
    }
  }
  std::vector<std::string> out;
  for (const auto& [seg, special] : parts) {
    if (special >= 0) {
      out.push_back(seg);
    } else if (!seg.empty()) {
      for (auto& p : pieces_of(seg)) out.push_back(std::move(p));
    }
  }
  return out;
}

std::vector<int> HfSentencePiece::encode(const std::string& text) const {
  std::vector<int> ids;
  for (const auto& p : tokenize(text)) {
    const auto it = special_ids_.find(p);
    ids.push_back(it != special_ids_.end() ? it->second : sp_->PieceToId(p));  // unknown pieces: <unk>'s id
  }
  return ids;
}

std::string HfSentencePiece::decode(const std::vector<int>& ids) const {
  std::vector<int> kept;
  for (int i : ids) {
    if (i < 0 || i >= sp_->GetPieceSize() || sp_->IsControl(i)) continue;  // T5's sentinels lie past the pieces
    bool special = false;
    for (const auto& sp : specials_) special = special || sp.id == i;
    if (!special) kept.push_back(i);
  }
  std::string text;
  ok(sp_->Decode(kept, &text), "decode");
  return text;
}

void HfSentencePiece::save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
  write_file_atomic((fs::path(dir) / "spiece.model").string(), proto_);
  const nlohmann::json j = flavor_ == Flavor::Albert
                               ? nlohmann::json{{"tokenizer_class", "AlbertTokenizer"}, {"do_lower_case", options_.lower},
                                                {"keep_accents", options_.keep_accents}, {"remove_space", options_.remove_space}}
                               : nlohmann::json{{"tokenizer_class", "T5Tokenizer"}, {"extra_ids", options_.extra_ids},
                                                {"legacy", true}, {"eos_token", options_.eos}, {"pad_token", options_.pad},
                                                {"unk_token", options_.unk},
                                                {"bos_token", options_.bos.empty() ? nlohmann::json() : nlohmann::json(options_.bos)}};
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), j.dump(1) + "\n");
  const std::string added = (fs::path(dir) / "added_tokens.json").string();
  if (flavor_ == Flavor::T5 && !options_.added.empty()) {
    nlohmann::json a = nlohmann::json::object();
    for (size_t k = 0; k < options_.added.size(); ++k)
      a[options_.added[k]] = sp_->GetPieceSize() + options_.extra_ids + static_cast<int>(k);
    write_file_atomic(added, a.dump(1) + "\n");
  } else if (fs::exists(added)) {
    fs::remove(added);  // a stale one would be read back
  }
}

}  // namespace latent
