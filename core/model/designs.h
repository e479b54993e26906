// The seed designs of docs/DESIGNS.md as named settings: DMLP's, Optimus's, t5-vae's and
// DAVAE's choices of posterior, KL schedule, regulariser and latent injection. One list,
// read by `latent-cli train --design`, the Train view's "Latent design" and
// tools/designs/compare.sh, so the three cannot drift apart.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "model/config.h"

namespace latent {

struct Design {
  std::string name;     // "dmlp", "optimus", "t5vae", "davae"
  std::string title;    // for menus: "Optimus: learned posterior, cyclical beta, free bits"
};
const std::vector<Design>& designs();

// The design's settings as a config overlay ({"model": ..., "train": ...}). Optimus's
// cyclical schedule spans `steps` when it is positive (the run), else 10,000 steps. Unknown
// names are refused with the known ones.
nlohmann::json design_settings(const std::string& name, int64_t steps);

// c with the design's settings applied over it (Optimus's cycle spans c.train.steps).
Config with_design(const Config& c, const std::string& name);

}  // namespace latent
