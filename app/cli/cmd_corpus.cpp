// corpus-stats FILE: what the loader keeps, what it skips and why, sentence lengths.
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "data/corpus.h"
#include "util/utf8.h"

namespace latent::cli {
namespace {

constexpr size_t kBucketWidth = 5;
constexpr size_t kBuckets = 10;

void run_corpus_stats(const std::string& path, const CorpusOptions& options, bool json) {
  const Corpus corpus = load_corpus(path, options);
  const auto& st = corpus.stats;
  const auto hist = length_histogram(corpus.sentences, kBucketWidth, kBuckets);
  size_t words = 0, max_words = 0;
  for (const auto& s : corpus.sentences) {
    const size_t n = utf8::split_whitespace(s).size();
    words += n;
    max_words = std::max(max_words, n);
  }
  const double mean = corpus.sentences.empty() ? 0.0 : static_cast<double>(words) / corpus.sentences.size();
  auto bucket_label = [](size_t i) {
    return i + 1 == kBuckets ? std::to_string(i * kBucketWidth + 1) + "+"
                             : std::to_string(i * kBucketWidth + 1) + "-" + std::to_string((i + 1) * kBucketWidth);
  };
  if (json) {
    nlohmann::json j = {{"file", path},
                        {"format", corpus.format == CorpusFormat::Jsonl ? "jsonl" : "text"},
                        {"lines_read", st.lines_read},
                        {"kept", st.kept},
                        {"skipped", st.skipped},
                        {"modified", st.modified},
                        {"examples", st.examples},
                        {"mean_words", mean},
                        {"max_words", max_words}};
    nlohmann::json h = nlohmann::json::array();
    for (size_t i = 0; i < hist.size(); ++i) h.push_back({{"words", bucket_label(i)}, {"count", hist[i]}});
    j["length_histogram"] = h;
    print_json(j);
    return;
  }
  std::printf("file:        %s (%s)\n", path.c_str(), corpus.format == CorpusFormat::Jsonl ? "JSONL" : "text");
  std::printf("lines read:  %zu\n", st.lines_read);
  std::printf("kept:        %zu\n", st.kept);
  std::printf("skipped:     %zu\n", st.skipped_total());
  auto lines_of = [&](const std::string& why) {
    std::string out;
    const auto it = st.examples.find(why);
    if (it == st.examples.end()) return out;
    for (size_t l : it->second) out += (out.empty() ? "" : ", ") + std::to_string(l);
    return " (lines " + out + (st.examples.at(why).size() == 5 ? ", ..." : "") + ")";
  };
  for (const auto& [why, n] : st.skipped) std::printf("  %-14s %zu%s\n", why.c_str(), n, lines_of(why).c_str());
  for (const auto& [why, n] : st.modified) std::printf("%-13s%zu%s\n", (why + ":").c_str(), n, lines_of(why).c_str());
  std::printf("words per sentence: mean %.1f, max %zu\n", mean, max_words);
  size_t peak = 1;
  for (size_t c : hist) peak = std::max(peak, c);
  for (size_t i = 0; i < hist.size(); ++i) {
    const int bar = static_cast<int>(40.0 * static_cast<double>(hist[i]) / static_cast<double>(peak) + 0.5);
    std::printf("  %6s %8zu %s\n", bucket_label(i).c_str(), hist[i], std::string(static_cast<size_t>(bar), '#').c_str());
  }
}

}  // namespace

void add_corpus_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("corpus-stats", "Lines read, kept, skipped by reason, and a sentence-length histogram");
  struct Args {
    std::string file;
    CorpusOptions options;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("FILE", a->file, "Corpus: plain text (one sentence per line) or JSONL with a \"text\" field")->required();
  cmd->add_option("--max-chars", a->options.max_chars, "Longer lines are truncated (or skipped with --skip-long)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--skip-long", a->options.skip_long, "Skip long lines instead of truncating them");
  cmd->add_flag("--dedup", a->options.deduplicate, "Count exact repeats as skipped");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] { run_corpus_stats(a->file, a->options, a->json); });
}

}  // namespace latent::cli
