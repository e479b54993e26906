#include "io/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

// The value text after 'key': in the header dict (up to the next top-level comma or '}').
std::string dict_value(const std::string& header, const std::string& key, const std::string& where) {
  size_t at = std::string::npos;
  for (const char q : {'\'', '"'}) {
    at = header.find(std::string(1, q) + key + q);
    if (at != std::string::npos) break;
  }
  if (at == std::string::npos) throw Error(where, "npy header has no '" + key + "'");
  size_t colon = header.find(':', at + key.size() + 2);
  if (colon == std::string::npos) throw Error(where, "npy header: '" + key + "' has no value");
  size_t p = colon + 1, depth = 0, end = p;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') {
      if (depth == 0) break;
      --depth;
    }
    if ((c == ',' || c == '}') && depth == 0) break;
  }
  std::string v = header.substr(p, end - p + (end < header.size() && header[end] == ')' ? 1 : 0));
  const size_t b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

}  // namespace

std::string npy_serialize(const float* data, const std::vector<int64_t>& shape) {
  std::string dims;
  int64_t count = 1;
  for (auto s : shape) {
    dims += std::to_string(s) + ",";
    if (shape.size() > 1) dims += " ";
    count *= s;
  }
  while (!dims.empty() && dims.back() == ' ') dims.pop_back();
  if (shape.size() > 1 && !dims.empty() && dims.back() == ',') dims.pop_back();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;  // magic + version + length, then '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  return out;
}

NpyArray npy_parse(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0) throw Error(where, "not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(where, "npy header is cut short");
    for (int i = 3; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[8 + static_cast<size_t>(i)]);
    offset = 12;
  } else {
    throw Error(where, "npy version " + std::to_string(major) + " is not supported (1, 2 or 3)");
  }
  if (header_len > bytes.size() - offset) throw Error(where, "npy header is longer than the file");
  const std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  const std::string descr = dict_value(header, "descr", where);
  if (descr != "'<f4'" && descr != "\"<f4\"")
    throw Error(where, "npy dtype " + descr + " is not supported (float32, little-endian: '<f4')");
  if (dict_value(header, "fortran_order", where) != "False") throw Error(where, "npy arrays in Fortran order are not supported");
  std::string shape_text = dict_value(header, "shape", where);
  if (shape_text.size() < 2 || shape_text.front() != '(' || shape_text.back() != ')')
    throw Error(where, "npy shape " + shape_text + " is not a tuple");
  NpyArray a;
  uint64_t count = 1;
  std::string item;
  std::istringstream parts(shape_text.substr(1, shape_text.size() - 2));
  while (std::getline(parts, item, ',')) {
    const size_t b = item.find_first_not_of(" "), e = item.find_last_not_of(" ");
    if (b == std::string::npos) continue;  // "(3,)"
    item = item.substr(b, e - b + 1);
    if (item.empty() || item.size() > 12 || item.find_first_not_of("0123456789") != std::string::npos)
      throw Error(where, "npy shape " + shape_text + " is not a tuple of sizes");
    const uint64_t s = std::stoull(item);
    if (s != 0 && count > (uint64_t{1} << 40) / s) throw Error(where, "npy shape " + shape_text + " is too large");
    count *= s;
    a.shape.push_back(static_cast<int64_t>(s));
  }
  if (a.shape.empty() || a.shape.size() > 8) throw Error(where, "npy arrays of 1 to 8 dimensions are supported, not " + shape_text);
  if (count * sizeof(float) != bytes.size() - offset)
    throw Error(where, "npy shape " + shape_text + " needs " + std::to_string(count * sizeof(float)) + " bytes of data, the file has " +
                           std::to_string(bytes.size() - offset));
  a.data.resize(static_cast<size_t>(count));
  if (count) std::memcpy(a.data.data(), bytes.data() + offset, static_cast<size_t>(count) * sizeof(float));
  return a;
}

NpyArray npy_load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return npy_parse(s.str(), path);
}

void npy_save(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_file_atomic(path, npy_serialize(data, shape));
}

}  // namespace latent::io
