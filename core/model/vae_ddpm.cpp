#include "model/vae_ddpm.h"

#include <torch/torch.h>

#include <cmath>

#include "model/family.h"


namespace latent {

Batch Batch::to(const at::Device& d) const { return {enc_ids.to(d, /*non_blocking=*/true), dec_ids.to(d, true)}; }

VaeDdpmImpl::VaeDdpmImpl(const ModelConfig& c, const VocabSpec& enc, const VocabSpec& dec)
    : config(c), enc_vocab(enc), dec_vocab(dec) {
  encoder = register_module("encoder", encoder_family(c.encoder.arch, "model.encoder.arch").make(c.encoder, enc, LatentShape(c)));
  decoder = register_module("decoder", decoder_family(c.decoder.arch, "model.decoder.arch").make(c.decoder, dec, LatentShape(c)));
  eps_model = register_module("eps_model", make_noise_net(c.noise_net, LatentShape(c)));
  if (c.regularizer == "adversarial")
    discriminator = register_module("discriminator", std::make_shared<DiscriminatorImpl>(c.latent_dim));
  schedule_ = make_schedule(c.diffusion);
}

void VaeDdpmImpl::to_device(const at::Device& d) {
  to(d);
  schedule_ = schedule_.to(d);
}

EncoderOutput VaeDdpmImpl::posterior(const at::Tensor& enc_ids) {
  EncoderOutput out = encoder->forward(enc_ids);
  if (config.posterior == "fixed") out.logvar = at::full_like(out.mu, std::log(config.diffusion.beta));
  if (config.posterior == "deterministic") out.logvar = at::zeros_like(out.mu);  // Optimus's / DAVAE's fb_mode 2
  return out;
}

namespace {
// sizes with the batch dimension (0) of the whole batch under a shard.
std::vector<int64_t> drawn_sizes(at::IntArrayRef sizes, const BatchShard* shard) {
  std::vector<int64_t> v(sizes.begin(), sizes.end());
  if (shard) v[0] = shard->global;
  return v;
}
// This process's rows of a whole-batch draw.
at::Tensor own_rows(const at::Tensor& drawn, int64_t rows, const BatchShard* shard) {
  return shard ? drawn.narrow(0, shard->offset, rows) : drawn;
}
}  // namespace

at::Tensor VaeDdpmImpl::reparameterize(const EncoderOutput& post, at::Generator gen, const BatchShard* shard) {
  const auto sizes = drawn_sizes(post.mu.sizes(), shard);
  const auto eps = gen.defined() ? at::randn(sizes, gen, post.mu.options()) : at::randn(sizes, post.mu.options());
  return post.mu + at::exp(0.5 * post.logvar) * own_rows(eps, post.mu.size(0), shard);
}

LossOutput VaeDdpmImpl::forward(const Batch& batch, at::Generator gen, double kl_weight, bool detach_prior,
                                const BatchShard* shard, double reg_scale) {
  LossOutput out;
  const EncoderOutput post = posterior(batch.enc_ids);
  out.mu = post.mu;
  const auto z = reparameterize(post, gen, shard);  // (B, D)

  const auto y = batch.dec_ids;                                    // (B, Ld)
  auto inputs = y.narrow(1, 0, y.size(1) - 1);                     // (B, Ld-1)
  if (is_training() && config.word_dropout > 0) {
    const auto sizes = drawn_sizes(inputs.sizes(), shard);
    const auto u = own_rows(gen.defined() ? at::rand(sizes, gen, at::TensorOptions().device(inputs.device()))
                                          : at::rand(sizes, at::TensorOptions().device(inputs.device())),
                            inputs.size(0), shard);
    const auto& ids = dec_vocab.ids;  // never BOS, EOS or PAD
    const auto drop = u.lt(config.word_dropout) & inputs.ne(ids.bos) & inputs.ne(ids.eos) & inputs.ne(ids.pad);
    inputs = inputs.masked_fill(drop, ids.unk);
  }
  const auto targets = y.narrow(1, 1, y.size(1) - 1);              // (B, Ld-1)
  const auto logits = decoder->forward(inputs, z);                 // (B, Ld-1, V)
  const auto ce = at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}).to(at::kFloat), targets.reshape({-1}),
                                         std::nullopt, at::Reduction::None, dec_vocab.ids.pad);
  out.rec = ce.view(targets.sizes()).sum(1);                       // (B,)
  const auto len = y.ne(dec_vocab.ids.pad).sum(1).to(at::kFloat);    // (B,) BOS..EOS
  const auto kl_dims = 0.5 * (post.mu.pow(2) + post.logvar.exp() - post.logvar - 1.0);  // (B, D)
  out.kl = kl_dims.sum(1);
  const auto rec = config.length_weighted_loss ? out.rec / len : out.rec;  // (B,)
  if (config.posterior != "fixed") {
    at::Tensor kl_term = out.kl;
    if (config.free_bits > 0 && config.free_bits_mode == "mask") {
      // Optimus / DAVAE (dim_target_kl): only a sample's dimensions above the target count.
      kl_term = (kl_dims * kl_dims.gt(config.free_bits).to(kl_dims.scalar_type())).sum(1);
    } else if (config.free_bits > 0) {
      // Each dimension's batch-mean KL is floored at free_bits (Kingma et al.).
      kl_term = kl_dims.mean(0).clamp_min(config.free_bits).sum().expand_as(out.kl);
    }
    out.vae = rec + kl_weight * kl_term;
  } else {
    out.vae = rec;
  }

  // The regulariser on z (t5-vae's MMD, DAVAE's adversarial prior); the discriminator's
  // own loss is added unweighted: it trains the discriminator only.
  out.reg = at::zeros({}, out.vae.options());
  if (config.regularizer == "mmd") {
    // t5-vae: the n latent tokens are B x n samples of D/n
    const auto tokens = z.to(at::kFloat).view({z.size(0), config.latent_tokens, -1});
    out.reg = reg_scale * config.regularizer_weight * mmd_loss(tokens, gen);
  } else if (config.regularizer == "adversarial" && discriminator) {
    const AdversarialLoss a = adversarial_loss(*discriminator, z.to(at::kFloat), gen);
    out.reg = reg_scale * config.regularizer_weight * a.encoder + a.discriminator;
  }

  if (config.alpha_ddpm > 0) {
    const auto x = detach_prior ? z.detach() : z;
    const auto mu = detach_prior ? post.mu.detach() : post.mu;
    DiffusionLoss d;
    if (!shard) {
      d = diffusion_loss(*eps_model, schedule_, x.to(at::kFloat), mu.to(at::kFloat), gen);
    } else {  // diffusion_loss's draws (t, then the noise) for the whole batch
      const int64_t b = x.size(0);
      const auto t = gen.defined() ? at::randint(1, schedule_.T + 1, {shard->global}, gen, at::TensorOptions().dtype(at::kLong).device(gen.device()))
                                   : at::randint(1, schedule_.T + 1, {shard->global}, at::TensorOptions().dtype(at::kLong));
      const auto sizes = drawn_sizes(x.sizes(), shard);
      const auto noise = gen.defined() ? at::randn(sizes, gen, at::TensorOptions().dtype(at::kFloat).device(gen.device())).to(x.device())
                                       : at::randn(sizes, at::TensorOptions().dtype(at::kFloat).device(x.device()));
      d = diffusion_loss_given(*eps_model, schedule_, x.to(at::kFloat), mu.to(at::kFloat), own_rows(t, b, shard),
                               own_rows(noise, b, shard));
    }
    out.ddpm = d.loss;
    if (!shard) {
      out.loss = joint_loss(out.vae, d.weight, d.loss, config.alpha_ddpm, config.diffusion.steps, config.loss_pairing) + out.reg;
    } else {  // this process's share of joint_loss over the whole batch
      const double B = static_cast<double>(shard->global), part = static_cast<double>(x.size(0)) / B;
      const auto inv = 1 / (d.weight.reshape({-1}) * config.diffusion.steps);  // (b,)
      const auto vae = out.vae.reshape({-1});
      const auto vae_term = config.loss_pairing == "dmlp"
                                ? shard->sum_across(inv.sum().detach()) / B * vae.sum() / B  // mean(1/(wT)) x mean(vae)
                                : (inv * vae).sum() / B;
      out.loss = vae_term + config.alpha_ddpm * d.loss.sum() / B + part * out.reg;
    }
  } else {
    out.ddpm = at::zeros_like(out.vae);
    out.loss = shard ? out.vae.sum() / static_cast<double>(shard->global) +
                           static_cast<double>(out.vae.size(0)) / static_cast<double>(shard->global) * out.reg
                     : out.vae.mean() + out.reg;
  }
  return out;
}

