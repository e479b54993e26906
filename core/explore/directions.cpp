#include "explore/directions.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <random>

#include "io/safetensors.h"
#include "util/error.h"

namespace latent {
namespace {

namespace fs = std::filesystem;

at::Tensor as_latents(const at::Tensor& x, const char* which) {
  if (x.dim() != 2) throw Error("direction", std::string("set ") + which + " must be a matrix of latents (N, D)");
  if (x.size(0) < 2) throw Error("direction", std::string("set ") + which + " needs at least 2 sentences, got " + std::to_string(x.size(0)));
  auto d = x.to(at::kCPU, at::kDouble).contiguous();
  if (!at::isfinite(d).all().item<bool>()) throw Error("direction", std::string("set ") + which + " holds NaN or infinite latents");
  return d;
}

// Logistic regression with an L2 penalty (not on the bias), Newton's method: w (D+1,)
// with the bias last. y in {0, 1}.
at::Tensor fit_logistic(const at::Tensor& x, const at::Tensor& y, double l2 = 1.0) {
  const int64_t n = x.size(0), d = x.size(1);
  const auto X = at::cat({x, at::ones({n, 1}, at::kDouble)}, 1);
  auto w = at::zeros({d + 1}, at::kDouble);
  auto reg = at::full({d + 1}, l2, at::kDouble);
  reg[d] = 1e-8;
  for (int it = 0; it < 50; ++it) {
    const auto p = at::sigmoid(at::mv(X, w));
    const auto g = at::mv(X.t(), p - y) + reg * w;
    const auto h = at::matmul(X.t() * (p * (1 - p)), X) + at::diag(reg);
    const auto step = at::linalg_solve(h, g);
    w = w - step;
    if (step.abs().max().item<double>() < 1e-10) break;
  }
  return w;
}

struct Classifier {
  at::Tensor w;  // (D,)
  double bias = 0;
  bool predicts_b(const at::Tensor& row) const { return at::dot(row, w).item<double>() + bias > 0; }
};

Classifier train_classifier(const at::Tensor& a, const at::Tensor& b, const std::string& method) {
  if (method == "mean") {
    const auto ma = a.mean(0), mb = b.mean(0);
    const auto w = mb - ma;
    return {w, -at::dot((ma + mb) / 2, w).item<double>()};
  }
  const auto x = at::cat({a, b}, 0);
  const auto y = at::cat({at::zeros({a.size(0)}, at::kDouble), at::ones({b.size(0)}, at::kDouble)});
  const auto w = fit_logistic(x, y);
  const int64_t d = a.size(1);
  return {w.slice(0, 0, d), w[d].item<double>()};
}

}  // namespace

void check_direction_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                           c == '-' || c == '.';
                  });
  if (!ok) throw Error("direction name", "\"" + name + "\" must be 1-64 letters, digits, '_', '-' or '.', not starting with '.'");
}

Direction compute_direction(const at::Tensor& a_in, const at::Tensor& b_in, const std::string& method, uint64_t seed) {
  if (method != "mean" && method != "logistic")
    throw Error("direction", "method must be mean or logistic, got \"" + method + "\"");
  const auto a = as_latents(a_in, "A"), b = as_latents(b_in, "B");
  if (a.size(1) != b.size(1))
    throw Error("direction", "the sets' latents differ in size (" + std::to_string(a.size(1)) + " and " + std::to_string(b.size(1)) + ")");

  Direction d;
  d.method = method;
  d.n_a = a.size(0);
  d.n_b = b.size(0);
  d.folds = static_cast<int>(std::min<int64_t>({5, d.n_a, d.n_b}));

  // Stratified folds: each set shuffled and dealt round-robin.
  std::mt19937_64 rng(seed);
  auto deal = [&](int64_t n) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::shuffle(idx.begin(), idx.end(), rng);
    std::vector<int> fold(static_cast<size_t>(n));
    for (size_t i = 0; i < idx.size(); ++i) fold[static_cast<size_t>(idx[i])] = static_cast<int>(i % static_cast<size_t>(d.folds));
    return fold;
  };
  const auto fa = deal(d.n_a), fb = deal(d.n_b);
  auto rows = [](const at::Tensor& x, const std::vector<int>& fold, int k, bool in) {
    std::vector<int64_t> keep;
    for (size_t i = 0; i < fold.size(); ++i)
      if ((fold[i] == k) == in) keep.push_back(static_cast<int64_t>(i));
    return x.index_select(0, at::tensor(keep, at::kLong));
  };
  int64_t correct = 0;
  for (int k = 0; k < d.folds; ++k) {
    const auto c = train_classifier(rows(a, fa, k, false), rows(b, fb, k, false), method);
    const auto ta = rows(a, fa, k, true), tb = rows(b, fb, k, true);
    for (int64_t i = 0; i < ta.size(0); ++i) correct += c.predicts_b(ta[i]) ? 0 : 1;
    for (int64_t i = 0; i < tb.size(0); ++i) correct += c.predicts_b(tb[i]) ? 1 : 0;
  }
  d.accuracy = static_cast<double>(correct) / static_cast<double>(d.n_a + d.n_b);

  const auto shift = b.mean(0) - a.mean(0);
  if (method == "mean") {
    d.vector = shift.to(at::kFloat);
  } else {
    const auto c = train_classifier(a, b, method);
    const double norm = c.w.norm().item<double>();
    if (!(norm > 0)) throw Error("direction", "the classifier found no direction (the two sets' latents coincide)");
    const auto unit = c.w / norm;
    d.vector = (unit * at::dot(shift, unit)).to(at::kFloat);
  }
  return d;
}

