// Inference commands on a trained model: eval, reconstruct, interpolate, analogy, sample.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <unordered_set>

#include <ATen/ATen.h>

#include "cli/commands.h"
#include "cli/model_args.h"
#include "data/corpus.h"
#include "eval/bleu.h"
#include "eval/lm_judge.h"
#include "eval/metrics.h"
#include "eval/word_share.h"
#include "explore/robustness.h"
#include "explore/smoothness.h"
#include "infer/generator.h"
#include "model/model_io.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::cli {
namespace {

namespace fs = std::filesystem;

std::vector<float> row(const at::Tensor& t) {
  const auto c = t.to(at::kCPU, at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Reconstruction BLEU, self-BLEU, active units, uniqueness, novelty");
  struct Args : ModelArgs {
    std::string corpus, train, lm;
    size_t limit = 1000;
    int samples = 100;
    bool record = false, robustness = false;
    size_t robustness_limit = 200;
    size_t interpolations = 0;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd, false);
  cmd->add_option("--corpus", a->corpus, "Held-out sentences to reconstruct")->required();
  cmd->add_option("--limit", a->limit, "Score the first N sentences")->capture_default_str();
  cmd->add_option("--samples", a->samples, "Samples from the diffusion prior for self-BLEU, unique, novelty")->capture_default_str();
  cmd->add_option("--train", a->train, "Training corpus for novelty (default: train.txt beside --corpus)");
  cmd->add_option("--lm", a->lm, "LM judge: a Hugging Face causal LM folder (GPT-2 or Llama family); adds the perplexity "
                                 "of the samples and of the held-out sentences under it");
  cmd->add_flag("--robustness", a->robustness, "Add the robustness curve: reconstruction BLEU of held-out sentences with their "
                                               "latents perturbed by noise of growing scale, and its area (AuBLEU)");
  cmd->add_option("--robustness-limit", a->robustness_limit, "Sentences for the robustness curve (the first N of --corpus)")
      ->check(CLI::Range(2, 100000))->capture_default_str();
  cmd->add_option("--interpolations", a->interpolations,
                  "Add interpolation smoothness over N random pairs of held-out sentences: the mean BLEU between consecutive "
                  "points of 10-point paths, and the share of paths whose midpoint decodes to neither end")
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("--record", a->record, "Also write the figures to MODEL/eval.json (the studio's Model panel shows them)");
  cmd->callback([a] {
    Generator g = a->open();
    auto sentences = load_corpus(a->corpus).sentences;
    if (sentences.size() > a->limit) sentences.resize(a->limit);
    const ReconstructionScore rec = reconstruction_bleu(g, sentences);
    const at::Tensor mu = g.encode(sentences);
    std::vector<std::string> samples;
    if (a->samples > 0) samples = g.decode(g.sample_latents(a->samples, "ddpm", 0, a->seed));
    std::string train_path = a->train;
    if (train_path.empty()) {
      const auto sibling = fs::path(a->corpus).parent_path() / "train.txt";
      if (fs::exists(sibling)) train_path = sibling.string();
    }
    nlohmann::json novelty = nullptr, corpus_words = nullptr;
    if (!train_path.empty()) {
      const auto tr = load_corpus(train_path).sentences;
      if (!samples.empty()) novelty = latent::novelty(samples, std::unordered_set<std::string>(tr.begin(), tr.end()));
      // Real words? The samples' and, for reference, the held-out sentences' own share.
      const auto vocab = word_vocabulary(tr);
      auto share = [&](const std::vector<std::string>& s) {
        const WordShare w = word_share(s, vocab);
        return nlohmann::json{{"words", w.words}, {"sentences", w.sentences}, {"n_words", w.n_words}, {"n", w.n_sentences}};
      };
      corpus_words = {{"samples", share(samples)}, {"heldout", share(sentences)}, {"vocabulary", vocab.size()}};
    }
    nlohmann::json j = {{"bleu", rec.bleu}, {"n", rec.n}, {"self_bleu", 100.0 * self_bleu(samples)},
                        {"active_units", active_units(mu)}, {"latent_dim", mu.size(1)},
                        {"mean_latent_norm", mean_latent_norm(mu)}, {"unique", unique_ratio(samples)},
                        {"novelty", novelty}, {"corpus_words", corpus_words}, {"samples", samples.size()}};
    if (!a->lm.empty()) {
      const LmJudge judge(a->lm);
      const Perplexity s = judge.perplexity(samples), h = judge.perplexity(sentences);
      j["lm"] = {{"model", judge.name()}, {"dir", fs::absolute(a->lm).string()}, {"ppl_samples", s.ppl},
                 {"ppl_heldout", h.ppl}, {"ratio", h.ppl > 0 ? s.ppl / h.ppl : 0.0},
                 {"tokens_samples", s.tokens}, {"tokens_heldout", h.tokens}};
    }
    if (a->robustness) {
      std::vector<std::string> held(sentences.begin(), sentences.begin() + static_cast<std::ptrdiff_t>(std::min(sentences.size(), a->robustness_limit)));
      const RobustnessCurve c = robustness_curve(g, held, default_robustness_scales(), a->seed);
      j["robustness"] = {{"scales", c.scales}, {"bleu", c.bleu}, {"au_bleu", c.au_bleu}, {"n", c.n},
                         {"noise", "mu + scale * sigma * eps, sigma: per-dimension std of the held-out mu"}};
    }
    if (a->interpolations > 0) {
      const InterpolationSmoothness sm = interpolation_smoothness(g, sentences, a->interpolations, 10, a->seed);
      j["interpolation"] = {{"pairs", sm.pairs}, {"points", sm.points}, {"consecutive_bleu", sm.consecutive_bleu},
                            {"midpoint_neither", sm.midpoint_neither}};
    }
    if (a->record) {
      nlohmann::json rec = j;
      rec["corpus"] = fs::absolute(a->corpus).string();
      rec["seed"] = a->seed;
      write_file_atomic((fs::path(a->dir) / "eval.json").string(), rec.dump(1) + "\n");
    }
    if (a->json) return print_json(j);
    if (j.contains("lm"))
      std::printf("LM judge %s: perplexity %.2f of the samples, %.2f of the held-out sentences (ratio %.2f)\n",
                  j["lm"]["model"].get<std::string>().c_str(), j["lm"]["ppl_samples"].get<double>(),
                  j["lm"]["ppl_heldout"].get<double>(), j["lm"]["ratio"].get<double>());
    if (j.contains("robustness")) {
      std::printf("robustness (BLEU as the latent is perturbed, %zu sentences): AuBLEU %.2f\n", j["robustness"]["n"].get<size_t>(),
                  j["robustness"]["au_bleu"].get<double>());
      for (size_t i = 0; i < j["robustness"]["scales"].size(); ++i)
        std::printf("  noise %.2f x spread: BLEU %.2f\n", j["robustness"]["scales"][i].get<double>(), j["robustness"]["bleu"][i].get<double>());
    }
    if (j.contains("interpolation"))
      std::printf("interpolation (%zu pairs, 10 points): consecutive BLEU %.1f, midpoint decodes to neither end in %.0f%% of paths\n",
                  j["interpolation"]["pairs"].get<size_t>(), j["interpolation"]["consecutive_bleu"].get<double>(),
                  100 * j["interpolation"]["midpoint_neither"].get<double>());
    if (corpus_words.is_object())
      std::printf("words found in the training corpus: %.1f%% of the samples' words, %.1f%% of samples made only of them "
                  "(held-out sentences: %.1f%%, %.1f%%)\n",
                  100 * corpus_words["samples"]["words"].get<double>(), 100 * corpus_words["samples"]["sentences"].get<double>(),
                  100 * corpus_words["heldout"]["words"].get<double>(), 100 * corpus_words["heldout"]["sentences"].get<double>());
    std::printf("reconstruction BLEU %.2f on %zu sentences\nself-BLEU %.2f, unique %.3f, novelty %s of %zu samples\n"
                "active units %d of %lld, mean latent norm %.3f\n",
                rec.bleu, rec.n, j["self_bleu"].get<double>(), j["unique"].get<double>(), novelty.dump().c_str(),
                samples.size(), j["active_units"].get<int>(), static_cast<long long>(mu.size(1)),
                j["mean_latent_norm"].get<double>());
  });
}

void add_reconstruct(CLI::App& app) {
  auto* cmd = app.add_subcommand("reconstruct", "Encode sentences and decode them back (stdin lines when no TEXT)");
  struct Args : ModelArgs {
    std::vector<std::string> texts;
    int paraphrases = 0;
    double std_scale = 1.0;
    int batch = 0;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd);
  cmd->add_option("TEXT", a->texts, "Sentences");
  cmd->add_option("--paraphrases", a->paraphrases,
                  "Also decode K latents around each sentence's posterior mean (DAVAE's simulate_batch)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--std-scale", a->std_scale, "Paraphrases: mu + std-scale x posterior std x N(0, I)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--batch", a->batch,
                  "Sentences decoded together (0: all at once); 1 decodes as the studio's Reconstruct view does")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->callback([a] {
    if (a->texts.empty())
      for (std::string line; std::getline(std::cin, line);)
        if (!line.empty()) a->texts.push_back(line);
    Generator g = a->open();
    std::vector<std::string> out;
    const size_t step = a->batch > 0 ? static_cast<size_t>(a->batch) : std::max<size_t>(a->texts.size(), 1);
    for (size_t i = 0; i < a->texts.size(); i += step) {
      const std::vector<std::string> chunk(a->texts.begin() + i, a->texts.begin() + std::min(i + step, a->texts.size()));
      for (auto& s : g.reconstruct(chunk, a->options())) out.push_back(std::move(s));
    }
    nlohmann::json arr = nlohmann::json::array();
    for (size_t i = 0; i < out.size(); ++i) {
      const double bleu = 100.0 * corpus_bleu(std::vector<std::vector<std::string>>{{a->texts[i]}}, std::vector<std::string>{out[i]}).bleu;
      std::vector<std::string> para;
      if (a->paraphrases > 0) para = g.posterior_samples(a->texts[i], a->paraphrases, a->std_scale, a->seed + i, a->options());
      if (a->json) {
        nlohmann::json row{{"input", a->texts[i]}, {"output", out[i]}, {"bleu", bleu}};
        if (a->paraphrases > 0) row["paraphrases"] = para;
        arr.push_back(std::move(row));
      } else {
        std::printf("%s\n  -> %s\n", a->texts[i].c_str(), out[i].c_str());
        for (const auto& p : para) std::printf("  ~> %s\n", p.c_str());
      }
    }
    if (a->json) print_json({{"reconstructions", arr}});
  });
}

void add_interpolate(CLI::App& app) {
  auto* cmd = app.add_subcommand("interpolate", "Decode evenly spaced points between the latents of two sentences");
  struct Args : ModelArgs {
    std::string from, to;
    int steps = 10;
    bool slerp = false;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd);
  cmd->add_option("--from", a->from, "Sentence A")->required();
  cmd->add_option("--to", a->to, "Sentence B")->required();
  cmd->add_option("--steps", a->steps, "Number of points, A and B included")->check(CLI::Range(2, 1000))->capture_default_str();
  cmd->add_flag("--slerp", a->slerp, "Spherical instead of linear interpolation");
  cmd->callback([a] {
    Generator g = a->open();
    const Interpolation r = g.interpolate(a->from, a->to, a->steps, a->slerp, a->options());
    nlohmann::json pts = nlohmann::json::array();
    for (size_t i = 0; i < r.t.size(); ++i) {
      if (a->json) pts.push_back({{"t", r.t[i]}, {"text", r.sentences[i]}, {"z", row(r.latents[static_cast<int64_t>(i)])}});
      else std::printf("%.3f  %s\n", r.t[i], r.sentences[i].c_str());
    }
    if (a->json) print_json({{"from", a->from}, {"to", a->to}, {"slerp", a->slerp}, {"points", pts}});
  });
}

void add_analogy(CLI::App& app) {
  auto* cmd = app.add_subcommand("analogy", "A is to B as C is to ?: decodes z(B) - z(A) + z(C)");
  struct Args : ModelArgs {
    std::vector<std::string> abc;
  };
  auto a = std::make_shared<Args>();
  a->add(cmd);
  cmd->add_option("SENTENCES", a->abc, "Three sentences A B C")->required()->expected(3);
  cmd->callback([a] {
    Generator g = a->open();
    const std::string d = g.analogy(a->abc[0], a->abc[1], a->abc[2], a->options());
    if (a->json) print_json({{"a", a->abc[0]}, {"b", a->abc[1]}, {"c", a->abc[2]}, {"d", d}});
    else std::printf("%s\n", d.c_str());
  });
}

void add_sample(CLI::App& app) {
  auto* cmd = app.add_subcommand("sample", "Generate sentences from the diffusion prior");
  struct Args : ModelArgs {
    int n = 10, ddim_steps = 50, trace = 0;
    std::string sampler = "ddpm";
  };
  auto a = std::make_shared<Args>();
  a->add(cmd);
  cmd->add_option("--n", a->n, "Number of sentences")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--sampler", a->sampler, "ddpm (ancestral, T steps) or ddim (deterministic)")
      ->check(CLI::IsMember({"ddpm", "ddim"}))->capture_default_str();
  cmd->add_option("--ddim-steps", a->ddim_steps, "Steps of the DDIM sampler")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--trace", a->trace, "Every K steps, show what each sample decodes to")->check(CLI::NonNegativeNumber);
  cmd->callback([a] {
    Generator g = a->open();
    nlohmann::json trace = nlohmann::json::array();
    auto cb = [&](int step, const at::Tensor& x) {
      if (a->trace <= 0 || (step % a->trace != 0 && step != 0)) return;
      const auto texts = g.decode(x);
      const double norm = x.norm(2, 1).mean().item<double>();
      if (a->json) trace.push_back({{"step", step}, {"mean_norm", norm}, {"texts", texts}});
      else {
        std::printf("t=%d (mean |x| %.3f)\n", step, norm);
        for (const auto& t : texts) std::printf("    %s\n", t.c_str());
      }
    };
    const auto z = g.sample_latents(a->n, a->sampler, a->ddim_steps, a->seed, cb);
    const auto texts = g.decode(z, a->options());
    if (a->json) return print_json({{"samples", texts}, {"sampler", a->sampler}, {"trace", trace}});
    for (const auto& t : texts) std::printf("%s\n", t.c_str());
  });
}

}  // namespace

void add_infer_commands(CLI::App& app) {
  add_eval(app);
  add_reconstruct(app);
  add_interpolate(app);
  add_analogy(app);
  add_sample(app);
}

}  // namespace latent::cli
