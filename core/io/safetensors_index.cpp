#include "io/safetensors_index.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "util/error.h"

namespace latent::io {
namespace {

using nlohmann::json;

struct DTypeName {
  const char* name;
  size_t size;
};

// safetensors' dtypes that LibTorch can hold (io/safetensors.cpp maps each to its type).
constexpr DTypeName kDTypes[] = {
    {"F64", 8},  {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},     {"I16", 2},     {"I8", 1},
    {"U8", 1},   {"BOOL", 1}, {"U16", 2}, {"U32", 4},  {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// nlohmann keeps the last of duplicate keys silently; this parse rejects them.
json parse_json_strict(const std::string& text, const std::string& where) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int /*depth*/, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) keys.emplace_back();
    else if (ev == json::parse_event_t::object_end) keys.pop_back();
    else if (ev == json::parse_event_t::key && !keys.empty() && duplicate.empty()) {
      const std::string k = parsed.get<std::string>();
      if (!keys.back().insert(k).second) duplicate = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, cb);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1E400
    throw Error(where, "header is not valid JSON: " + library_text(e));
  }
  if (!duplicate.empty()) throw Error(where, "duplicate key \"" + duplicate + "\" in header");
  return j;
}

std::vector<int64_t> parse_shape(const json& j, const std::string& where, const std::string& name) {
  if (!j.is_array()) throw Error(where, "tensor \"" + name + "\": shape is not an array");
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    if (d.is_number_integer() && d.get<int64_t>() < 0)
      throw Error(where, "tensor \"" + name + "\": negative dimension " + std::to_string(d.get<int64_t>()));
    if (!d.is_number_unsigned()) throw Error(where, "tensor \"" + name + "\": shape holds a non-integer");
    const uint64_t v = d.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) throw Error(where, "tensor \"" + name + "\": dimension too large");
    shape.push_back(static_cast<int64_t>(v));
  }
  return shape;
}

}  // namespace

uint64_t TensorEntry::numel() const {
  uint64_t n = 1;
  for (auto d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

size_t dtype_size(const std::string& dtype) {
  for (const auto& d : kDTypes)
    if (dtype == d.name) return d.size;
  return 0;
}

std::vector<std::string> supported_dtypes() {
  std::vector<std::string> names;
  for (const auto& d : kDTypes) names.emplace_back(d.name);
  return names;
}

SafetensorsIndex parse_header(const std::string& header, uint64_t file_size, const std::string& where) {
  if (header.empty() || header[0] != '{') throw Error(where, "header does not start with '{'");
  const json j = parse_json_strict(header, where);
  if (!j.is_object()) throw Error(where, "header is not a JSON object");

  SafetensorsIndex index;
  index.data_offset = 8 + header.size();
  for (const auto& [name, value] : j.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) throw Error(where, "__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw Error(where, "__metadata__ value of \"" + k + "\" is not a string");
        index.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!value.is_object()) throw Error(where, "tensor \"" + name + "\": entry is not an object");
    const auto dt = value.find("dtype");
    const auto sh = value.find("shape");
    const auto off = value.find("data_offsets");
    if (dt == value.end() || sh == value.end() || off == value.end())
      throw Error(where, "tensor \"" + name + "\": entry needs dtype, shape and data_offsets");
    if (!dt->is_string()) throw Error(where, "tensor \"" + name + "\": dtype is not a string");
    TensorEntry e;
    e.name = name;
    e.dtype = dt->get<std::string>();
    const size_t elem = dtype_size(e.dtype);
    if (elem == 0) throw Error(where, "tensor \"" + name + "\": unknown dtype \"" + e.dtype + "\"");
    e.shape = parse_shape(*sh, where, name);
    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      throw Error(where, "tensor \"" + name + "\": data_offsets must be two non-negative integers");
    e.begin = (*off)[0].get<uint64_t>();
    e.end = (*off)[1].get<uint64_t>();
    if (e.end < e.begin) throw Error(where, "tensor \"" + name + "\": data_offsets end before they begin");
    uint64_t bytes = elem, nonzero = 1;
    for (auto d : e.shape) {
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes))
        throw Error(where, "tensor \"" + name + "\": size overflows 64 bits");
      // An empty tensor (a zero dimension) may not hide dimensions whose product overflows.
      if (d != 0 && (__builtin_mul_overflow(nonzero, static_cast<uint64_t>(d), &nonzero) ||
                     nonzero > static_cast<uint64_t>(INT64_MAX)))
        throw Error(where, "tensor \"" + name + "\": shape overflows 64 bits");
    }
    if (e.end - e.begin != bytes)
      throw Error(where, "tensor \"" + name + "\": data_offsets span " + std::to_string(e.end - e.begin) +
                             " bytes but " + e.dtype + " shape needs " + std::to_string(bytes));
    index.entries.push_back(std::move(e));
  }

  std::vector<const TensorEntry*> by_offset;
  for (const auto& e : index.entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorEntry* a, const TensorEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  for (const auto* e : by_offset) {
    if (e->begin != expected)
      throw Error(where, "tensor \"" + e->name + "\": data starts at " + std::to_string(e->begin) + ", expected " +
                             std::to_string(expected) + (e->begin < expected ? " (overlap)" : " (hole)"));
    expected = e->end;
  }
  const uint64_t buffer = file_size >= index.data_offset ? file_size - index.data_offset : 0;
  if (expected != buffer)
    throw Error(where, "data buffer is " + std::to_string(buffer) + " bytes but the tensors cover " +
                           std::to_string(expected) + (expected < buffer ? " (trailing bytes)" : " (file truncated)"));
  return index;
}

namespace {

// Reads the length prefix and header; checks the limits before allocating anything.
std::string read_header(std::istream& in, uint64_t file_size, const std::string& where) {
  if (file_size < 8) throw Error(where, "file is " + std::to_string(file_size) + " bytes, too small for a safetensors header");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  if (!in) throw Error(where, "cannot read the header length");
  const uint64_t n = read_le64(len_bytes);
  if (n > kMaxHeaderBytes)
    throw Error(where, "header length " + std::to_string(n) + " exceeds the limit of " + std::to_string(kMaxHeaderBytes));
  if (n > file_size - 8)
    throw Error(where, "header length " + std::to_string(n) + " runs past the end of the file (" +
                           std::to_string(file_size) + " bytes)");
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  if (!in) throw Error(where, "cannot read the header");
  return header;
}

}  // namespace

SafetensorsIndex read_index(std::istream& in, uint64_t file_size, const std::string& where) {
  return parse_header(read_header(in, file_size, where), file_size, where);
}

SafetensorsIndex read_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  return read_index(in, size, path);
}

}  // namespace latent::io
