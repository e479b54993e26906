// Whole-space exploration for scripts and notebooks: encode (a corpus's posterior means),
// project (PCA to 2-D or more) and direction (attribute directions: compute, save, apply).
// The studio's latent map and Directions panel show the same.
#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_args.h"
#include "data/corpus.h"
#include "explore/corpus_latents.h"
#include "explore/directions.h"
#include "explore/pca.h"
#include "explore/umap.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::cli {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The sentence index written beside encode's output: one sentence per line, in row order.
std::string index_path(const std::string& out) { return (fs::path(out).replace_extension(".sentences.txt")).string(); }

void save_matrix(const std::string& path, const at::Tensor& m, const io::Metadata& meta = {}) {
  const auto c = m.to(at::kCPU, at::kFloat).contiguous();
  if (ends_with(path, ".npy")) return io::npy_save(path, c.data_ptr<float>(), {c.size(0), c.size(1)});
  if (ends_with(path, ".safetensors")) return io::save(path, {{"mu", c}}, meta);
  if (ends_with(path, ".csv")) {
    return write_file_atomic(path, [&](std::ostream& out) {
      for (int64_t j = 0; j < c.size(1); ++j) out << (j ? "," : "") << "pc" << (j + 1);
      out << "\n";
      const float* p = c.data_ptr<float>();
      char buf[32];
      for (int64_t i = 0; i < c.size(0); ++i) {
        for (int64_t j = 0; j < c.size(1); ++j) {
          std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(p[i * c.size(1) + j]));
          out << (j ? "," : "") << buf;
        }
        out << "\n";
      }
    });
  }
  throw Error(path, "the output must end in .npy or .safetensors" + std::string(m.size(1) <= 16 ? " (or .csv)" : ""));
}

at::Tensor load_matrix(const std::string& path) {
  at::Tensor m;
  if (ends_with(path, ".npy")) {
    auto a = io::npy_load(path);
    if (a.shape.size() != 2) throw Error(path, "expected a matrix of latents (N, D)");
    m = at::from_blob(a.data.data(), {a.shape[0], a.shape[1]}, at::kFloat).clone();
  } else {
    for (const auto& [name, t] : io::load(path))
      if (name == "mu") m = t;
    if (!m.defined()) throw Error(path, "has no tensor \"mu\" (write it with latent-cli encode)");
  }
  if (m.dim() != 2) throw Error(path, "expected a matrix of latents (N, D)");
  return m.to(at::kFloat);
}

std::vector<std::string> read_set(const std::string& path) {
  auto s = load_corpus(path).sentences;
  if (s.size() < 2) throw Error(path, "needs at least 2 sentences, has " + std::to_string(s.size()));
  return s;
}

void add_encode(CLI::App& app) {
  auto* cmd = app.add_subcommand("encode", "The posterior means of a corpus, for the latent map and notebooks");
  struct Args : ModelArgs {
    std::string corpus, out, cache;
    size_t limit = kMaxMapSentences;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd, false);
  cmd->add_option("--corpus", a->corpus, "Sentences (text or JSONL)")->required();
  cmd->add_option("--out", a->out, "mu (N, D) as .npy or .safetensors; the sentences go to OUT's stem + .sentences.txt")->required();
  cmd->add_option("--limit", a->limit, "The first N sentences")->check(CLI::Range(size_t{1}, kMaxMapSentences))->capture_default_str();
  cmd->add_option("--cache", a->cache, "Cache folder (the studio's maps use ~/.cache/latent-studio/maps)");
  cmd->callback([a] {
    if (!ends_with(a->out, ".npy") && !ends_with(a->out, ".safetensors"))
      throw Error("--out " + a->out, "must end in .npy or .safetensors");
    auto sentences = load_corpus(a->corpus).sentences;
    if (sentences.size() > a->limit) sentences.resize(a->limit);
    if (sentences.empty()) throw Error(a->corpus, "has no sentences");
    Generator g = a->open();
    bool cached = false;
    int last = -1;
    const auto mu = encode_corpus_cached(g, sentences, a->cache, [&](size_t done, size_t total) {
      const int pct = static_cast<int>(100 * done / std::max<size_t>(1, total));
      if (!a->json && pct / 10 != last / 10) std::fprintf(stderr, "encoded %zu of %zu\n", done, total);
      last = pct;
      return true;
    }, &cached);
    save_matrix(a->out, mu, {{"sentences", std::to_string(sentences.size())}, {"model", fs::absolute(a->dir).string()}});
    write_file_atomic(index_path(a->out), [&](std::ostream& out) {
      for (const auto& s : sentences) out << s << "\n";
    });
    if (a->json)
      return print_json({{"out", a->out}, {"index", index_path(a->out)}, {"n", mu.size(0)}, {"latent_dim", mu.size(1)},
                         {"from_cache", cached}});
    std::printf("wrote %s: %lld x %lld%s; sentences in %s\n", a->out.c_str(), static_cast<long long>(mu.size(0)),
                static_cast<long long>(mu.size(1)), cached ? " (from the cache)" : "", index_path(a->out).c_str());
  });
}

