// bench: timings of the studio's jobs on random weights (see core/bench/benchmarks.h).
// bench/compare.py runs these next to DMLP's Python classes on the same shapes.
#include <ATen/Parallel.h>

#include <cstdio>

#include "bench/benchmarks.h"
#include "cli/commands.h"
#include "io/model_dir.h"
#include "model/config.h"
#include "util/error.h"
#include "util/runtime_info.h"

namespace latent::cli {
namespace {

struct BenchArgs {
  std::string preset = "small", config_file, device = "cpu";
  int reps = 5, warmup = 2, threads = 0;
  uint64_t seed = 0;
  bool json = false;

  void add(CLI::App* cmd, bool shapes = true) {
    if (shapes) {
      cmd->add_option("--preset", preset, "Shapes of this preset")->check(CLI::IsMember(preset_names()))->capture_default_str();
      cmd->add_option("--config", config_file, "JSON applied over the preset");
    }
    cmd->add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
    cmd->add_option("--reps", reps, "Timed repetitions")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--warmup", warmup, "Untimed runs first")->check(CLI::NonNegativeNumber)->capture_default_str();
    cmd->add_option("--threads", threads, "CPU threads (0: all cores)")->check(CLI::Range(0, kMaxThreads));
    cmd->add_option("--seed", seed, "Seed of the random weights and inputs");
    cmd->add_flag("--json", json, "Print one JSON object");
  }
  bench::Common common() const {
    if (threads > 0) at::set_num_threads(threads);
    bench::Common c;
    c.config = preset_config();
    c.device = device;
    c.reps = reps;
    c.warmup = warmup;
    c.seed = seed;
    return c;
  }
  Config preset_config() const {
    Config c = latent::preset(preset);
    if (!config_file.empty()) c = merge_config(c, io::read_json_file(config_file), config_file);
    validate(c, "configuration");
    return c;
  }
};

nlohmann::json stats(const bench::Stats& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"p95", s.p95}, {"n", s.n}};
}

nlohmann::json header(const std::string& job, const BenchArgs& a) {
  return {{"job", job}, {"preset", a.preset}, {"device", a.device}, {"threads", at::get_num_threads()},
          {"torch", libtorch_version()}, {"reps", a.reps}, {"warmup", a.warmup}};
}

void emit(nlohmann::json j, bool json, const std::string& line) {
  j["peak_rss_mb"] = bench::peak_rss_mb();
  if (json) print_json(j);
  else std::printf("%s (peak RSS %.0f MiB, %d threads)\n", line.c_str(), j["peak_rss_mb"].get<double>(), at::get_num_threads());
}

std::string spread(const bench::Stats& s, const char* unit) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "median %.2f %s (min %.2f, max %.2f, p95 %.2f, n %d)", s.median, unit, s.min, s.max, s.p95, s.n);
  return buf;
}

}  // namespace

