#include "text/bpe.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>

#include "text/unicode.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent {
namespace {

namespace uc = unicode;
namespace fs = std::filesystem;

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the rest to U+0100 on.
struct ByteMap {
  char32_t to[256];
  std::unordered_map<char32_t, unsigned char> from;
  ByteMap() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      from[to[b]] = static_cast<unsigned char>(b);
    }
  }
};
const ByteMap& bytes() {
  static const ByteMap m;
  return m;
}

bool is_l(char32_t c) { return uc::regex_letter(c); }
bool is_n(char32_t c) { return uc::regex_number(c); }
bool is_s(char32_t c) { return uc::regex_space(c); }
bool is_other(char32_t c) { return !is_s(c) && !is_l(c) && !is_n(c); }

}  // namespace

std::vector<std::string> ByteLevelBpe::pretokenize(const std::string& text, bool split_digits) {
  if (split_digits) {  // Digits(individual_digits): every \p{N} alone, GPT-2's regex inside the rest
    const std::u32string s = uc::decode(text);
    std::vector<std::string> out;
    size_t start = 0;
    auto flush = [&](size_t end) {
      if (end > start)
        for (auto& piece : pretokenize(uc::encode(s.substr(start, end - start)))) out.push_back(std::move(piece));
    };
    for (size_t i = 0; i < s.size(); ++i)
      if (is_n(s[i])) {
        flush(i);
        out.push_back(uc::encode(s.substr(i, 1)));
        start = i + 1;
      }
    flush(s.size());
    return out;
  }
  const std::u32string s = uc::decode(text);
  const size_t n = s.size();
  std::vector<std::string> out;
  size_t i = 0;
  auto run = [&](size_t from, bool (*cls)(char32_t)) {
    size_t j = from;
    while (j < n && cls(s[j])) ++j;
    return j;
  };
  while (i < n) {
    size_t end = 0;
    // 's|'t|'re|'ve|'m|'ll|'d: the first alternative that matches, in this order.
    if (s[i] == U'\'') {
      for (const char32_t* c : {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"}) {
        const std::u32string_view suffix(c);
        if (s.compare(i + 1, suffix.size(), suffix) == 0) {
          end = i + 1 + suffix.size();
          break;
        }
      }
    }
    // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
    for (auto cls : {is_l, is_n, is_other}) {
      if (end) break;
      const size_t start = s[i] == U' ' && i + 1 < n && cls(s[i + 1]) ? i + 1 : i;
      if (cls(s[start])) end = run(start, cls);
    }
    if (!end && is_s(s[i])) {
      const size_t j = run(i, is_s);
      // "\s+(?!\S)": the run, minus its last space when a non-space follows; else "\s+".
      end = j == n ? j : (j - i >= 2 ? j - 1 : j);
    }
    if (!end) end = i + 1;  // unreachable: every character is in one class
    out.push_back(uc::encode(s.substr(i, end - i)));
    i = end;
  }
  return out;
}

namespace {
// A token id from a JSON file: an integer in [0, 2^31) (the error names the file and the token).
int token_id(const nlohmann::json& v, const std::string& token, const std::string& where) {
  if (!v.is_number_integer()) throw Error(where, "the id of \"" + token + "\" is not an integer");
  const int64_t id = v.get<int64_t>();
  if (id < 0 || id > std::numeric_limits<int>::max())
    throw Error(where, "\"" + token + "\": id " + v.dump() + " is not a valid token id");
  return static_cast<int>(id);
}
}  // namespace

ByteLevelBpe ByteLevelBpe::load(const std::string& dir) {
  std::unordered_map<std::string, int> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  const std::string vocab_path = (fs::path(dir) / "vocab.json").string(), merges_path = (fs::path(dir) / "merges.txt").string(),
                    tok_path = (fs::path(dir) / "tokenizer.json").string();
  std::string where;
  auto parse = [](const std::string& path) {
    const auto j = nlohmann::json::parse(read_file(path), nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(path, "not a JSON object");
    return j;
  };
  if (fs::exists(vocab_path) && fs::exists(merges_path)) {
    where = vocab_path;
    const auto j = parse(vocab_path);
    for (const auto& [k, v] : j.items()) vocab[k] = token_id(v, k, vocab_path);
    bool first = true;
    for (const std::string& line : read_lines(merges_path)) {
      const bool header = first && line.rfind("#", 0) == 0;  // "#version: 0.2"
      first = false;
      if (header || line.empty()) continue;
      const size_t sp = line.find(' ');
      if (sp == std::string::npos) throw Error(merges_path, "line \"" + line + "\" is not two tokens");
      merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
    }
  } else if (fs::exists(tok_path)) {
    where = tok_path;
    const auto j = parse(tok_path);
    if (!j.contains("model") || !j["model"].is_object() || j["model"].value("type", nlohmann::json()) != "BPE")
      throw Error(tok_path, "model.type is not BPE");
    const auto& model = j["model"];
    if (!model.contains("vocab") || !model["vocab"].is_object()) throw Error(tok_path + ": model.vocab", "missing or not an object");
    if (!model.contains("merges") || !model["merges"].is_array()) throw Error(tok_path + ": model.merges", "missing or not an array");
    for (const auto& [k, v] : model["vocab"].items()) vocab[k] = token_id(v, k, tok_path + ": model.vocab");
    for (const auto& m : model["merges"]) {
      if (!(m.is_string() || (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())))
        throw Error(tok_path + ": model.merges", "an entry is neither \"a b\" nor [\"a\", \"b\"]");
      if (m.is_array()) {
        merges.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
      } else {
        const std::string line = m.get<std::string>();
        const size_t sp = line.find(' ');
        if (sp == std::string::npos) throw Error(tok_path, "merge \"" + line + "\" is not two tokens");
        merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
      }
    }
  } else {
    throw Error(dir, "not a GPT-2 tokenizer folder: needs vocab.json and merges.txt, or tokenizer.json");
  }
  ByteLevelBpe t(std::move(vocab), merges, "<|endoftext|>", where);
  if (where == tok_path) t.read_tokenizer_json_extras(parse(tok_path), tok_path);
  // GPT2Tokenizer's unk/bos/eos token is an added special token: kept whole in text,
  // dropped by decode(skip_special).
  if (t.id("<|endoftext|>") >= 0) t.add_special_tokens({"<|endoftext|>"});
  const std::string added_path = (fs::path(dir) / "added_tokens.json").string();
  if (fs::exists(added_path)) {
    std::vector<std::pair<int, std::string>> added;
    const auto j = parse(added_path);
    for (const auto& [k, v] : j.items()) added.emplace_back(token_id(v, k, added_path), k);
    std::sort(added.begin(), added.end());
    for (const auto& [id, tok] : added) {
      if (id != t.vocab_size()) throw Error(added_path, "added token \"" + tok + "\" has id " + std::to_string(id) +
                                                            ", expected the next free id " + std::to_string(t.vocab_size()));
      t.add_special_tokens({tok});
    }
  }
  return t;
}

// tokenizer.json beyond vocab and merges: the pre-tokenizer (GPT-2's byte level, optionally
// after individual digits; anything else is refused), and added_tokens, kept whole.
// (Values are compared as JSON, so a key of an unexpected type is refused, not a json exception.)
void ByteLevelBpe::read_tokenizer_json_extras(const nlohmann::json& j, const std::string& path) {
  const auto& model = j["model"];
  if (model.value("byte_fallback", nlohmann::json(false)) == true)
    throw Error(path + ": model.byte_fallback", "byte fallback (SentencePiece-style BPE, e.g. Llama 2's) is not supported");
  auto byte_level = [&](const nlohmann::json& p) {
    if (!p.is_object() || p.value("type", nlohmann::json()) != "ByteLevel") return false;
    if (p.value("add_prefix_space", nlohmann::json(false)) != false)
      throw Error(path + ": pre_tokenizer", "ByteLevel with add_prefix_space is not supported");
    return p.value("use_regex", nlohmann::json(true)) == true;
  };
  const auto pre = j.value("pre_tokenizer", nlohmann::json());
  bool ok = byte_level(pre);
  if (!ok && pre.is_object() && pre.value("type", nlohmann::json()) == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 2) {
    const auto& digits = pre["pretokenizers"][0];
    ok = digits.is_object() && digits.value("type", nlohmann::json()) == "Digits" &&
         digits.value("individual_digits", nlohmann::json(false)) == true &&
         byte_level(pre["pretokenizers"][1]);
    split_digits_ = ok;
  }
  if (!ok) {
    std::string shown = pre.dump();
    if (shown.size() > 200) shown = shown.substr(0, 200) + "...";
    throw Error(path + ": pre_tokenizer", "only GPT-2's byte-level pre-tokenizer, optionally after Digits(individual_digits), "
                                          "is supported; got " + shown);
  }
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return;
  if (!j["added_tokens"].is_array()) throw Error(path + ": added_tokens", "not an array");
  std::vector<std::pair<int64_t, std::string>> added;
  for (const auto& a : j["added_tokens"]) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
      throw Error(path + ": added_tokens", "an entry without an integer id and a string content");
    added.emplace_back(a["id"].get<int64_t>(), a["content"].get<std::string>());
  }
  std::sort(added.begin(), added.end());
  for (const auto& [i, tok] : added) {
    const int have = id(tok);
    if (have >= 0 && have != i)
      throw Error(path + ": added_tokens", "\"" + tok + "\" has id " + std::to_string(i) + " but " + std::to_string(have) + " in model.vocab");
    if (have < 0 && i != vocab_size())
      throw Error(path + ": added_tokens", "\"" + tok + "\" has id " + std::to_string(i) + ", expected the next free id " +
                                               std::to_string(vocab_size()));
    add_special_tokens({tok});
  }
}

ByteLevelBpe::ByteLevelBpe(std::unordered_map<std::string, int> vocab,
                           const std::vector<std::pair<std::string, std::string>>& merges, std::string unk,
                           const std::string& where)
    : ids_(std::move(vocab)), unk_(std::move(unk)) {
  int max_id = -1;
  for (const auto& [tok, id] : ids_) {
    if (id < 0) throw Error(where, "token \"" + tok + "\" has a negative id");
    max_id = std::max(max_id, id);
  }
  // Ids index a table: one far beyond the number of entries would allocate for nothing.
  if (static_cast<size_t>(max_id) >= 2 * ids_.size() + 1024)
    throw Error(where, "id " + std::to_string(max_id) + " is larger than the vocabulary (" + std::to_string(ids_.size()) + " entries)");
  tokens_.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [tok, id] : ids_) tokens_[static_cast<size_t>(id)] = tok;
  base_size_ = static_cast<int>(tokens_.size());
  // As the tokenizers library's BPE: both sides of a merge, and the token it makes, are in
  // the vocabulary.
  for (size_t r = 0; r < merges.size(); ++r)
    for (const std::string& t : {merges[r].first, merges[r].second, merges[r].first + merges[r].second})
      if (!ids_.count(t))
        throw Error(where, "merge " + std::to_string(r + 1) + " (\"" + merges[r].first + " " + merges[r].second + "\"): \"" +
                               t + "\" is not in the vocabulary");
  // A merge listed twice takes its last rank, as GPT2Tokenizer's dict(zip(merges, range(n))).
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    merges_.push_back(merges[r].first + " " + merges[r].second);
    ranks_[merges_.back()] = static_cast<int>(r);
  }
}

