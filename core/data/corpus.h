// Corpus loading: plain text (one sentence per line) or JSONL with a "text" field.
// Bad lines never crash the loader and are never dropped silently: each one is
// counted under its reason, and the first few line numbers per reason are kept so a
// message can point at them.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace latent {

enum class CorpusFormat { Auto, Text, Jsonl };

struct CorpusOptions {
  CorpusFormat format = CorpusFormat::Auto;  // Auto: ".jsonl"/".json" extension or a first line starting with '{'
  size_t max_chars = 512;                    // longer lines are truncated (or skipped) at this many code points
  bool skip_long = false;                    // true: skip long lines instead of truncating them
  bool deduplicate = false;                  // drop exact repeats (counted as "duplicate")
  bool keep_fields = false;                  // JSONL: keep the other scalar fields (Corpus::fields)
};

// Reasons a line is skipped or changed; the names are stable (CLI and JSON output).
namespace reason {
inline constexpr const char* kEmpty = "empty";
inline constexpr const char* kInvalidUtf8 = "invalid_utf8";
inline constexpr const char* kBadJson = "bad_json";          // not JSON, or not an object
inline constexpr const char* kNoText = "no_text_field";      // JSON object without a string "text"
inline constexpr const char* kTooLong = "too_long";          // skipped (skip_long)
inline constexpr const char* kTruncated = "truncated";       // kept, cut at max_chars
inline constexpr const char* kDuplicate = "duplicate";
}  // namespace reason

struct CorpusStats {
  size_t lines_read = 0;
  size_t kept = 0;
  std::map<std::string, size_t> skipped;    // reason -> lines skipped
  std::map<std::string, size_t> modified;   // reason -> lines kept but changed (truncated)
  std::map<std::string, std::vector<size_t>> examples;  // reason -> first line numbers (1-based)

  size_t skipped_total() const;
  std::string summary() const;  // one line, e.g. "47012 read, 47000 kept, skipped: 12 empty"
};

struct Corpus {
  std::string path;
  CorpusFormat format = CorpusFormat::Text;
  std::vector<std::string> sentences;  // whitespace-normalised, valid UTF-8, non-empty
  CorpusStats stats;
  // JSONL with keep_fields: the scalar fields besides "text" (strings, numbers, booleans),
  // the first kMaxFields names in order of appearance, each with one value per sentence
  // ("" where a line lacks it; strings cut at kMaxFieldChars code points).
  static constexpr size_t kMaxFields = 16, kMaxFieldChars = 100;
  std::vector<std::string> field_names;
  std::vector<std::vector<std::string>> field_values;  // [field][sentence]
};

// Throws latent::Error when the file cannot be read; bad lines are counted, not thrown.
Corpus load_corpus(const std::string& path, const CorpusOptions& options = {});

// The same, from bytes already in memory (path is only used in messages).
Corpus parse_corpus(const std::string& bytes, const std::string& path, const CorpusOptions& options = {});

// Held-out sentences for training: from valid_path when given, else valid.txt beside a
// corpus named train.txt, else the last 1% of `train` (then removed from it). Returns
// where they came from ("FILE" or "last 1% of the corpus").
std::string split_held_out(const std::string& corpus_path, const std::string& valid_path,
                           std::vector<std::string>& train, std::vector<std::string>& valid);

// Histogram of sentence lengths in whitespace words: bucket i holds lengths in
// [i*width+1, (i+1)*width]; the last bucket also holds everything longer.
std::vector<size_t> length_histogram(const std::vector<std::string>& sentences, size_t width, size_t buckets);

}  // namespace latent