void add_project(CLI::App& app) {
  auto* cmd = app.add_subcommand("project", "Project latents (from encode) to 2-D or more: PCA, or UMAP (2-D)");
  struct Args {
    std::string latents, out, method = "pca";
    int components = 2;
    UmapOptions umap;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--latents", a->latents, "mu from latent-cli encode (.npy or .safetensors)")->required();
  cmd->add_option("--out", a->out, "Coordinates (N, K) as .npy, .safetensors or .csv")->required();
  cmd->add_option("--components", a->components, "K (PCA)")->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--method", a->method, "pca (exact) or umap (neighbour-preserving, umap-learn's algorithm; at most 200,000 points)")
      ->check(CLI::IsMember({"pca", "umap"}))->capture_default_str();
  cmd->add_option("--neighbors", a->umap.neighbors, "UMAP: n_neighbors")->check(CLI::Range(2, 200))->capture_default_str();
  cmd->add_option("--min-dist", a->umap.min_dist, "UMAP: min_dist")->check(CLI::Range(0.0, 10.0))->capture_default_str();
  cmd->add_option("--epochs", a->umap.epochs, "UMAP: epochs (0: 500 up to 10,000 points, else 200)")->check(CLI::Range(0, 100000));
  cmd->add_option("--seed", a->umap.seed, "UMAP: seed");
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    const auto x = load_matrix(a->latents);
    const auto t0 = std::chrono::steady_clock::now();
    if (a->method == "umap") {
      const auto xy = umap(x, a->umap);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      save_matrix(a->out, xy);
      if (a->json) return print_json({{"out", a->out}, {"n", x.size(0)}, {"method", "umap"}, {"seconds", seconds}});
      std::printf("wrote %s: UMAP of %lld latents (%.1f s)\n", a->out.c_str(), static_cast<long long>(x.size(0)), seconds);
      return;
    }
    const Pca p = fit_pca(x, a->components);
    const auto xy = p.project(x);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    save_matrix(a->out, xy);
    if (a->json)
      return print_json({{"out", a->out}, {"n", x.size(0)}, {"method", "pca"}, {"seconds", seconds}, {"explained_variance", p.explained_variance},
                         {"explained_ratio", p.explained_ratio}, {"total_variance", p.total_variance}});
    std::printf("wrote %s: PCA of %lld latents; explained variance:", a->out.c_str(), static_cast<long long>(x.size(0)));
    for (size_t i = 0; i < p.explained_ratio.size(); ++i) std::printf(" pc%zu %.1f%%", i + 1, 100 * p.explained_ratio[i]);
    std::printf(" (%.2f s)\n", seconds);
  });
}

