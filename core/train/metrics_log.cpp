#include "train/metrics_log.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "util/atomic_file.h"

namespace latent {

double MetricsLine::value(const std::string& key, double fallback) const {
  const auto it = values.find(key);
  return it == values.end() ? fallback : it->second;
}

namespace {

// One line as the trainer writes it: an object with a string "type", an integer "step"
// and numbers; anything else is not a metrics line.
std::optional<MetricsLine> parse_line(const std::string& line) {
  if (line.size() > kMaxMetricsLineBytes) return std::nullopt;
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto type = j.find("type");
  const auto step = j.find("step");
  if (type == j.end() || !type->is_string() || step == j.end() || !step->is_number_integer()) return std::nullopt;
  MetricsLine m;
  m.type = type->get<std::string>();
  m.step = step->get<int64_t>();
  for (const auto& [k, v] : j.items())
    if (k != "step" && v.is_number()) m.values[k] = v.get<double>();
  return m;
}

}  // namespace

MetricsLog parse_metrics_log(const std::string& bytes, size_t keep_evals) {
  MetricsLog log;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    const std::string line = bytes.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++log.lines;
    auto m = parse_line(line);
    if (!m) {
      ++log.skipped;
    } else if (m->type == "eval") {
      log.evals.push_back(std::move(*m));
      if (log.evals.size() > keep_evals) log.evals.erase(log.evals.begin());
    } else if (m->type == "train") {
      log.last_train = std::move(*m);
    }
  }
  return log;
}

MetricsLog read_metrics_log(const std::string& path, size_t keep_evals) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  return parse_metrics_log(read_file(path), keep_evals);
}

}  // namespace latent
