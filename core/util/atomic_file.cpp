#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.h"

namespace latent {
namespace fs = std::filesystem;

namespace {

std::string temp_name_for(const fs::path& target) {
  std::random_device rd;
  std::ostringstream name;
  name << '.' << target.filename().string() << ".tmp-" << std::hex << rd() << rd();
  return (target.parent_path() / name.str()).string();
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;  // best effort for directories on odd file systems
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error(path, "folder " + dir.string() + " does not exist");
  const std::string tmp = temp_name_for(target.has_parent_path() ? target : fs::path(".") / target);
  try {
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(path, std::string("cannot create temporary file: ") + std::strerror(errno));
      errno = 0;
      write(out);
      out.flush();
      if (!out) throw Error(path, std::string("write failed: ") + (errno ? std::strerror(errno) : "stream error"));
    }
    fsync_path(tmp, O_RDONLY);
    fs::rename(tmp, target, ec);
    if (ec) throw Error(path, "cannot rename temporary file into place: " + ec.message());
    fsync_path(dir.string(), O_RDONLY | O_DIRECTORY);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw Error(path, "is a folder, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw Error(path, "read failed");
  return buf.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    std::string line = bytes.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

}  // namespace latent
