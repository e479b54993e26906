#include "train/trainer.h"

#include <unistd.h>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "eval/metrics.h"
#include "infer/generator.h"
#include "io/model_dir.h"
#include "model/frozen_state_cache.h"
#include "model/model_io.h"
#include "text/tokenizer.h"
#include "train/autocast_guard.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/distributed.h"
#include "train/grad_sync.h"
#include "train/optimizer.h"
#include "util/alloc_budget.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/runtime_info.h"

namespace latent {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Flags change under the mutex so that a waiter between checking and sleeping cannot
// miss the notification.
void TrainControl::request_stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}
void TrainControl::request_abort() {
  abort_ = true;
  request_stop();
}
void TrainControl::request_pause() { pause_ = true; }
void TrainControl::resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pause_ = false;
  }
  cv_.notify_all();
}
void TrainControl::wait_if_paused() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !pause_ || stop_; });
}

namespace {

class Run {
 public:
  Run(const TrainOptions& o, TrainControl& c, const TrainCallbacks& cb) : opt_(o), control_(c), cb_(cb) {}
  TrainResult run();

 private:
  void log(const std::string& line) {
    if (cb_.on_log && leader()) cb_.on_log(line);
  }
  bool leader() const { return !pg_ || pg_->rank() == 0; }
  void join_process_group();
  void write_run_info();
  void check_same_data_on_every_rank();
  BatchShard shard_for(const Batch& full, Batch& mine);
  void setup();
  Batch next_batch();
  int64_t train_step(TrainProgress& p);  // sentences seen; 0 when the step was skipped (non-finite)
  void evaluate_and_checkpoint();
  void append_metrics(const nlohmann::json& j);
  void save_checkpoint(const std::string& dir, const AdamOptimizer* optim);
  LoadedModel load_resumable(const std::string& last);
  Error damaged(const std::string& last, const std::exception& e) const;

