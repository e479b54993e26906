// The training loop: joint VAE + diffusion training with evaluation, best/last
// checkpoints, exact resume, pause/stop within one step, and failures (non-finite
// losses, out of memory) that end with a message instead of a crash.
//
// Run folder layout (OUT):
//   OUT/last/     model directory + trainer_state.{json,safetensors} (resume from here)
//   OUT/best/     model directory with the best evaluation BLEU so far
//   OUT/metrics.jsonl   one JSON object per progress line and per evaluation
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "model/config.h"
#include "train/dist_env.h"
#include "train/kl_schedule.h"

namespace latent {

struct TrainProgress {
  int64_t step = 0, total_steps = 0;
  int64_t epoch = 0;
  double loss = 0, rec = 0, kl = 0, ddpm = 0;  // means over the step's sentences
  double lr = 0, grad_norm = 0;
  double sentences_per_sec = 0;
  double elapsed_seconds = 0, eta_seconds = 0;
  int64_t nonfinite_skipped = 0;               // steps skipped for a non-finite loss so far
};

struct EvalReport {
  int64_t step = 0;
  double bleu = 0;          // reconstruction BLEU x100 on held-out sentences
  size_t n = 0;             // sentences scored
  bool is_best = false;
  std::vector<std::pair<std::string, std::string>> reconstructions;  // a few (input, output)
  std::vector<std::string> samples;                                   // from the diffusion prior
};

struct ModelSnapshot;

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_progress;  // every train.log_every steps
  // After every optimiser step, on the training thread: keep it cheap (the GUI queues
  // the values and draws them at its own pace). sentences_per_sec and eta_seconds are
  // those of the last log window.
  std::function<void(const TrainProgress&)> on_step;
  // A copy of the weights after step 1 and then every snapshot_every steps (0: never),
  // so another thread can run inference on the model as it is now.
  int64_t snapshot_every = 0;
  std::function<void(ModelSnapshot&&)> on_snapshot;
  std::function<void(const EvalReport&)> on_eval;
  std::function<void(const std::string&)> on_log;  // human-readable lines
};

// Requests from another thread, honoured between steps.
class TrainControl {
 public:
  void request_stop();
  // Stop without writing a new checkpoint: the run folder keeps its last saved state.
  void request_abort();
  // The same from a signal handler: a lock-free atomic store only (no wake-up of a
  // paused run), so it is async-signal-safe.
  void request_stop_from_signal() { stop_ = true; }
  void request_pause();
  void resume();
  bool stop_requested() const { return stop_; }
  bool abort_requested() const { return abort_; }
  bool paused() const { return pause_; }
  // Blocks while paused (returns at once otherwise, or when stop is requested).
  void wait_if_paused();

 private:
  std::atomic<bool> stop_{false}, pause_{false}, abort_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct TrainOptions {
  Config config;
  std::string out_dir;
  std::string device = "cpu";  // cpu | cuda
  bool resume = false;         // continue OUT/last (its config; steps/epochs may be raised)
  // A model folder (ours, one imported from Hugging Face, or one converted from DMLP)
  // whose architecture, tokenizers and weights start a new run; config.model is then
  // ignored and config.train applies. Not with resume.
  std::string init_model;
  std::vector<std::string> train_sentences;
  std::vector<std::string> valid_sentences;
  // Data-parallel training (train/distributed.h): with world > 1 this process is one rank
  // of a job. Every rank walks the same batch plan and takes its share of each batch's
  // rows; gradients are summed across ranks before clipping, so the steps are those of one
  // process with the same global batch. Rank 0 alone writes metrics.jsonl and checkpoints
  // and calls the callbacks. A rank that stops makes the others fail within the timeout.
  DistEnv dist;
  // Fault injection for the crash-safety tests: each entry makes one attempt at that
  // (1-based) step see a NaN loss, skipped and counted like a real one; list a step n
  // times for n non-finite losses in a row.
  std::vector<int64_t> inject_nonfinite_at;
};

struct TrainResult {
  enum class Status { Finished, Stopped, Failed } status = Status::Finished;
  std::string message;  // why it stopped or failed, with what to do
  int64_t steps = 0;
  double best_bleu = -1;
  double seconds = 0;
};

TrainResult train(const TrainOptions& options, TrainControl& control, const TrainCallbacks& callbacks = {});

}  // namespace latent
