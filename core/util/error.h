// Errors thrown by the core: every message says what failed and where (a file, a line,
// a configuration key), so the CLI and the studio can show it as is.
#pragma once

#include <new>
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

// A library's exception text without its internal prefix: nlohmann's
// "[json.exception.parse_error.101] parse error at line 3, column 4: ..." keeps "parse
// error at line 3, column 4: ...".
inline std::string library_text(const std::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    const size_t cut = text.find("] ");
    if (cut != std::string::npos) text = text.substr(cut + 2);
  }
  return text;
}

// What a user may read of any exception: latent::Error as it is; out-of-memory said so;
// a library's text without its internal prefix.
inline std::string user_message(const std::exception& e) {
  if (dynamic_cast<const Error*>(&e)) return e.what();
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory";
  const std::string text = library_text(e);
  return text != e.what() ? "unexpected JSON content: " + text : text;
}

// Runs f, which reads `where`; any failure other than latent::Error (out of memory, a
// library's exception) becomes a latent::Error naming `where`.
template <typename F>
auto reading(const std::string& where, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(where, "out of memory while reading it");
  } catch (const std::exception& e) {
#ifdef LATENT_FUZZ_STRICT
    throw;  // the fuzz targets report a library's exception as a finding, to be named properly
#endif
    throw Error(where, user_message(e));
  }
}

}  // namespace latent
