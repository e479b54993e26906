// train: joint VAE + diffusion training on a corpus into a run folder.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "data/corpus.h"
#include "io/model_dir.h"
#include "model/config.h"
#include "model/designs.h"
#include "train/trainer.h"
#include "util/error.h"

namespace latent::cli {
namespace {

TrainControl* g_control = nullptr;  // for the SIGINT handler

std::string hms(double s) {
  const long t = static_cast<long>(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

struct TrainArgs {
  std::string corpus, valid, out, preset, config_file, init, design, device = "cpu";
  int64_t steps = -1;
  int epochs = -1, batch = -1, threads = -1, nproc = 0;
  int64_t seed = -1;
  bool resume = false, json = false;
};

// Order: the base (preset, or --init's model), the design (--design), --config, the flags.
Config build_config(const TrainArgs& a, int64_t design_steps = -1) {
  // With --init and no --preset, the starting model's own settings are the base (an
  // imported model carries DMLP's training settings).
  Config c;
  if (!a.init.empty() && a.preset.empty()) {
    const std::string dir = io::resolve_model_dir(a.init);
    c = config_from_json(io::read_model_config(dir), io::join(dir, io::files::kConfig));
  } else {
    c = preset(a.preset.empty() ? "small" : a.preset);
  }
  if (!a.design.empty()) {
    if (!a.init.empty())
      throw Error("--design", "a design sets the model section, which --init takes from the starting model: build that "
                              "model with the design's settings instead (import-hf --config)");
    if (design_steps < 0) {
      // Optimus's cycle spans the run: first learn its length from --config and the flags.
      TrainArgs plain = a;
      plain.design.clear();
      design_steps = build_config(plain).train.steps;
    }
    c = merge_config(c, design_settings(a.design, design_steps), "--design " + a.design);
  }
  if (!a.config_file.empty()) c = merge_config(c, io::read_json_file(a.config_file), a.config_file);
  if (a.steps >= 0) c.train.steps = a.steps;
  if (a.epochs > 0) c.train.epochs = a.epochs;
  if (a.batch > 0) c.train.batch_size = a.batch;
  if (a.seed >= 0) c.train.seed = static_cast<uint64_t>(a.seed);
  if (a.threads >= 0) c.train.threads = a.threads;
  validate(c, "configuration");
  return c;
}

// A TCP port that was free a moment ago on this machine (for rank 0's store).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw Error("--nproc", "cannot find a free local port for the processes' rendezvous");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// The --nproc launcher's children, for passing on a stop request.
pid_t g_children[256];
int g_child_count = 0;
void forward_stop(int) {
  for (int i = 0; i < g_child_count; ++i) kill(g_children[i], SIGINT);  // async-signal-safe
}

// --nproc N: this command again as N processes on this machine (torchrun's variables set,
// --nproc removed, each with cores / N threads unless --threads says otherwise). When one
// fails, the others are stopped; the exit status is the first failure's.
int spawn_local_ranks(const TrainArgs& a) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t at = 0; at < raw.size();) {
    const size_t end = raw.find('\0', at);
    args.push_back(raw.substr(at, end - at));
    at = end == std::string::npos ? raw.size() : end + 1;
  }
  std::vector<std::string> child_args;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    child_args.push_back(i == 0 ? std::string("/proc/self/exe") : args[i]);
  }
  if (a.threads < 0) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    child_args.push_back("--threads");
    child_args.push_back(std::to_string(std::max(1u, cores / static_cast<unsigned>(a.nproc))));
  }
  const int port = free_port();
  if (a.nproc > static_cast<int>(sizeof g_children / sizeof g_children[0])) throw Error("--nproc", "at most 256 processes");
  std::vector<pid_t> pids;
  for (int rank = 0; rank < a.nproc; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) throw Error("--nproc", "cannot start process " + std::to_string(rank));
    if (pid == 0) {
      setpgid(0, 0);  // a terminal's Ctrl-C reaches the launcher only, which passes it on once
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(a.nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      std::vector<char*> argv;
      for (auto& s : child_args) argv.push_back(s.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      _exit(127);
    }
    pids.push_back(pid);
    g_children[g_child_count++] = pid;
  }
  // Ctrl-C or SIGINT/SIGTERM to the launcher (the studio's Stop): every rank stops after the
  // same step and rank 0 saves; the launcher waits for them.
  std::signal(SIGINT, forward_stop);
  std::signal(SIGTERM, forward_stop);
  int result = 0, running = a.nproc;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) break;
    --running;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      const auto rank = std::find(pids.begin(), pids.end(), pid) - pids.begin();
      std::fprintf(stderr, "process %ld of %d ended with status %d: stopping the others\n", static_cast<long>(rank), a.nproc, code);
      for (pid_t p : pids)
        if (p != pid) kill(p, SIGTERM);
    }
  }
  return result;
}