bool VaeDdpmImpl::dmlp_trainable(const std::string& name) {
  // DMLP's list for GPT-2; the Llama family's names of the same parts (token embedding, block 0).
  for (const char* key : {"linear", "latent_ff", "wte", "decoder.transformer.h.0.", "embed_tokens", "decoder.model.layers.0.", "encoder", "eps_model"})
    if (name.find(key) != std::string::npos) return true;
  return false;
}

bool VaeDdpmImpl::trainable(const std::string& name, const std::string& mode, bool extra_first_block) {
  if (mode == "all") return true;
  if (name.rfind("discriminator.", 0) == 0) return true;  // the adversarial prior's, whatever the mode
  if (name.find(".lora_") != std::string::npos) return true;   // low-rank adapters (decoder lora_rank)
  if (mode == "dmlp") return dmlp_trainable(name);
  if (name.rfind("encoder.", 0) == 0 || name.rfind("eps_model.", 0) == 0) return true;
  if (name.rfind("decoder.", 0) != 0) return false;
  // The decoder's latent projections (GPT-2: transformer.linear*, Llama: model.linear*, T5:
  // linear*, latent_ff) and its extra block.
  if (name.find(".linear") != std::string::npos || name.rfind("decoder.latent_ff.", 0) == 0) return true;
  return extra_first_block && (name.rfind("decoder.transformer.h.0.", 0) == 0 || name.rfind("decoder.model.layers.0.", 0) == 0);
}

}  // namespace latent
