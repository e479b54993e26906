#include "model/designs.h"

#include <nlohmann/json.hpp>

#include "util/error.h"

namespace latent {

const std::vector<Design>& designs() {
  static const std::vector<Design> list = {
      {"dmlp", "DMLP: fixed small posterior variance, DDPM prior trained jointly"},
      {"optimus", "Optimus: learned posterior, cyclical zero-then-linear beta, free bits"},
      {"t5vae", "t5-vae: 4 latent tokens through tanh, MMD against N(0, I), no KL"},
      {"davae", "DAVAE: adversarial prior, embedding noise, z after every decoder layer"},
  };
  return list;
}

nlohmann::json design_settings(const std::string& name, int64_t steps) {
  using nlohmann::json;
  // Every design states each key the others change, so a design chosen over another (or
  // over a preset) leaves nothing of it behind.
  json m = {{"posterior", "fixed"}, {"kl_schedule", "constant"}, {"kl_weight", 1.0}, {"free_bits", 0.0},
            {"free_bits_mode", "floor"}, {"regularizer", "none"}, {"regularizer_weight", 1.0},
            {"regularizer_warmup_k", 0.0}, {"regularizer_warmup_b", 0.0},
            {"latent_tokens", 1}, {"encoder", {{"embedding_noise", 0.0}, {"pooling", "avg"}}},
            {"decoder", {{"latent_every_layer", false}}}};
  // All but DMLP train the prior on detached latents: their own regulariser shapes z.
  const json detached = {{"ddpm_detach_steps", 1000000000}};
  if (name == "dmlp") return {{"model", m}};
  if (name == "optimus") {
    m.update({{"posterior", "learned"}, {"kl_schedule", "optimus"}, {"kl_anneal_steps", steps > 0 ? steps : 10000},
              {"kl_cycles", 1}, {"kl_ratio_zero", 0.25}, {"kl_ratio_increase", 0.25}, {"free_bits", 0.5},
              {"free_bits_mode", "mask"}, {"length_weighted_loss", true}});
    return {{"model", m}, {"train", detached}};
  }
  if (name == "t5vae") {
    // t5-vae has no reparameterisation: DMLP's small fixed variance is the nearest.
    // transformer-vae's trainer warms the MMD weight up: sigmoid(0.0025 step - 6.25).
    // Its latent is n tokens, each a projection of one of the encoder's first n hidden
    // states through tanh; 4 tokens of latent_dim / 4 here (t5-vae's default is 6 x 32: set
    // latent_dim 192 and latent_tokens 6 in the overrides for that shape).
    m.update({{"regularizer", "mmd"}, {"regularizer_warmup_k", 0.0025}, {"regularizer_warmup_b", 6.25},
              {"latent_tokens", 4}});
    m["encoder"]["pooling"] = "tokens";
    return {{"model", m}, {"train", detached}};
  }
  if (name == "davae") {
    m.update({{"posterior", "learned"}, {"free_bits", 0.5}, {"free_bits_mode", "mask"}, {"regularizer", "adversarial"},
              {"encoder", {{"embedding_noise", 0.1}}}, {"decoder", {{"latent_every_layer", true}}}});
    return {{"model", m}, {"train", detached}};
  }
  std::string known;
  for (const auto& d : designs()) known += (known.empty() ? "" : ", ") + d.name;
  throw Error("design", "unknown design \"" + name + "\" (known: " + known + ")");
}

Config with_design(const Config& c, const std::string& name) {
  return merge_config(c, design_settings(name, c.train.steps), "design " + name);
}

}  // namespace latent
