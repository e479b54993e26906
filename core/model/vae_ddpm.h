// The joint model: encoder -> z -> decoder (reconstruction) and z -> noise network
// (diffusion prior), trained with one loss (spec sections 2 and 4). Parameter names:
// "encoder.*", "decoder.*", "eps_model.*".
#pragma once

#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>

#include "model/config.h"
#include "model/regularizers.h"
#include "model/decoder.h"
#include "model/diffusion.h"
#include "model/encoder.h"
#include "model/noise_nets.h"
#include "text/codec.h"

namespace latent {

// A padded batch, built by the data pipeline with each side's own tokenizer and ids.
struct Batch {
  at::Tensor enc_ids;  // (B, Le) bos tokens eos, padded (encoder tokenizer's ids)
  at::Tensor dec_ids;  // (B, Ld) bos tokens eos, padded: decoder input y[:, :-1], target y[:, 1:]
  int64_t size() const { return enc_ids.size(0); }
  Batch to(const at::Device& d) const;
};

struct LossOutput {
  at::Tensor loss;  // scalar, differentiable
  at::Tensor rec;   // (B,) summed token cross-entropy per sentence
  at::Tensor kl;    // (B,) KL per sentence (logged; in the loss unless posterior "fixed")
  at::Tensor ddpm;  // (B,) diffusion loss per sample (zeros when alpha_ddpm == 0)
  at::Tensor vae;   // (B,) vae loss per sentence: rec / len (length_weighted_loss) or rec, [+ kl_weight x kl]
  at::Tensor mu;    // (B, D)
  at::Tensor reg;   // scalar: the regulariser's terms in the loss (0 with regularizer "none")
};

// This process's rows of a batch split across processes (train/distributed.h). Random
// draws are made for all `global` rows, in the order one process makes them, and this
// process keeps rows [offset, offset + its rows): the noise each sentence gets does not
// depend on the number of processes. The loss is this process's share of the whole batch's
// (summed over processes, it is the one-process loss), and sum_across (no gradient) adds a
// value over the processes where the loss needs a whole-batch mean (DMLP's pairing).
// Regularisers on the batch (mmd, adversarial) and the free-bits floor see only this
// process's rows.
struct BatchShard {
  int64_t offset = 0, global = 0;
  std::function<at::Tensor(const at::Tensor&)> sum_across;
};

struct VaeDdpmImpl : torch::nn::Module {
  // Each side's vocabulary size and special ids (they differ when the encoder and the
  // decoder come from different pretrained models).
  VaeDdpmImpl(const ModelConfig& c, const VocabSpec& enc, const VocabSpec& dec);
  // One SentencePiece vocabulary of vocab_size pieces on both sides.
  VaeDdpmImpl(const ModelConfig& c, int vocab_size) : VaeDdpmImpl(c, VocabSpec{vocab_size, {}}, VocabSpec{vocab_size, {}}) {}
  VaeDdpmImpl(const ModelConfig& c, const Tokenizers& t) : VaeDdpmImpl(c, t.encoder->spec(), t.decoder->decoder_spec()) {}

  // Posterior parameters; with posterior "fixed", logvar = log(beta) everywhere (DMLP); with
  // "deterministic", logvar = 0 (Optimus's and DAVAE's fb_mode 2).
  EncoderOutput posterior(const at::Tensor& enc_ids);
  // z = mu + exp(logvar/2) * eps with eps from gen (drawn for the whole batch under a shard).
  at::Tensor reparameterize(const EncoderOutput& post, at::Generator gen, const BatchShard* shard = nullptr);
  // The training loss. kl_weight applies unless posterior "fixed"; detach_prior keeps
  // the diffusion loss from reaching the encoder (train.ddpm_detach_steps).
  // shard: this process's part of a batch split across processes (above). reg_scale: the
  // regulariser weight's warm-up factor at this step (train/kl_schedule.h).
  LossOutput forward(const Batch& batch, at::Generator gen, double kl_weight = 1.0, bool detach_prior = false,
                     const BatchShard* shard = nullptr, double reg_scale = 1.0);

  // Names of parameters DMLP trains: "linear", "wte", "decoder.transformer.h.0",
  // "encoder" in the name, or the noise network.
  static bool dmlp_trainable(const std::string& name);
  // Whether train.trainable `mode` trains parameter `name`: all; dmlp (above); latent (a
  // pretrained decoder kept frozen: the encoder, the latent projections, the decoder's extra
  // first block when it has one, and the noise network).
  static bool trainable(const std::string& name, const std::string& mode, bool extra_first_block);

  const Schedule& schedule() const { return schedule_; }
  // Moves the module and the schedule.
  void to_device(const at::Device& d);

  ModelConfig config;
  VocabSpec enc_vocab, dec_vocab;
  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
  std::shared_ptr<NoiseNet> eps_model;
  std::shared_ptr<DiscriminatorImpl> discriminator;  // regularizer "adversarial" only

 private:
  Schedule schedule_;
};
TORCH_MODULE(VaeDdpm);

}  // namespace latent
