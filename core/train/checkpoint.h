// Training checkpoints: a model directory plus the trainer state needed to continue
// the same run (step, data position, RNG states, optimizer moments). A checkpoint is
// written to DIR.partial and swapped into place, so a crash mid-save keeps the
// previous one.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/vae_ddpm.h"
#include "text/codec.h"

namespace latent {

class AdamOptimizer;

struct TrainerState {
  int64_t step = 0;            // optimiser steps done
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;  // batches of the epoch's plan already consumed
  int64_t nonfinite_total = 0;
  int64_t nonfinite_run = 0;
  double best_bleu = -1;
};

// optim may be null (a best/ copy needs no trainer state).
void write_checkpoint(const std::string& dir, const Config& config, const Tokenizers& tok, VaeDdpm& model,
                      const AdamOptimizer* optim, const TrainerState& state);

TrainerState read_trainer_state(const std::string& dir);
// Optimizer moments and the RNG states (CPU, and CUDA when present) saved with the state.
void load_optimizer_state(const std::string& dir, AdamOptimizer& optim, const TrainerState& state);

}  // namespace latent
