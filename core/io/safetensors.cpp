#include "io/safetensors.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::io {
namespace {

using nlohmann::json;

struct DTypeInfo {
  const char* name;
  size_t size;
  at::ScalarType type;
};

const std::vector<DTypeInfo>& dtype_table() {
  static const std::vector<DTypeInfo> table = {
      {"F64", 8, at::kDouble},        {"F32", 4, at::kFloat},          {"F16", 2, at::kHalf},
      {"BF16", 2, at::kBFloat16},     {"I64", 8, at::kLong},           {"I32", 4, at::kInt},
      {"I16", 2, at::kShort},         {"I8", 1, at::kChar},            {"U8", 1, at::kByte},
      {"BOOL", 1, at::kBool},         {"U16", 2, at::kUInt16},         {"U32", 4, at::kUInt32},
      {"U64", 8, at::kUInt64},        {"F8_E4M3", 1, at::kFloat8_e4m3fn}, {"F8_E5M2", 1, at::kFloat8_e5m2},
  };
  return table;
}

const DTypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : dtype_table())
    if (name == d.name) return &d;
  return nullptr;
}

const DTypeInfo& dtype_of(at::ScalarType t, const std::string& tensor_name) {
  for (const auto& d : dtype_table())
    if (d.type == t) return d;
  throw Error(tensor_name, std::string("dtype ") + c10::toString(t) + " cannot be stored in safetensors");
}

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
  } catch (const json::parse_error& e) {
    throw Error(where, std::string("header is not valid JSON: ") + e.what());
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
  const auto* d = find_dtype(dtype);
  return d ? d->size : 0;
}

std::vector<std::string> supported_dtypes() {
  std::vector<std::string> names;
  for (const auto& d : dtype_table()) names.emplace_back(d.name);
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
    uint64_t bytes = elem;
    for (auto d : e.shape)
      if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes))
        throw Error(where, "tensor \"" + name + "\": size overflows 64 bits");
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

NamedTensors load_stream(std::istream& in, uint64_t file_size, const std::string& where, Metadata* metadata) {
  const SafetensorsIndex index = parse_header(read_header(in, file_size, where), file_size, where);
  NamedTensors out;
  out.reserve(index.entries.size());
  for (const auto& e : index.entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(find_dtype(e.dtype)->type));
    const uint64_t bytes = e.end - e.begin;
    if (bytes > 0) {
      in.seekg(static_cast<std::streamoff>(index.data_offset + e.begin));
      in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(bytes));
      if (!in) throw Error(where, "tensor \"" + e.name + "\": cannot read its data");
    }
    out.emplace_back(e.name, std::move(t));
  }
  if (metadata) *metadata = index.metadata;
  return out;
}

}  // namespace

SafetensorsIndex read_index(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  return parse_header(read_header(in, size, path), size, path);
}

NamedTensors load(const std::string& path, Metadata* metadata) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  return load_stream(in, size, path, metadata);
}

NamedTensors load_from_bytes(const std::string& bytes, const std::string& where, Metadata* metadata) {
  std::istringstream in(bytes);
  return load_stream(in, bytes.size(), where, metadata);
}

namespace {

// Tensors on the CPU in file order, and the header that describes them.
struct Prepared {
  struct Item {
    const std::string* name;
    at::Tensor cpu;
    const DTypeInfo* dtype;
  };
  std::vector<Item> items;
  std::string header;  // padded JSON, without the length prefix
  uint64_t data_bytes = 0;

  void write(std::ostream& out) const {
    const uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xFF));
    out.write(header.data(), static_cast<std::streamsize>(n));
    for (const auto& it : items)
      out.write(static_cast<const char*>(it.cpu.data_ptr()),
                static_cast<std::streamsize>(static_cast<size_t>(it.cpu.numel()) * it.dtype->size));
  }
};

Prepared prepare(const NamedTensors& tensors, const Metadata& metadata) {
  Prepared p;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw Error("safetensors", "a tensor has an empty name");
    if (name == "__metadata__") throw Error("safetensors", "\"__metadata__\" is reserved");
    if (!names.insert(name).second) throw Error(name, "tensor name used twice");
    if (!t.defined()) throw Error(name, "undefined tensor");
    p.items.push_back({&name, t.detach().to(at::kCPU).contiguous(), &dtype_of(t.scalar_type(), name)});
  }
  std::sort(p.items.begin(), p.items.end(), [](const Prepared::Item& a, const Prepared::Item& b) {
    return a.dtype->size != b.dtype->size ? a.dtype->size > b.dtype->size : *a.name < *b.name;
  });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& it : p.items) {
    const uint64_t bytes = static_cast<uint64_t>(it.cpu.numel()) * it.dtype->size;
    header[*it.name] = {{"dtype", it.dtype->name},
                        {"shape", it.cpu.sizes().vec()},
                        {"data_offsets", {p.data_bytes, p.data_bytes + bytes}}};
    p.data_bytes += bytes;
  }
  p.header = header.dump();
  p.header.append((8 - p.header.size() % 8) % 8, ' ');  // keeps the data buffer 8-byte aligned
  return p;
}

}  // namespace

std::string serialize(const NamedTensors& tensors, const Metadata& metadata) {
  const Prepared p = prepare(tensors, metadata);
  std::ostringstream out;
  p.write(out);
  return out.str();
}

void save(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  Prepared p;
  try {
    p = prepare(tensors, metadata);
  } catch (const Error& e) {
    throw Error(path, e.what());
  }
  write_file_atomic(path, [&](std::ostream& out) { p.write(out); });
}

}  // namespace latent::io