void ByteLevelBpe::add_special_tokens(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    if (std::find(specials_.begin(), specials_.end(), t) == specials_.end()) specials_.push_back(t);
    if (ids_.count(t)) continue;
    ids_[t] = vocab_size();
    tokens_.push_back(t);
  }
}

void ByteLevelBpe::set_lstrip(const std::string& token) {
  if (std::find(lstrip_.begin(), lstrip_.end(), token) == lstrip_.end()) lstrip_.push_back(token);
}

int ByteLevelBpe::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<std::string> ByteLevelBpe::bpe(const std::string& piece) const {
  std::vector<std::string> word;
  for (unsigned char b : piece) word.push_back(uc::encode(std::u32string(1, bytes().to[b])));
  while (word.size() > 1) {
    int best = std::numeric_limits<int>::max();
    std::string first, second;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        first = word[i];
        second = word[i + 1];
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    std::vector<std::string> merged;
    for (size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

std::vector<std::string> ByteLevelBpe::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  auto segment = [&](const std::string& seg) {
    for (const auto& piece : pretokenize(seg, split_digits_))
      for (auto& t : bpe(piece)) out.push_back(std::move(t));
  };
  size_t i = 0, start = 0;
  while (i < text.size()) {
    size_t best = 0;
    const std::string* which = nullptr;
    for (const auto& sp : specials_)
      if (sp.size() > best && text.compare(i, sp.size(), sp) == 0) best = sp.size(), which = &sp;
    if (!which) {
      ++i;
      continue;
    }
    size_t end = i;  // the text before the special token, less its trailing whitespace if it strips left
    if (std::find(lstrip_.begin(), lstrip_.end(), *which) != lstrip_.end())
      while (end > start) {  // Python's rstrip(): Unicode whitespace
        size_t b = end - 1;
        while (b > start && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;  // start of the last character
        const std::u32string c = uc::decode(text.substr(b, end - b));
        if (c.size() != 1 || !is_s(c[0])) break;
        end = b;
      }
    if (end > start) segment(text.substr(start, end - start));
    out.push_back(*which);
    i += best;
    start = i;
  }
  if (start < text.size()) segment(text.substr(start));
  return out;
}

std::vector<int> ByteLevelBpe::encode(const std::string& text) const {
  std::vector<int> ids;
  const int unk = id(unk_);
  for (const auto& t : tokenize(text)) {
    const int known = id(t);
    const int i = known >= 0 ? known : unk;
    // A token the vocabulary lacks (SmolLM2's has no symbol for some control bytes) is
    // the unknown token, or dropped when there is none, as the tokenizers library does.
    if (i >= 0) ids.push_back(i);
  }
  return ids;
}

std::string ByteLevelBpe::decode(const std::vector<int>& ids, bool skip_special) const {
  std::string out, pending;  // pending: bytes of ordinary tokens, decoded together
  auto flush = [&] {
    out += uc::encode(uc::decode(pending));  // invalid UTF-8 becomes U+FFFD, as errors="replace"
    pending.clear();
  };
  for (int i : ids) {
    if (i < 0 || i >= vocab_size()) continue;
    const std::string& t = tokens_[static_cast<size_t>(i)];
    if (std::find(specials_.begin(), specials_.end(), t) != specials_.end()) {
      if (skip_special) continue;
      flush();
      out += t;
      continue;
    }
    for (char32_t c : uc::decode(t)) {
      const auto it = bytes().from.find(c);
      if (it != bytes().from.end()) pending += static_cast<char>(it->second);
    }
  }
  flush();
  return out;
}

void ByteLevelBpe::save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create folder: " + ec.message());
  if (split_digits_) {
    save_tokenizer_json(dir);
    return;
  }
  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::object();
  for (const auto& [tok, i] : ids_) (i < base_size_ ? vocab : added)[tok] = i;
  write_file_atomic((fs::path(dir) / "vocab.json").string(), vocab.dump());
  write_file_atomic((fs::path(dir) / "merges.txt").string(), [&](std::ostream& out) {
    out << "#version: 0.2\n";
    for (const auto& m : merges_) out << m << '\n';
  });
  write_file_atomic((fs::path(dir) / "added_tokens.json").string(), added.dump());
}

void ByteLevelBpe::save_tokenizer_json(const std::string& dir) const {
  using nlohmann::json;
  json vocab = json::object(), merges = json::array(), added = json::array();
  for (size_t i = 0; i < tokens_.size(); ++i) vocab[tokens_[i]] = static_cast<int>(i);
  for (const auto& m : merges_) merges.push_back(m);
  for (const auto& t : specials_)
    added.push_back({{"id", id(t)}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  const json doc = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added}, {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}}},
      {"post_processor", nullptr}, {"decoder", byte_level},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab}, {"merges", merges}}}};
  write_file_atomic((fs::path(dir) / "tokenizer.json").string(), doc.dump());
  for (const char* stale : {"vocab.json", "merges.txt", "added_tokens.json"}) {  // load() would prefer them
    std::error_code ec;
    fs::remove(fs::path(dir) / stale, ec);
  }
}

}  // namespace latent
