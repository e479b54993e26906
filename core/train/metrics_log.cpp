#include "train/metrics_log.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "util/atomic_file.h"
#include "util/error.h"

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
  for (const auto& [k, v] : j.items()) {
    if (k != "step" && v.is_number()) m.values[k] = v.get<double>();
    if (k != "type" && v.is_string()) m.texts[k] = v.get<std::string>();
  }
  const auto samples = j.find("samples");
  if (samples != j.end() && samples->is_array())
    for (const auto& x : *samples)
      if (x.is_string()) m.samples.push_back(x.get<std::string>());
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

MetricsTail::Update MetricsTail::poll(size_t max_bytes) {
  Update u;
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) return u;
  std::ifstream in(path_, std::ios::binary);
  if (!in) throw Error(path_, "cannot be read");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(in.tellg());
  if (size < offset_) {  // rewritten from the start
    offset_ = 0;
    partial_.clear();
    skipping_ = false;
    line_no_ = 0;
    u.restarted = true;
  }
  const uint64_t n = std::min<uint64_t>(size - offset_, max_bytes);
  if (n == 0) return u;
  std::string chunk(n, '\0');
  in.seekg(static_cast<std::streamoff>(offset_));
  in.read(chunk.data(), static_cast<std::streamsize>(n));
  if (static_cast<uint64_t>(in.gcount()) != n) throw Error(path_, "cannot be read (it changed while being read)");
  offset_ += n;
  size_t pos = 0;
  while (pos < chunk.size()) {
    const size_t end = chunk.find('\n', pos);
    const size_t stop = end == std::string::npos ? chunk.size() : end;
    if (!skipping_) partial_.append(chunk, pos, stop - pos);
    if (partial_.size() > kMaxMetricsLineBytes) {  // not a line the trainer writes
      partial_.clear();
      skipping_ = true;
    }
    if (end == std::string::npos) break;
    ++line_no_;
    const std::string where = std::filesystem::path(path_).filename().string() + " line " + std::to_string(line_no_);
    if (skipping_) {
      u.problems.push_back(where + ": longer than " + std::to_string(kMaxMetricsLineBytes) + " bytes, skipped");
    } else if (partial_.find_first_not_of(" \t\r") != std::string::npos) {
      auto m = parse_line(partial_);
      if (m) u.lines.push_back(std::move(*m));
      else u.problems.push_back(where + ": not a metrics object, skipped");
    }
    partial_.clear();
    skipping_ = false;
    pos = end + 1;
  }
  return u;
}

MetricsLog read_metrics_log(const std::string& path, size_t keep_evals) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  return parse_metrics_log(read_file(path), keep_evals);
}

}  // namespace latent
