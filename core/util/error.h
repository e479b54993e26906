// Errors thrown by the core: every message says what failed and where (a file, a line,
// a configuration key), so the CLI and the studio can show it as is.
#pragma once

#include <cctype>
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

// A library's exception text without its internal prefix or a backtrace: nlohmann's
// "[json.exception.parse_error.101] parse error at line 3, column 4: ..." keeps "parse
// error at line 3, column 4: ..."; LibTorch's c10::Error keeps the lines before its C++
// backtrace ("Exception raised from ...", "frame #0: ...").
inline std::string library_text(const std::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0) {
    const size_t cut = text.find("] ");
    if (cut != std::string::npos) text = text.substr(cut + 2);
  }
  for (const char* marker : {"\nException raised from ", "\nframe #"}) {
    const size_t cut = text.find(marker);
    if (cut != std::string::npos) text.resize(cut);
  }
  return text;
}

// LibTorch reports a failed allocation as a c10::Error, not std::bad_alloc:
// "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1536000000 bytes",
// "CUDA out of memory. Tried to allocate 2.00 GiB ...". Returns "" when the text is
// something else, otherwise "out of memory" with the size when the text gives one.
inline std::string out_of_memory_text(const std::string& text) {
  if (text.find("can't allocate memory") == std::string::npos && text.find("out of memory") == std::string::npos)
    return "";
  for (const char* key : {"you tried to allocate ", "Tried to allocate "}) {
    const size_t at = text.find(key);
    if (at == std::string::npos) continue;
    const size_t from = at + std::char_traits<char>::length(key);
    size_t end = text.find_first_of(".;(\n", from);
    while (end != std::string::npos && text[end] == '.' && end + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[end + 1])))
      end = text.find_first_of(".;(\n", end + 1);  // "2.00 GiB"
    std::string size = text.substr(from, end == std::string::npos ? std::string::npos : end - from);
    while (!size.empty() && size.back() == ' ') size.pop_back();
    return "out of memory (an allocation of " + size + " failed)";
  }
  return "out of memory";
}

// What a user may read of any exception: latent::Error as it is; out-of-memory said so;
// a library's text without its internal prefix.
inline std::string user_message(const std::exception& e) {
  if (dynamic_cast<const Error*>(&e)) return e.what();
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "out of memory";
  const std::string text = library_text(e);
  if (const std::string oom = out_of_memory_text(text); !oom.empty()) return oom;
  return std::string(e.what()).rfind("[json.exception.", 0) == 0 ? "unexpected JSON content: " + text : text;
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
    if (const std::string oom = out_of_memory_text(library_text(e)); !oom.empty()) throw Error(where, oom + " while reading it");
#ifdef LATENT_FUZZ_STRICT
    throw;  // the fuzz targets report a library's exception as a finding, to be named properly
#endif
    throw Error(where, user_message(e));
  }
}

}  // namespace latent