void add_direction(CLI::App& app) {
  auto* cmd = app.add_subcommand("direction", "Attribute directions: compute one from two sentence sets, save it with the "
                                              "model, list them, or move a sentence along one");
  struct Args : ModelArgs {
    std::string set_a, set_b, name, method = "logistic", apply, labels;
    std::vector<double> alphas{-3, -2, -1, 0, 1, 2, 3};
    bool save = false, list = false;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd);
  cmd->add_option("--a", a->set_a, "Set A (e.g. negative): a file of sentences");
  cmd->add_option("--b", a->set_b, "Set B (e.g. positive): a file of sentences");
  cmd->add_option("--method", a->method, "mean (B's mean - A's) or logistic (a classifier's normal)")
      ->check(CLI::IsMember({"mean", "logistic"}))->capture_default_str();
  cmd->add_option("--labels", a->labels, "Names of the two sets, \"A,B\" (e.g. negative,positive)");
  cmd->add_option("--name", a->name, "The direction's name (to save, or to apply a saved one)");
  cmd->add_flag("--save", a->save, "Save it in MODEL/directions/NAME.safetensors");
  cmd->add_flag("--list", a->list, "List the model's saved directions");
  cmd->add_option("--apply", a->apply, "Decode this sentence moved by alpha x the direction, for each alpha");
  cmd->add_option("--alphas", a->alphas, "Values of alpha for --apply")->delimiter(',')->capture_default_str();
  cmd->callback([a] {
    const fs::path model = fs::path(a->model);
    if (a->list) {
      // Saved beside the model folder the run resolves to.
      Generator g = a->open();
      const auto dirs = load_directions(a->dir);
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& d : dirs) {
        arr.push_back({{"name", d.name}, {"method", d.method}, {"labels", {d.label_a, d.label_b}}, {"accuracy", d.accuracy},
                       {"n_a", d.n_a}, {"n_b", d.n_b}, {"norm", d.vector.norm().item<double>()}});
        if (!a->json)
          std::printf("%-24s %-8s %s -> %s  accuracy %.1f%% (%d-fold, %lld + %lld sentences)\n", d.name.c_str(), d.method.c_str(),
                      d.label_a.c_str(), d.label_b.c_str(), 100 * d.accuracy, d.folds, static_cast<long long>(d.n_a),
                      static_cast<long long>(d.n_b));
      }
      if (a->json) print_json({{"directions", arr}});
      else if (dirs.empty()) std::printf("no directions saved in %s\n", a->dir.c_str());
      return;
    }
    if (a->set_a.empty() != a->set_b.empty()) throw Error("direction", "give both --a and --b");
    if (a->set_a.empty() && (a->name.empty() || a->apply.empty()))
      throw Error("direction", "give --a and --b to compute a direction, --name and --apply to use a saved one, or --list");
    if (!a->name.empty()) check_direction_name(a->name);
    Generator g = a->open();
    Direction d;
    if (!a->set_a.empty()) {
      const auto sa = read_set(a->set_a), sb = read_set(a->set_b);
      d = compute_direction(g.encode(sa), g.encode(sb), a->method, a->seed);
      d.name = a->name.empty() ? "direction" : a->name;
      if (!a->labels.empty()) {
        const size_t comma = a->labels.find(',');
        if (comma == std::string::npos) throw Error("--labels", "expected \"A,B\"");
        d.label_a = a->labels.substr(0, comma);
        d.label_b = a->labels.substr(comma + 1);
      }
      if (a->save) {
        if (a->name.empty()) throw Error("--save", "needs --name");
        save_direction(a->dir, d);
      }
    } else {
      bool found = false;
      for (auto& saved : load_directions(a->dir))
        if (saved.name == a->name) d = saved, found = true;
      if (!found) throw Error(a->dir + "/directions", "has no direction \"" + a->name + "\"");
    }
    nlohmann::json j = {{"name", d.name}, {"method", d.method}, {"labels", {d.label_a, d.label_b}}, {"accuracy", d.accuracy},
                        {"folds", d.folds}, {"n_a", d.n_a}, {"n_b", d.n_b}, {"norm", d.vector.norm().item<double>()},
                        {"saved", a->save}};
    if (!a->json)
      std::printf("%s (%s): %s -> %s, held-out accuracy %.1f%% (%d-fold), |direction| %.3f%s\n", d.name.c_str(),
                  d.method.c_str(), d.label_a.c_str(), d.label_b.c_str(), 100 * d.accuracy, d.folds,
                  j["norm"].get<double>(), a->save ? ", saved" : "");
    if (!a->apply.empty()) {
      const auto z = g.encode({a->apply});
      std::vector<at::Tensor> rows;
      for (double alpha : a->alphas) rows.push_back(apply_direction(z, d, alpha));
      const auto texts = g.decode(at::cat(rows, 0), a->options());
      nlohmann::json table = nlohmann::json::array();
      for (size_t i = 0; i < texts.size(); ++i) {
        table.push_back({{"alpha", a->alphas[i]}, {"text", texts[i]}});
        if (!a->json) std::printf("%+6.2f  %s\n", a->alphas[i], texts[i].c_str());
      }
      j["apply"] = {{"sentence", a->apply}, {"table", table}};
    }
    if (a->json) print_json(j);
  });
}

}  // namespace

void add_explore_commands(CLI::App& app) {
  add_encode(app);
  add_project(app);
  add_direction(app);
}

}  // namespace latent::cli