  const TrainOptions& opt_;
  TrainControl& control_;
  const TrainCallbacks& cb_;
  Config config_;
  at::Device device_{at::kCPU};
  Tokenizers tok_;
  VaeDdpm model_{nullptr};
  std::unique_ptr<AdamOptimizer> optim_;
  TokenizedCorpus corpus_;
  std::vector<std::string> eval_sentences_;
  TrainerState state_;
  int64_t total_steps_ = 0;
  std::unique_ptr<BatchPrefetcher> prefetch_;
  std::vector<std::vector<int64_t>> plan_;
  double loss_scale_ = 65536.0;  // fp16 only
  int64_t good_steps_ = 0;
  std::multiset<int64_t> inject_{opt_.inject_nonfinite_at.begin(), opt_.inject_nonfinite_at.end()};
  std::unique_ptr<ProcessGroup> pg_;  // world > 1 only
  std::unique_ptr<GradSync> sync_;    // with pg_: gradient sums overlapped with backward
  bool overlap_reported_ = false;
};

// OUT/run.json: which process is writing this run (a watcher on the same machine can tell
// a run whose process is gone from one that is only slow).
void Run::write_run_info() {
  if (!leader()) return;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const nlohmann::json j = {{"pid", static_cast<int64_t>(getpid())}, {"host", std::string(host)},
                            {"total_steps", total_steps_}, {"processes", pg_ ? pg_->world() : 1},
                            {"started_step", state_.step}};
  write_file_atomic(io::join(opt_.out_dir, "run.json"), j.dump(2) + "\n");
}

void Run::join_process_group() {
  if (!opt_.dist.active()) return;
  pg_ = ProcessGroup::join(opt_.dist, device_);
  log("rank 0 of " + std::to_string(pg_->world()) + " processes (" + pg_->backend() + " at " + opt_.dist.master_addr + ":" +
      std::to_string(opt_.dist.master_port) + ")");
}

// Every rank tokenized the same corpus the same way (a from-scratch tokenizer is trained on
// each rank) and starts from rank 0's weights.
void Run::check_same_data_on_every_rank() {
  if (!pg_) return;
  double sum = 0;
  const auto& seqs = corpus_.decoder_seqs();
  for (size_t i = 0; i < seqs.size(); ++i)
    for (size_t j = 0; j < seqs[i].size(); ++j) sum = std::fmod(sum * 31 + seqs[i][j] + 1, 1099511627776.0);  // exact in a double
  const auto mine = at::tensor({sum, static_cast<double>(seqs.size())}, at::kDouble);
  auto all = mine.clone();
  pg_->all_reduce_sum({all});
  if (!all.equal(mine * pg_->world()))
    throw Error("training data", "the processes tokenized the corpus differently: give every rank the same corpus, "
                                 "config and --init");
  std::vector<at::Tensor> state;
  for (auto& p : model_->parameters()) state.push_back(p.detach());
  for (auto& b : model_->buffers()) state.push_back(b);
  pg_->broadcast(state, 0);
}

// This rank's rows of the batch every rank drew (their padding kept, so the draws and the
// logits' shapes are those of one process).
BatchShard Run::shard_for(const Batch& full, Batch& mine) {
  const RowShare r = row_share(full.size(), pg_->rank(), pg_->world());
  mine = Batch{full.enc_ids.narrow(0, r.offset, r.count), full.dec_ids.narrow(0, r.offset, r.count)};
  BatchShard s;
  s.offset = r.offset;
  s.global = full.size();
  s.sum_across = [this](const at::Tensor& t) {
    auto v = t.detach().to(at::kDouble).reshape({1}).clone();
    pg_->all_reduce_sum({v});
    return v.reshape({}).to(t.scalar_type());
  };
  return s;
}

void Run::append_metrics(const nlohmann::json& j) {
  if (!leader()) return;
  std::ofstream out(io::join(opt_.out_dir, "metrics.jsonl"), std::ios::app);
  out << j.dump() << '\n';
}

// A checkpoint that cannot be written (disk full, file size limit, permissions) ends the
// run with what failed; write_checkpoint leaves the previous one in place.
void Run::save_checkpoint(const std::string& dir, const AdamOptimizer* optim) {
  if (!leader()) return;
  try {
    write_checkpoint(dir, config_, tok_, model_, optim, state_);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove_all(dir + ".partial", ec);  // give the space back
    throw Error(dir, "cannot save the checkpoint of step " + std::to_string(state_.step) + " (" + user_message(e) +
                         "); the previous checkpoint in " + dir + " is intact");
  }
}

// OUT/last and its trainer state; when they are damaged, the error says so and offers
// OUT/best (a model without optimizer state: a new run can start from it).
LoadedModel Run::load_resumable(const std::string& last) {
  std::error_code ec;
  // Killed between the two renames of a file system without RENAME_EXCHANGE: take the
  // previous checkpoint back (checkpoint.cpp, replace_dir).
  if (!fs::exists(last, ec) && fs::exists(last + ".old", ec)) fs::rename(last + ".old", last, ec);
  try {
    LoadedModel lm = load_model(last);
    state_ = read_trainer_state(last);
    return lm;
  } catch (const std::exception& e) {
    if (!fs::exists(last, ec)) throw;
    throw damaged(last, e);
  }
}

Error Run::damaged(const std::string& last, const std::exception& e) const {
  const std::string best = io::join(opt_.out_dir, "best");
  std::string offer = "; there is no intact " + best + " to start from";
  try {
    load_model(best);
    offer = "; " + best + " is intact: start a new run from it with `latent-cli train --init " + best +
            " --out NEW_RUN` (in the studio: Start from " + best + ")";
  } catch (const std::exception&) {
  }
  return Error(last, "cannot resume, the checkpoint is damaged (" + user_message(e) + ")" + offer);
}

void Run::setup() {
  if (opt_.device == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda", "CUDA is not available on this machine");
    // Several processes: each its own GPU, LOCAL_RANK's (torchrun's, or Slurm's SLURM_LOCALID).
    const int index = opt_.dist.active() ? opt_.dist.local_rank : 0;
    const auto count = static_cast<int>(torch::cuda::device_count());
    if (index >= count)
      throw Error("LOCAL_RANK=" + std::to_string(index), "this machine has " + std::to_string(count) +
                                                          " CUDA devices: start at most that many processes on it");
    device_ = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  } else if (opt_.device != "cpu") {
    throw Error("--device", "must be cpu or cuda, got \"" + opt_.device + "\"");
  }
  join_process_group();
  std::error_code ec;
  fs::create_directories(opt_.out_dir, ec);
  if (ec) throw Error(opt_.out_dir, "cannot create folder: " + ec.message());
  const std::string last = io::join(opt_.out_dir, "last");

  if (opt_.resume) {
    LoadedModel lm = load_resumable(last);
    config_ = lm.config;
    // A resumed run may be extended: the caller's steps/epochs win when larger.
    config_.train.steps = std::max(config_.train.steps, opt_.config.train.steps);
    config_.train.epochs = std::max(config_.train.epochs, opt_.config.train.epochs);
    tok_ = lm.tokenizers;
    model_ = lm.model;
    log("resuming " + last + " at step " + std::to_string(state_.step));
  } else if (!opt_.init_model.empty()) {
    LoadedModel lm = load_model(opt_.init_model);
    config_ = lm.config;
    config_.train = opt_.config.train;
    validate(config_, lm.dir);
    torch::manual_seed(config_.train.seed);
    tok_ = lm.tokenizers;
    model_ = lm.model;
    log("starting from the model in " + lm.dir + " (its architecture, tokenizers and weights)");
  } else {
    config_ = opt_.config;
    if (config_.model.tokenizer.type == "pretrained")
      throw Error("model.tokenizer.type", "\"pretrained\" tokenizers come with a model folder: start from one "
                                          "(latent-cli train --init DIR, or Start from in the studio)");
    if (config_.train.trainable == "latent")
      throw Error("train.trainable", "\"latent\" keeps the decoder frozen, so it needs a pretrained one: start from an "
                                     "imported model folder (latent-cli import-hf, then train --init DIR)");
    torch::manual_seed(config_.train.seed);
    TokenizerTrainOptions topt;
    topt.model_type = config_.model.tokenizer.type;
    topt.vocab_size = config_.model.tokenizer.vocab_size;
    topt.seed = static_cast<unsigned>(config_.train.seed);
    log("training the tokenizer on " + std::to_string(opt_.train_sentences.size()) + " sentences");
    tok_ = Tokenizers(Tokenizer::train(opt_.train_sentences, topt));
    // Sizes alone (a preset, --config, the Train view's form) have no weights to bound them:
    // building the model may take a quarter of the memory available, so that a size typed
    // wrong fails at once, saying so, instead of swapping the machine or being killed.
    const uint64_t avail = available_memory_bytes();
    std::optional<AllocationBudget> budget;
    if (avail > 0)
      budget.emplace(AllocationBudget::for_sizes(avail), "model (the preset and configuration sizes)",
                     "this machine has " + format_bytes(avail) + " available and training needs about 4 times what "
                     "building takes: check the sizes (model.latent_dim, model.encoder.*, model.decoder.*, "
                     "model.noise_net.*, model.tokenizer.vocab_size)");
    model_ = VaeDdpm(config_.model, tok_);
    budget.reset();
  }
  if (device_.is_cpu() && config_.train.cpu_precision == "bf16") {
    if (!cpu_has_bf16())
      throw Error("train.cpu_precision", "bf16 needs a CPU with AVX512_BF16 or AMX-BF16, and this one has neither: use \"fp32\"");
    log("CPU bf16 autocast: matrix products in bf16, weights and optimiser state in fp32 (train.cpu_precision)");
  }
  if (config_.train.threads > 0) at::set_num_threads(config_.train.threads);
  model_->to_device(device_);
  model_->train();

  std::vector<std::pair<std::string, at::Tensor>> trainable;
  int64_t n_train = 0, n_all = 0;
  const auto& freeze = config_.train.freeze;
  std::vector<bool> freeze_used(freeze.size(), false);
  for (auto& p : model_->named_parameters()) {
    bool on = VaeDdpmImpl::trainable(p.key(), config_.train.trainable, config_.model.decoder.extra_first_block);
    for (size_t i = 0; i < freeze.size(); ++i)
      if (p.key().rfind(freeze[i], 0) == 0) {
        freeze_used[i] = true;
        on = false;
      }
    p.value().set_requires_grad(on);
    n_all += p.value().numel();
    if (on) {
      trainable.emplace_back(p.key(), p.value());
      n_train += p.value().numel();
    }
  }
  for (size_t i = 0; i < freeze.size(); ++i)
    if (!freeze_used[i])
      throw Error("train.freeze", "\"" + freeze[i] + "\" starts no parameter's name (names are the keys of the model's model.safetensors, e.g. \"encoder.embeddings.\")");
  if (n_train == 0) throw Error("train.freeze", "leaves nothing to train");
  if (pg_) {
    std::vector<at::Tensor> params;
    for (const auto& [name, t] : trainable) params.push_back(t);
    sync_ = std::make_unique<GradSync>(*pg_, std::move(params), opt_.dist.bucket_bytes);
    log("gradient sums in " + std::to_string(sync_->buckets()) + " bucket(s), started during backward as they fill");
  }
  optim_ = std::make_unique<AdamOptimizer>(std::move(trainable), config_.train);
  if (opt_.resume) {
    try {
      load_optimizer_state(last, *optim_, state_);
    } catch (const std::exception& e) {
      throw damaged(last, e);
    }
  }
  log("model: " + std::to_string(n_all) + " parameters, " + std::to_string(n_train) + " trainable; tokenizer " +
      tok_.describe() + "; device " + device_.str());
  const int from_block = config_.model.decoder.latent_from_block;
  if (from_block > 0 && config_.train.frozen_state_cache_mb > 0) {
    model_->decoder->frozen_states =
        std::make_shared<FrozenStateCache>(int64_t{config_.train.frozen_state_cache_mb} << 20, model_->dec_vocab.ids.pad);
    log("late injection from decoder block " + std::to_string(from_block) + ": the token states of the blocks below are kept "
        "per sentence, up to " + std::to_string(config_.train.frozen_state_cache_mb) + " MiB (train.frozen_state_cache_mb)");
  }

  size_t cut = 0;
  corpus_ = tokenize_corpus(tok_, opt_.train_sentences, config_.model.max_length, &cut);
  if (corpus_.size() == 0) throw Error("training corpus", "no sentences to train on");
  if (cut > 0)
    log(std::to_string(cut) + " training sentences are longer than model.max_length = " +
        std::to_string(config_.model.max_length) + " tokens and were cut");
  const int64_t batches = static_cast<int64_t>((corpus_.size() + config_.train.batch_size - 1) / config_.train.batch_size);
  total_steps_ = config_.train.steps > 0 ? config_.train.steps
                                         : config_.train.epochs * std::max<int64_t>(1, batches / config_.train.accumulate);
  check_same_data_on_every_rank();
  const size_t n_eval = std::min(opt_.valid_sentences.size(), static_cast<size_t>(config_.train.eval_sentences));
  eval_sentences_.assign(opt_.valid_sentences.begin(), opt_.valid_sentences.begin() + static_cast<long>(n_eval));
}

// The next batch of the epoch's plan; a new epoch (and plan) when one runs out. A
// resumed run restarts the plan at its saved batch index.
Batch Run::next_batch() {
  while (!prefetch_ || !prefetch_->has_next()) {
    if (prefetch_) {
      ++state_.epoch;
      state_.batch_in_epoch = 0;
    }
    plan_ = plan_epoch(corpus_.decoder_seqs(), config_.train.batch_size, config_.train.seed, state_.epoch);
    prefetch_ = std::make_unique<BatchPrefetcher>(corpus_, plan_, static_cast<size_t>(state_.batch_in_epoch));
  }
  ++state_.batch_in_epoch;
  return prefetch_->next();
}

int64_t Run::train_step(TrainProgress& p) {
  const auto& tc = config_.train;
  const bool amp = device_.is_cuda() && tc.precision != "fp32";
  const bool fp16 = amp && tc.precision == "fp16";
  const bool cpu_bf16 = device_.is_cpu() && tc.cpu_precision == "bf16";  // checked at the run's start
  double loss_sum = 0, rec = 0, kl = 0, ddpm = 0;
  int64_t sentences = 0;
  bool finite = true;
  optim_->zero_grad();
  for (int micro = 0; micro < tc.accumulate; ++micro) {
    if (sync_ && micro == tc.accumulate - 1) sync_->arm();  // this backward's gradients start the sums
    Batch batch = next_batch().to(device_);
    BatchShard shard;
    if (pg_) {
      const Batch full = batch;
      shard = shard_for(full, batch);
      if (batch.size() == 0) {  // fewer rows than ranks: this rank only joins the whole-batch sums
        if (config_.model.alpha_ddpm > 0 && config_.model.loss_pairing == "dmlp") shard.sum_across(at::zeros({}));
        continue;
      }
    }
    LossOutput out;
    {
      AutocastGuard ac(amp, fp16 ? at::kHalf : at::kBFloat16);
      AutocastGuard cpu_ac(cpu_bf16, at::kBFloat16, at::kCPU);
      out = model_->forward(batch, at::Generator(), kl_weight_at(config_.model, state_.step),
                            state_.step < tc.ddpm_detach_steps, pg_ ? &shard : nullptr,
                            regularizer_scale_at(config_.model, state_.step));
    }
    double l = out.loss.item<double>();
    const auto injected = inject_.find(state_.step + 1);
    if (injected != inject_.end()) {
      inject_.erase(injected);
      l = std::nan("");
    }
    if (!std::isfinite(l)) {
      finite = false;
      if (pg_) continue;  // the other ranks' remaining micro-batches still need this rank's sums
      break;
    }
    if (!finite) continue;
    auto scaled = out.loss / tc.accumulate;
    if (fp16) scaled = scaled * loss_scale_;
    scaled.backward();
    loss_sum += l / tc.accumulate;
    rec += out.rec.sum().item<double>();
    kl += out.kl.sum().item<double>();
    ddpm += out.ddpm.sum().item<double>();
    sentences += batch.size();
  }
  if (sync_) {
    sync_->finish();  // every rank, whatever happened above: the collectives must pair
    if (!overlap_reported_ && (overlap_reported_ = true))
      log(std::to_string(sync_->started_during_backward()) + " of " + std::to_string(sync_->buckets()) +
          " gradient buckets started their sum during this step's backward");
  }
  if (pg_) {  // the step's figures and its fate are the whole batch's
    auto stats = at::tensor({loss_sum, rec, kl, ddpm, static_cast<double>(sentences), finite ? 0.0 : 1.0}, at::kDouble);
    pg_->all_reduce_sum({stats});
    const auto v = stats.accessor<double, 1>();
    loss_sum = v[0], rec = v[1], kl = v[2], ddpm = v[3], sentences = static_cast<int64_t>(v[4]), finite = v[5] == 0;
  }
  double norm = 0;
  if (finite) {
    std::vector<at::Tensor> trained;
    for (auto& [name, t] : optim_->params()) trained.push_back(t);
    if (fp16) {
      at::NoGradGuard g;
      for (auto& t : trained)
        if (t.grad().defined()) t.mutable_grad().div_(loss_scale_);
    }
    norm = torch::nn::utils::clip_grad_norm_(trained, tc.grad_clip > 0 ? tc.grad_clip : 1e30);
    finite = std::isfinite(norm);
    if (fp16) {
      if (!finite) loss_scale_ /= 2;
      else if (++good_steps_ % 2000 == 0) loss_scale_ *= 2;
    }
  }
  if (!finite) {
    optim_->zero_grad();
    ++state_.nonfinite_total;
    ++state_.nonfinite_run;
    return 0;
  }
  state_.nonfinite_run = 0;
  const double lr = lr_at(tc, state_.step, total_steps_);
  optim_->step(lr);
  ++state_.step;
  p.loss = loss_sum;
  p.rec = rec / std::max<int64_t>(1, sentences);
  p.kl = kl / std::max<int64_t>(1, sentences);
  p.ddpm = ddpm / std::max<int64_t>(1, sentences);
  p.lr = lr;
  p.grad_norm = norm;
  return sentences;
}

void Run::evaluate_and_checkpoint() {
  EvalReport r;
  r.step = state_.step;
  {
    Generator g(model_, tok_, device_, 128);
    if (!eval_sentences_.empty()) {
      const ReconstructionScore s = reconstruction_bleu(g, eval_sentences_);
      r.bleu = s.bleu;
      r.n = s.n;
      for (size_t i = 0; i < std::min<size_t>(3, s.n); ++i) r.reconstructions.emplace_back(eval_sentences_[i], s.hypotheses[i]);
    }
    // Ancestral DDPM over all T steps, as `latent-cli sample` and eval: with a 2,000-step
    // schedule, 50 DDIM steps leave many latents off the data (the pretrained recipe's
    // decoder turns those into strings of rare tokens) and the log would misreport the prior.
    if (config_.train.eval_samples > 0 && config_.model.alpha_ddpm > 0)
      r.samples = g.decode(g.sample_latents(config_.train.eval_samples, "ddpm", 0, config_.train.seed + static_cast<uint64_t>(state_.step)));
  }
  model_->train();
  r.is_best = !eval_sentences_.empty() && r.bleu > state_.best_bleu;
  if (r.is_best) state_.best_bleu = r.bleu;
  const std::string last = io::join(opt_.out_dir, "last");
  save_checkpoint(last, optim_.get());
  if (r.is_best) save_checkpoint(io::join(opt_.out_dir, "best"), nullptr);
  nlohmann::json j = {{"type", "eval"}, {"step", r.step}, {"bleu", r.bleu}, {"n", r.n}, {"best", r.is_best}, {"samples", r.samples}};
  if (const auto& f = model_->decoder->frozen_states)
    j["frozen_states"] = {{"sentences", f->sentences()}, {"bytes", f->bytes()}, {"hits", f->hits()}, {"misses", f->misses()}};
  append_metrics(j);
  if (cb_.on_eval && leader()) cb_.on_eval(r);
}

TrainResult Run::run() {
  TrainResult result;
  const auto t0 = Clock::now();
  try {
    setup();
    write_run_info();
    TrainProgress p;
    p.total_steps = total_steps_;
    auto window_start = Clock::now();
    int64_t window_sentences = 0, window_steps = 0;
    int64_t last_eval_step = state_.step;
    while (state_.step < total_steps_) {
      control_.wait_if_paused();
      bool stop = control_.stop_requested(), abort = control_.abort_requested();
      if (pg_) {  // a stop that reached one rank (a signal, a dying launcher) stops them all at the same step
        auto flags = at::tensor({stop ? 1.0 : 0.0, abort ? 1.0 : 0.0}, at::kDouble);
        pg_->all_reduce_sum({flags});
        stop = flags[0].item<double>() > 0, abort = flags[1].item<double>() > 0;
      }
      if (stop) {
        result.status = TrainResult::Status::Stopped;
        if (abort) {
          result.message = "stopped at step " + std::to_string(state_.step) + " without saving; " +
                           io::join(opt_.out_dir, "last") + " holds the last saved checkpoint";
        } else {
          evaluate_and_checkpoint();
          result.message = "stopped at step " + std::to_string(state_.step) + "; resume with --resume";
        }
        break;
      }
      const int64_t sentences = train_step(p);
      if (sentences == 0) {
        log("step " + std::to_string(state_.step + 1) + ": non-finite loss, step skipped");
        if (state_.nonfinite_run >= config_.train.max_nonfinite) {
          result.status = TrainResult::Status::Failed;
          result.message = std::to_string(state_.nonfinite_run) +
                           " non-finite losses in a row; training stopped. The last good checkpoint is in " +
                           io::join(opt_.out_dir, "last") + ". Lower train.lr or check the data.";
          break;
        }
        continue;
      }
      window_sentences += sentences;
      ++window_steps;
      p.step = state_.step;
      p.epoch = state_.epoch;
      p.elapsed_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      p.nonfinite_skipped = state_.nonfinite_total;
      const bool log_now = state_.step % config_.train.log_every == 0 || state_.step == total_steps_ || state_.step == 1;
      if (log_now) {
        const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
        p.sentences_per_sec = secs > 0 ? window_sentences / secs : 0;
        p.eta_seconds = secs > 0 && window_steps > 0 ? (total_steps_ - state_.step) * secs / window_steps : 0;
        append_metrics({{"type", "train"}, {"step", p.step}, {"total_steps", total_steps_}, {"epoch", p.epoch}, {"loss", p.loss}, {"rec", p.rec},
                        {"kl", p.kl}, {"ddpm", p.ddpm}, {"lr", p.lr}, {"grad_norm", p.grad_norm},
                        {"sentences_per_sec", p.sentences_per_sec}, {"elapsed", p.elapsed_seconds}});
        if (cb_.on_progress && leader()) cb_.on_progress(p);
        window_start = Clock::now();
        window_sentences = window_steps = 0;
      }
      if (cb_.on_step && leader()) cb_.on_step(p);
      if (cb_.on_snapshot && leader() && cb_.snapshot_every > 0 && (state_.step == 1 || state_.step % cb_.snapshot_every == 0))
        cb_.on_snapshot(take_snapshot(config_, tok_, model_, state_.step));
      if (config_.train.eval_every > 0 && state_.step % config_.train.eval_every == 0) {
        evaluate_and_checkpoint();
        last_eval_step = state_.step;
      }
    }
    if (result.status == TrainResult::Status::Finished && last_eval_step != state_.step) evaluate_and_checkpoint();
    if (result.status == TrainResult::Status::Finished)
      result.message = "finished " + std::to_string(state_.step) + " steps";
  } catch (const c10::OutOfMemoryError&) {
    result.status = TrainResult::Status::Failed;
    result.message = "out of memory on " + device_.str() + " with batch size " + std::to_string(config_.train.batch_size) +
                     ": try a smaller --batch (the last checkpoint in " + io::join(opt_.out_dir, "last") + " is intact)";
  } catch (const std::exception& e) {
    result.status = TrainResult::Status::Failed;
    result.message = user_message(e);
  }
  result.steps = state_.step;
  result.best_bleu = state_.best_bleu;
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  // The run's end, for whoever watches the folder (the studio's Open run folder).
  std::error_code ec;
  if (fs::is_directory(opt_.out_dir, ec)) {
    const char* status = result.status == TrainResult::Status::Finished  ? "finished"
                         : result.status == TrainResult::Status::Stopped ? "stopped"
                                                                         : "failed";
    append_metrics({{"type", "end"}, {"step", state_.step}, {"status", status}, {"message", result.message}});
  }
  return result;
}

}  // namespace

TrainResult train(const TrainOptions& options, TrainControl& control, const TrainCallbacks& callbacks) {
  Run run(options, control, callbacks);
  return run.run();
}

}  // namespace latent