at::Tensor apply_direction(const at::Tensor& z, const Direction& d, double alpha) {
  const auto v = d.vector.to(z.device(), z.scalar_type());
  if (z.size(-1) != v.size(0))
    throw Error("direction " + d.name, "was computed for latents of size " + std::to_string(v.size(0)) + ", not " +
                                           std::to_string(z.size(-1)));
  return z + alpha * v;
}

std::vector<Direction> load_directions(const std::string& model_dir) {
  std::vector<Direction> out;
  const fs::path dir = fs::path(model_dir) / "directions";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string where = f.string();
    io::Metadata meta;
    const auto tensors = io::load(where, &meta);
    Direction d;
    d.name = f.stem().string();
    try {
      check_direction_name(d.name);
    } catch (const Error&) {
      continue;  // not ours (a file the user put there)
    }
    const auto it = meta.find("latent.direction");
    if (it == meta.end()) throw Error(where, "has no \"latent.direction\" metadata: not a direction file");
    nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
    if (!j.is_object()) throw Error(where, "\"latent.direction\" metadata is not a JSON object");
    auto str = [&](const char* key, std::string& v) {
      if (j.contains(key) && !j[key].is_string()) throw Error(where, std::string(key) + " must be a string");
      if (j.contains(key)) v = j[key].get<std::string>();
    };
    auto num = [&](const char* key, double lo, double hi) {
      if (!j.contains(key) || !j[key].is_number()) throw Error(where, std::string(key) + " must be a number");
      const double v = j[key].get<double>();
      if (!(v >= lo && v <= hi)) throw Error(where, std::string(key) + " is out of range");
      return v;
    };
    str("method", d.method);
    str("label_a", d.label_a);
    str("label_b", d.label_b);
    if (d.method != "mean" && d.method != "logistic") throw Error(where, "method must be mean or logistic");
    d.accuracy = num("accuracy", 0, 1);
    d.folds = static_cast<int>(num("folds", 0, 1e6));
    d.n_a = static_cast<int64_t>(num("n_a", 0, 1e12));
    d.n_b = static_cast<int64_t>(num("n_b", 0, 1e12));
    for (const auto& [name, t] : tensors)
      if (name == "direction") d.vector = t;
    if (!d.vector.defined() || d.vector.dim() != 1 || d.vector.size(0) < 1)
      throw Error(where, "needs one tensor \"direction\" of shape (D,)");
    d.vector = d.vector.to(at::kFloat);
    if (!at::isfinite(d.vector).all().item<bool>()) throw Error(where, "the direction holds NaN or infinite values");
    out.push_back(std::move(d));
  }
  return out;
}

void save_direction(const std::string& model_dir, const Direction& d) {
  check_direction_name(d.name);
  if (!d.vector.defined() || d.vector.dim() != 1) throw Error("direction " + d.name, "has no vector");
  const fs::path dir = fs::path(model_dir) / "directions";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string(), "cannot create: " + ec.message());
  const nlohmann::json j = {{"method", d.method}, {"label_a", d.label_a}, {"label_b", d.label_b},
                            {"accuracy", d.accuracy}, {"folds", d.folds},   {"n_a", d.n_a},
                            {"n_b", d.n_b},           {"latent_dim", d.vector.size(0)}};
  io::save((dir / (d.name + ".safetensors")).string(), {{"direction", d.vector.to(at::kFloat)}},
           {{"latent.direction", j.dump()}});
}

void remove_direction(const std::string& model_dir, const std::string& name) {
  check_direction_name(name);
  const fs::path f = fs::path(model_dir) / "directions" / (name + ".safetensors");
  std::error_code ec;
  if (!fs::remove(f, ec)) throw Error(f.string(), ec ? "cannot remove: " + ec.message() : "no such direction");
}

}  // namespace latent
