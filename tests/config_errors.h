// Whether a config.json fragment, applied over the defaults, is refused with an error that
// names `key` (an unexpected error is printed, so that a failing check shows what it got).
#pragma once

#include <QtGlobal>
#include <nlohmann/json.hpp>
#include <string>

#include "model/config.h"
#include "util/error.h"

namespace latent::test {

inline bool configFails(const nlohmann::json& j, const std::string& key) {
  try {
    merge_config(Config{}, j, "config.json");
  } catch (const Error& e) {
    if (std::string(e.what()).find(key) != std::string::npos) return true;
    qWarning("%s", e.what());
  }
  return false;
}

}  // namespace latent::test
