#include "data/corpus.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <unordered_set>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/utf8.h"

namespace latent {
namespace {

constexpr size_t kExamplesPerReason = 5;

void note(CorpusStats& stats, std::map<std::string, size_t>& counter, const char* why, size_t line) {
  ++counter[why];
  auto& ex = stats.examples[why];
  if (ex.size() < kExamplesPerReason) ex.push_back(line);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

CorpusFormat detect_format(const std::string& bytes, const std::string& path) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".json")) return CorpusFormat::Jsonl;
  if (ends_with(path, ".txt")) return CorpusFormat::Text;
  size_t i = 0;
  if (bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  while (i < bytes.size() && (bytes[i] == ' ' || bytes[i] == '\t' || bytes[i] == '\n' || bytes[i] == '\r')) ++i;
  return (i < bytes.size() && bytes[i] == '{') ? CorpusFormat::Jsonl : CorpusFormat::Text;
}

// Cuts s to max_chars code points, at the last space inside the limit when there is one
// in its second half (so words stay whole).
std::string truncate_chars(const std::string& s, size_t max_chars) {
  size_t cut = utf8::byte_offset(s, max_chars);
  const size_t space = s.rfind(' ', cut);
  if (space != std::string::npos && space > cut / 2) cut = space;
  std::string out = s.substr(0, cut);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

size_t CorpusStats::skipped_total() const {
  size_t n = 0;
  for (const auto& [why, count] : skipped) n += count;
  return n;
}

std::string CorpusStats::summary() const {
  std::ostringstream out;
  out << lines_read << " read, " << kept << " kept";
  if (!skipped.empty()) {
    out << ", skipped:";
    for (const auto& [why, count] : skipped) out << ' ' << count << ' ' << why;
  }
  for (const auto& [why, count] : modified) out << ", " << count << ' ' << why;
  return out.str();
}

// The scalar fields of a kept JSONL line (Corpus::fields), for the sentence just added.
static void keep_fields(Corpus& corpus, const nlohmann::json& j) {
  const size_t row = corpus.sentences.size() - 1;
  for (const auto& [key, value] : j.items()) {
    if (key == "text" || !(value.is_string() || value.is_number() || value.is_boolean())) continue;
    if (!utf8::is_valid(key)) continue;
    auto at = std::find(corpus.field_names.begin(), corpus.field_names.end(), key);
    if (at == corpus.field_names.end()) {
      if (corpus.field_names.size() >= Corpus::kMaxFields) continue;
      corpus.field_names.push_back(key);
      corpus.field_values.emplace_back(row + 1);
      at = corpus.field_names.end() - 1;
    }
    std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    if (!utf8::is_valid(v)) continue;
    v = utf8::normalize_whitespace(v);
    if (utf8::length(v) > Corpus::kMaxFieldChars) v = truncate_chars(v, Corpus::kMaxFieldChars);
    auto& column = corpus.field_values[static_cast<size_t>(at - corpus.field_names.begin())];
    column.resize(row + 1);
    column[row] = std::move(v);
  }
}

Corpus parse_corpus(const std::string& bytes, const std::string& path, const CorpusOptions& options) {
  Corpus corpus;
  corpus.path = path;
  corpus.format = options.format == CorpusFormat::Auto ? detect_format(bytes, path) : options.format;
  CorpusStats& stats = corpus.stats;
  std::unordered_set<std::string> seen;

  size_t pos = 0;
  if (bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // UTF-8 byte-order mark
  size_t line_no = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    std::string line = bytes.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    ++stats.lines_read;

    if (!utf8::is_valid(line)) {
      note(stats, stats.skipped, reason::kInvalidUtf8, line_no);
      continue;
    }
    std::string text;
    nlohmann::json fields;
    if (corpus.format == CorpusFormat::Jsonl) {
      if (utf8::normalize_whitespace(line).empty()) {
        note(stats, stats.skipped, reason::kEmpty, line_no);
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        note(stats, stats.skipped, reason::kBadJson, line_no);
        continue;
      }
      auto it = j.find("text");
      if (it == j.end() || !it->is_string()) {
        note(stats, stats.skipped, reason::kNoText, line_no);
        continue;
      }
      text = it->get<std::string>();
      if (!utf8::is_valid(text)) {  // \u escapes can encode lone surrogates
        note(stats, stats.skipped, reason::kInvalidUtf8, line_no);
        continue;
      }
      if (options.keep_fields) fields = std::move(j);
    } else {
      text = std::move(line);
    }
    text = utf8::normalize_whitespace(text);
    if (text.empty()) {
      note(stats, stats.skipped, reason::kEmpty, line_no);
      continue;
    }
    if (utf8::length(text) > options.max_chars) {
      if (options.skip_long) {
        note(stats, stats.skipped, reason::kTooLong, line_no);
        continue;
      }
      text = truncate_chars(text, options.max_chars);
      note(stats, stats.modified, reason::kTruncated, line_no);
    }
    if (options.deduplicate && !seen.insert(text).second) {
      note(stats, stats.skipped, reason::kDuplicate, line_no);
      continue;
    }
    corpus.sentences.push_back(std::move(text));
    if (options.keep_fields && fields.is_object()) keep_fields(corpus, fields);
    for (auto& values : corpus.field_values) values.resize(corpus.sentences.size());
  }
  stats.kept = corpus.sentences.size();
  return corpus;
}

static Corpus load_corpus_file(const std::string& path, const CorpusOptions& options) {
  return parse_corpus(read_file(path), path, options);
}

Corpus load_corpus(const std::string& path, const CorpusOptions& options) {
  return reading(path, [&] { return load_corpus_file(path, options); });
}

std::vector<size_t> length_histogram(const std::vector<std::string>& sentences, size_t width, size_t buckets) {
  std::vector<size_t> hist(buckets, 0);
  if (buckets == 0 || width == 0) return hist;
  for (const auto& s : sentences) {
    const size_t words = utf8::split_whitespace(s).size();
    size_t b = words == 0 ? 0 : (words - 1) / width;
    if (b >= buckets) b = buckets - 1;
    ++hist[b];
  }
  return hist;
}

std::string split_held_out(const std::string& corpus_path, const std::string& valid_path,
                           std::vector<std::string>& train, std::vector<std::string>& valid) {
  namespace fs = std::filesystem;
  std::string vpath = valid_path;
  if (vpath.empty() && fs::path(corpus_path).filename() == "train.txt") {
    const auto sibling = fs::path(corpus_path).parent_path() / "valid.txt";
    std::error_code ec;
    if (fs::exists(sibling, ec)) vpath = sibling.string();
  }
  if (!vpath.empty()) {
    valid = load_corpus(vpath).sentences;
    return vpath;
  }
  valid.clear();
  if (train.size() < 2) return "none (corpus too small)";
  const size_t n = std::max<size_t>(1, train.size() / 100);
  valid.assign(train.end() - static_cast<long>(n), train.end());
  train.resize(train.size() - n);
  return "last 1% of the corpus";
}

}  // namespace latent