void add_bench_commands(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Time training, reconstruction, sampling and latency (random weights)");
  bench->require_subcommand(1);

  {
    auto* cmd = bench->add_subcommand("train", "Training steps per second (forward, backward, Adam)");
    auto a = std::make_shared<BenchArgs>();
    auto batch = std::make_shared<int>(0), length = std::make_shared<int>(20);
    a->add(cmd);
    cmd->add_option("--batch", *batch, "Sentences per step (default: the preset's)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--length", *length, "Tokens per sentence")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->callback([a, batch, length] {
      auto c = a->common();
      const int b = *batch > 0 ? *batch : c.config.train.batch_size;
      const auto r = bench::train_step(c, b, *length);
      auto j = header("train", *a);
      j.update({{"batch", b}, {"length", *length}, {"params", r.params}, {"step_ms", stats(r.step_ms)},
                {"sentences_per_sec", stats(r.sentences_per_sec)}});
      emit(j, a->json, "train step, batch " + std::to_string(b) + " x " + std::to_string(*length) + " tokens: " +
                           spread(r.step_ms, "ms") + "; " + spread(r.sentences_per_sec, "sentences/s"));
    });
  }
  {
    auto* cmd = bench->add_subcommand("reconstruct", "Encode and greedily decode N sentences");
    auto a = std::make_shared<BenchArgs>();
    auto n = std::make_shared<int>(1000), length = std::make_shared<int>(20), max_tokens = std::make_shared<int>(20),
         batch = std::make_shared<int>(128);
    auto uncached = std::make_shared<bool>(false);
    a->add(cmd);
    cmd->add_option("--n", *n, "Sentences")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--length", *length, "Tokens per input sentence")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--max-tokens", *max_tokens, "Tokens decoded per sentence (no stop at EOS)")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--batch", *batch, "Sentences per decoding batch")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_flag("--uncached", *uncached, "Re-run the whole prefix every token (DMLP's way) instead of the KV cache");
    cmd->callback([a, n, length, max_tokens, batch, uncached] {
      const auto r = bench::reconstruct(a->common(), *n, *length, *max_tokens, *batch, *uncached);
      auto j = header("reconstruct", *a);
      j.update({{"n", *n}, {"length", *length}, {"max_tokens", *max_tokens}, {"batch", *batch}, {"cached", !*uncached},
                {"seconds", stats(r.seconds)}, {"sentences_per_sec", stats(r.sentences_per_sec)}});
      emit(j, a->json, std::string("reconstruct ") + std::to_string(*n) + " sentences (" + (*uncached ? "uncached" : "KV cache") +
                           "): " + spread(r.seconds, "s") + "; " + spread(r.sentences_per_sec, "sentences/s"));
    });
  }
  {
    auto* cmd = bench->add_subcommand("sample", "DDPM ancestral sampling of N latents (T steps)");
    auto a = std::make_shared<BenchArgs>();
    auto n = std::make_shared<int>(100), steps = std::make_shared<int>(0), latent = std::make_shared<int>(0),
         layers = std::make_shared<int>(0), hidden = std::make_shared<int>(0);
    a->add(cmd);
    cmd->add_option("--n", *n, "Latents sampled together")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--steps", *steps, "Diffusion steps T (default: the preset's)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--latent", *latent, "Latent size (default: the preset's)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--layers", *layers, "Noise network layers (default: the preset's)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--hidden", *hidden, "Noise network width (default: the preset's)")->check(CLI::NonNegativeNumber);
    cmd->callback([a, n, steps, latent, layers, hidden] {
      auto c = a->common();
      auto& m = c.config.model;
      if (*steps > 0) m.diffusion.steps = *steps;
      if (*latent > 0) m.latent_dim = *latent;
      if (*layers > 0) m.noise_net.layers = *layers;
      if (*hidden > 0) m.noise_net.hidden = *hidden;
      validate(c.config, "configuration");
      const auto r = bench::sample(c, *n);
      auto j = header("sample", *a);
      j.update({{"n", *n}, {"steps", m.diffusion.steps}, {"latent", m.latent_dim}, {"noise_net", m.noise_net.type},
                {"layers", m.noise_net.layers}, {"hidden", m.noise_net.hidden}, {"seconds", stats(r)}});
      emit(j, a->json, "sample " + std::to_string(*n) + " latents, T = " + std::to_string(m.diffusion.steps) + ", " +
                           m.noise_net.type + " " + std::to_string(m.noise_net.layers) + " x " +
                           std::to_string(m.noise_net.hidden) + ": " + spread(r, "s"));
    });
  }
  {
    auto* cmd = bench->add_subcommand("latency", "Interactive latency on a real model: 1-sentence reconstruct, 10-point interpolation, a direction-slider move");
    auto a = std::make_shared<BenchArgs>();
    auto model = std::make_shared<std::string>();
    a->reps = 50;
    a->warmup = 5;
    a->add(cmd, /*shapes=*/false);
    cmd->add_option("--model", *model, "Model folder (e.g. build/resources/models/default)")->required();
    cmd->callback([a, model] {
      if (a->threads > 0) at::set_num_threads(a->threads);
      const auto r = bench::latency(*model, a->device, a->reps, a->warmup);
      auto j = header("latency", *a);
      j.erase("preset");
      j.update({{"model", *model}, {"reconstruct_ms", stats(r.reconstruct_ms)}, {"interpolate10_ms", stats(r.interpolate10_ms)},
                {"direction_ms", stats(r.direction_ms)}});
      emit(j, a->json, "reconstruct one sentence: " + spread(r.reconstruct_ms, "ms") + "\n10-point interpolation: " +
                           spread(r.interpolate10_ms, "ms") + "\none direction-slider move: " + spread(r.direction_ms, "ms"));
    });
  }
  {
    auto* cmd = bench->add_subcommand("lm-generate", "Greedy generation with a Hugging Face causal LM folder (as "
                                                     "bench/llama_generate.py times transformers' generate)");
    auto a = std::make_shared<BenchArgs>();
    auto lm = std::make_shared<std::string>();
    auto prompts = std::make_shared<std::string>();
    auto batches = std::make_shared<std::vector<int>>(std::vector<int>{1, 32});
    auto tokens = std::make_shared<int>(32);
    auto weights = std::make_shared<std::string>("float32");
    a->reps = 3;
    a->warmup = 1;
    a->add(cmd, /*shapes=*/false);
    cmd->add_option("--lm", *lm, "Hugging Face folder (GPT-2, Llama, SmolLM2, Qwen2)")->required();
    cmd->add_option("--prompts", *prompts, "JSON file: a list of prompts, each a list of token ids (all the same length)")->required();
    cmd->add_option("--batch", *batches, "Batch sizes (the first B prompts)")->delimiter(',')->capture_default_str();
    cmd->add_option("--new-tokens", *tokens, "Tokens generated after each prompt")->check(CLI::PositiveNumber)->capture_default_str();
    cmd->add_option("--decode-weights", *weights,
                    "Llama family on the CPU: float16 reads fp16 copies of the weights in calls of at most 4 rows; "
                    "gguf-blocks reads weights that are exactly GGUF Q4_1/Q8_0 blocks as such in calls of at most "
                    "16 rows (decoder.cpu_decode_weights)")
        ->check(CLI::IsMember({"float32", "float16", "gguf-blocks"}))->capture_default_str();
    cmd->callback([a, lm, prompts, batches, tokens, weights] {
      if (a->threads > 0) at::set_num_threads(a->threads);
      const auto j = io::read_json_file(*prompts);
      std::vector<std::vector<int64_t>> all;
      for (const auto& p : j.is_array() ? j : nlohmann::json::array()) {
        all.emplace_back();
        for (const auto& id : p.is_array() ? p : nlohmann::json::array({nullptr})) {
          if (!id.is_number_integer()) throw Error(*prompts, "must be a list of prompts, each a list of token ids");
          all.back().push_back(id.get<int64_t>());
        }
      }
      if (all.empty()) throw Error(*prompts, "must be a list of prompts, each a list of token ids");
      for (int b : *batches) {
        if (b < 1 || static_cast<size_t>(b) > all.size())
          throw Error(*prompts, "holds " + std::to_string(all.size()) + " prompts, fewer than batch " + std::to_string(b));
        const auto r = bench::lm_generate(*lm, {all.begin(), all.begin() + b}, *tokens, a->device, a->reps, a->warmup, *weights);
        auto j = header("lm-generate", *a);
        j.erase("preset");
        j.update({{"impl", "latent-studio"}, {"lm", *lm}, {"batch", b}, {"prompt_tokens", all[0].size()},
                  {"new_tokens", *tokens}, {"decode_weights", *weights}, {"seconds", stats(r.seconds)},
                  {"tokens_per_s", r.tokens_per_sec}});
        char line[200];
        std::snprintf(line, sizeof line, "batch %d, %d new tokens: %.1f tokens/s, ", b, *tokens, r.tokens_per_sec);
        emit(j, a->json, line + spread(r.seconds, "s"));
      }
    });
  }
}

}  // namespace latent::cli
