// Errors thrown by the core: every message says what failed and where (a file, a line,
// a configuration key), so the CLI and the studio can show it as is.
#pragma once

#include <stdexcept>
#include <string>

namespace latent {

class Error : public std::runtime_error {
 public:
  // where: a path, "path:line", or a config key; reason: what is wrong there.
  Error(const std::string& where, const std::string& reason)
      : std::runtime_error(where.empty() ? reason : where + ": " + reason),
        where_(where), reason_(reason) {}

  const std::string& where() const { return where_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string where_;
  std::string reason_;
};

}  // namespace latent
