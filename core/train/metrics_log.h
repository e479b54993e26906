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
  std::string type;                      // "train" or "eval"
  int64_t step = 0;
  std::map<std::string, double> values;  // the line's numeric fields, step excluded

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

// Throws latent::Error when the file exists but cannot be read; a missing file reads as empty.
MetricsLog read_metrics_log(const std::string& path, size_t keep_evals = 8);
// The same, from the file's bytes in memory.
MetricsLog parse_metrics_log(const std::string& bytes, size_t keep_evals = 8);

}  // namespace latent
