// Reading back a run's metrics.jsonl (written by the trainer, one JSON object per line):
// the Model panel shows its last progress line and evaluations. The file may come from
// someone else or be cut short by a crash, so a line that is not what the trainer writes
// is counted and skipped, never thrown; only an unreadable file is an error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace latent {

struct MetricsLine {
  std::string type;                      // "train", "eval" or "end"
  int64_t step = 0;
  std::map<std::string, double> values;  // the line's numeric fields, step excluded
  std::map<std::string, std::string> texts;  // its string fields ("end": status, message)
  std::vector<std::string> samples;      // "eval": the generated samples

  double value(const std::string& key, double fallback = 0.0) const;
};

struct MetricsLog {
  std::vector<MetricsLine> evals;        // the last `keep_evals` evaluation lines, in order
  std::optional<MetricsLine> last_train; // the last progress line
  size_t lines = 0;                      // lines read
  size_t skipped = 0;                    // lines that were not a metrics object
};

// A line longer than this is skipped without being parsed.
inline constexpr size_t kMaxMetricsLineBytes = 1 << 20;

// Follows a metrics.jsonl that another process is writing (the studio watching a run):
// each poll() returns the complete lines appended since the last one. A last line without
// its newline waits for the next poll; a line that is not a metrics object, or longer than
// kMaxMetricsLineBytes, is counted and described, never thrown; a file that shrank (the run
// was restarted into the same folder) is read again from its start.
class MetricsTail {
 public:
  explicit MetricsTail(std::string path) : path_(std::move(path)) {}
  struct Update {
    std::vector<MetricsLine> lines;
    std::vector<std::string> problems;  // "metrics.jsonl line 12: not a metrics object"
    bool restarted = false;             // the file shrank: earlier lines are gone
  };
  // At most max_bytes are read per call (the rest waits for the next). A file that does
  // not exist yet gives an empty update; one that cannot be read throws latent::Error.
  Update poll(size_t max_bytes = 16 << 20);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint64_t offset_ = 0;   // bytes consumed
  std::string partial_;   // the unfinished last line
  bool skipping_ = false; // inside an over-long line: drop until its newline
  size_t line_no_ = 0;
};

// Throws latent::Error when the file exists but cannot be read; a missing file reads as empty.
MetricsLog read_metrics_log(const std::string& path, size_t keep_evals = 8);
// The same, from the file's bytes in memory.
MetricsLog parse_metrics_log(const std::string& bytes, size_t keep_evals = 8);

}  // namespace latent
