#include "text/hf_sentencepiece.h"

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <filesystem>

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

const char* const kSpecials[] = {"[CLS]", "[SEP]", "<pad>", "<unk>", "[MASK]"};
const std::string kUnderline = "\xE2\x96\x81";  // U+2581, SentencePiece's word start

}  // namespace

HfSentencePiece HfSentencePiece::load(const std::string& dir) {
  HfSentencePiece t;
  const std::string model = (fs::path(dir) / "spiece.model").string();
  if (!fs::exists(model)) throw Error(model, "missing: a SentencePiece tokenizer folder needs spiece.model");
  t.proto_ = read_file(model);
  t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = t.sp_->LoadFromSerializedProto(t.proto_);
  if (!status.ok()) throw Error(model, "not a SentencePiece model: " + status.ToString());
  const std::string cfg = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::exists(cfg)) {
    const auto j = nlohmann::json::parse(read_file(cfg), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) throw Error(cfg, "not a JSON object");
    auto flag = [&](const char* key, bool& v) {
      if (!j.contains(key)) return;
      if (!j[key].is_boolean()) throw Error(cfg + ": " + key, "must be true or false, got " + j[key].dump());
      v = j[key].get<bool>();
    };
    flag("do_lower_case", t.options_.lower);
    flag("keep_accents", t.options_.keep_accents);
    flag("remove_space", t.options_.remove_space);
  }
  for (const char* s : kSpecials)
    if (t.id(s) >= 0) t.specials_.push_back(s);
  for (const char* s : {"<pad>", "<unk>", "[CLS]", "[SEP]"})
    if (t.id(s) < 0) throw Error(model, std::string("the vocabulary has no ") + s + " piece, which ALBERT's framing needs");
  return t;
}

int HfSentencePiece::vocab_size() const { return sp_->GetPieceSize(); }

int HfSentencePiece::id(const std::string& piece) const {
  const int i = sp_->PieceToId(piece);
  return i >= 0 && i < vocab_size() && sp_->IdToPiece(i) == piece ? i : -1;
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

std::vector<std::string> HfSentencePiece::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  auto segment = [&](const std::string& seg) {
    std::vector<std::string> pieces;
    // tokenize() lowers the text one character at a time before preprocess_text lowers it
    // again (so a final capital sigma becomes σ, not ς).
    const std::string lowered = options_.lower ? uc::encode(uc::to_lower(uc::decode(seg), /*final_sigma=*/false)) : seg;
    sp_->Encode(preprocess(lowered), &pieces);
    for (const auto& piece : pieces) {
      const std::u32string p = uc::decode(piece);
      if (p.size() > 1 && p.back() == U',' && py_digit(p[p.size() - 2])) {
        // AlbertTokenizer._tokenize: re-encode without the comma and the word-start mark.
        std::string body = uc::encode(p.substr(0, p.size() - 1));
        for (size_t q = body.find(kUnderline); q != std::string::npos; q = body.find(kUnderline)) body.erase(q, kUnderline.size());
        std::vector<std::string> cur;
        sp_->Encode(body, &cur);
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
  };
  size_t i = 0, start = 0;
  while (i < text.size()) {
    const std::string* which = nullptr;
    for (const auto& sp : specials_)
      if (text.compare(i, sp.size(), sp) == 0 && (!which || sp.size() > which->size())) which = &sp;
    if (!which) {
      ++i;
      continue;
    }
    size_t end = i;
    if (*which == "[MASK]") {  // lstrip: Python's rstrip() of the text before it
      std::u32string left = uc::decode(text.substr(start, i - start));
      while (!left.empty() && py_space(left.back())) left.pop_back();
      segment(uc::encode(left));
    } else if (end > start) {
      segment(text.substr(start, end - start));
    }
    out.push_back(*which);
    i += which->size();
    start = i;
  }
  if (start < text.size()) segment(text.substr(start));
  return out;
}

std::vector<int> HfSentencePiece::encode(const std::string& text) const {
  std::vector<int> ids;
  for (const auto& p : tokenize(text)) ids.push_back(sp_->PieceToId(p));  // unknown pieces: <unk>'s id
  return ids;
}

std::string HfSentencePiece::decode(const std::vector<int>& ids) const {
  std::vector<int> kept;
  for (int i : ids)
    if (i >= 0 && i < vocab_size() && !sp_->IsControl(i) &&
        std::find(specials_.begin(), specials_.end(), sp_->IdToPiece(i)) == specials_.end())
      kept.push_back(i);
  std::string text;
  sp_->Decode(kept, &text);
  return text;
}

void HfSentencePiece::save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
  write_file_atomic((fs::path(dir) / "spiece.model").string(), proto_);
  const nlohmann::json j = {{"tokenizer_class", "AlbertTokenizer"}, {"do_lower_case", options_.lower},
                            {"keep_accents", options_.keep_accents}, {"remove_space", options_.remove_space}};
  write_file_atomic((fs::path(dir) / "tokenizer_config.json").string(), j.dump(1) + "\n");
}

}  // namespace latent
