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

// The LibTorch type of each safetensors dtype (names and sizes: io/safetensors_index.cpp;
// the element size comes from the tensor).
struct DTypeInfo {
  const char* name;
  at::ScalarType type;
};

const std::vector<DTypeInfo>& dtype_table() {
  static const std::vector<DTypeInfo> table = {
      {"F64", at::kDouble},   {"F32", at::kFloat},    {"F16", at::kHalf},     {"BF16", at::kBFloat16},
      {"I64", at::kLong},     {"I32", at::kInt},      {"I16", at::kShort},    {"I8", at::kChar},
      {"U8", at::kByte},      {"BOOL", at::kBool},    {"U16", at::kUInt16},   {"U32", at::kUInt32},
      {"U64", at::kUInt64},   {"F8_E4M3", at::kFloat8_e4m3fn},                {"F8_E5M2", at::kFloat8_e5m2},
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

NamedTensors load_stream(std::istream& in, uint64_t file_size, const std::string& where, Metadata* metadata) {
  const SafetensorsIndex index = read_index(in, file_size, where);
  NamedTensors out;
  out.reserve(index.entries.size());
  for (const auto& e : index.entries) {
    const DTypeInfo* dtype = find_dtype(e.dtype);
    if (!dtype) throw Error(where, "tensor \"" + e.name + "\": dtype " + e.dtype + " has no LibTorch type");
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(dtype->type));
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
                static_cast<std::streamsize>(it.cpu.nbytes()));
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
    return a.cpu.element_size() != b.cpu.element_size() ? a.cpu.element_size() > b.cpu.element_size() : *a.name < *b.name;
  });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const auto& it : p.items) {
    const uint64_t bytes = it.cpu.nbytes();
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