void run_train(const TrainArgs& a) {
  if (a.nproc > 1) {
    if (const int code = spawn_local_ranks(a)) throw Error(a.out, "training across " + std::to_string(a.nproc) +
                                                                 " processes failed (status " + std::to_string(code) + ")");
    return;
  }
  TrainOptions o;
  o.dist = dist_env_from();
  o.config = build_config(a);
  o.out_dir = a.out;
  o.device = a.device;
  o.resume = a.resume;
  o.init_model = a.init;
  if (a.resume && !a.init.empty()) throw CLI::ValidationError("--init", "cannot be combined with --resume");
  const Corpus corpus = load_corpus(a.corpus);
  std::fprintf(stderr, "corpus %s: %s\n", a.corpus.c_str(), corpus.stats.summary().c_str());
  o.train_sentences = corpus.sentences;
  split_held_out(a.corpus, a.valid, o.train_sentences, o.valid_sentences);
  std::fprintf(stderr, "%zu training, %zu held-out sentences\n", o.train_sentences.size(), o.valid_sentences.size());

  const bool tty = isatty(fileno(stderr));
  TrainControl control;
  // Ctrl-C: stop after the current step and save last/ (a second Ctrl-C kills).
  g_control = &control;
  std::signal(SIGINT, [](int) {
    if (g_control) g_control->request_stop_from_signal();
    std::signal(SIGINT, SIG_DFL);
  });
  TrainCallbacks cb;
  cb.on_log = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
  cb.on_progress = [&](const TrainProgress& p) {
    const double pct = 100.0 * static_cast<double>(p.step) / static_cast<double>(std::max<int64_t>(1, p.total_steps));
    if (tty) {
      const int filled = static_cast<int>(pct / 5);
      std::fprintf(stderr, "\r[%-20s] %5.1f%% step %lld/%lld loss %.4f rec %.3f ddpm %.4f lr %.2e %.0f sent/s ETA %s ",
                   std::string(static_cast<size_t>(filled), '#').c_str(), pct, static_cast<long long>(p.step),
                   static_cast<long long>(p.total_steps), p.loss, p.rec, p.ddpm, p.lr, p.sentences_per_sec,
                   hms(p.eta_seconds).c_str());
    } else {
      std::fprintf(stderr, "step %lld/%lld epoch %lld loss %.4f rec %.3f kl %.3f ddpm %.4f lr %.3e grad %.3f %.1f sent/s eta %s\n",
                   static_cast<long long>(p.step), static_cast<long long>(p.total_steps), static_cast<long long>(p.epoch),
                   p.loss, p.rec, p.kl, p.ddpm, p.lr, p.grad_norm, p.sentences_per_sec, hms(p.eta_seconds).c_str());
    }
  };
  cb.on_eval = [&](const EvalReport& r) {
    std::fprintf(stderr, "%seval step %lld: reconstruction BLEU %.2f on %zu held-out sentences%s\n", tty ? "\n" : "",
                 static_cast<long long>(r.step), r.bleu, r.n, r.is_best ? " (best)" : "");
    for (const auto& [in, out] : r.reconstructions) std::fprintf(stderr, "  %s\n    -> %s\n", in.c_str(), out.c_str());
    for (const auto& s : r.samples) std::fprintf(stderr, "  sample: %s\n", s.c_str());
  };
  const TrainResult r = train(o, control, cb);
  std::signal(SIGINT, SIG_DFL);
  g_control = nullptr;
  if (tty) std::fprintf(stderr, "\n");
  if (r.status == TrainResult::Status::Failed) throw Error(a.out, r.message);
  if (o.dist.rank != 0) return;  // rank 0 reports the run
  const char* status = r.status == TrainResult::Status::Finished ? "finished" : r.status == TrainResult::Status::Stopped ? "stopped" : "failed";
  if (a.json)
    print_json({{"status", status}, {"message", r.message}, {"steps", r.steps}, {"best_bleu", r.best_bleu},
                {"seconds", r.seconds}, {"out", a.out}});
  else
    std::printf("%s: %s (%lld steps, %.1f s, best BLEU %.2f); model in %s/best, resume from %s/last\n", status,
                r.message.c_str(), static_cast<long long>(r.steps), r.seconds, r.best_bleu, a.out.c_str(), a.out.c_str());
}

}  // namespace

void add_train_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a VAE_DDPM model (joint autoencoder + latent diffusion)");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--corpus", a->corpus, "Training corpus (text or JSONL)")->required();
  cmd->add_option("--valid", a->valid, "Held-out sentences (default: valid.txt beside train.txt, else the last 1%)");
  cmd->add_option("--out", a->out, "Run folder: best/, last/, metrics.jsonl")->required();
  cmd->add_option("--preset", a->preset, "tiny | small | dmlp | pretrained (default small)")
                ->check(CLI::IsMember(preset_names()));
  std::vector<std::string> design_names;
  std::string design_help = "A seed design's latent settings over the preset, before --config (docs/DESIGNS.md):";
  for (const auto& d : designs()) {
    design_names.push_back(d.name);
    design_help += " " + d.name + " (" + d.title + ");";
  }
  cmd->add_option("--design", a->design, design_help)->check(CLI::IsMember(design_names));
  cmd->add_option("--config", a->config_file, "JSON with \"model\"/\"train\" sections, applied over the preset");
  cmd->add_option("--steps", a->steps, "Optimiser steps (0: from --epochs)");
  cmd->add_option("--epochs", a->epochs, "Epochs when --steps is 0")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", a->batch, "Batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--device", a->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  cmd->add_option("--seed", a->seed, "Random seed")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a->threads, "CPU threads (0: all cores)")->check(CLI::Range(0, kMaxThreads));
  cmd->add_option("--init", a->init, "Start from this model folder (imported, converted or trained): its architecture, "
                                    "tokenizers and weights; the model section of --preset/--config is ignored");
  cmd->add_option("--nproc", a->nproc, "Train as N processes on this machine (data-parallel over Gloo; the same global "
                                      "batch, each process its share). torchrun --no-python launches it across machines.")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("--resume", a->resume, "Continue the run in OUT/last");
  cmd->add_flag("--json", a->json, "Print one JSON object at the end");
  cmd->callback([a] { run_train(*a); });
}

}  // namespace latent::cli
