// safetensors: round trip of every dtype, files written by Python's safetensors load
// with the right values, and every malformed case is rejected with its reason.
#include <ATen/ATen.h>

#include <QTemporaryDir>
#include <cstring>
#include <filesystem>

#include "io/safetensors.h"
#include "test_util.h"

using namespace latent;

namespace {

std::string withLength(const std::string& header, const std::string& data) {
  std::string out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  return out + header + data;
}

bool sameBytes(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const auto ca = a.contiguous(), cb = b.contiguous();
  // (memcmp of an empty tensor would pass null pointers: undefined, says UBSan)
  return ca.nbytes() == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), static_cast<size_t>(ca.nbytes())) == 0;
}

at::Tensor sampleOf(at::ScalarType t) {
  const auto base = at::arange(-6, 6, at::kDouble).reshape({3, 4}) * 1.25;
  if (t == at::kBool) return base.gt(0);
  if (t == at::kByte || t == at::kUInt16 || t == at::kUInt32 || t == at::kUInt64)
    return (base.abs() * 4).to(at::kLong).to(t);
  return base.to(t);
}

}  // namespace

class TestSafetensors : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  std::string path(const std::string& name) { return dir_.filePath(QString::fromStdString(name)).toStdString(); }

  // Loads bytes as a file and returns the error message ("<no error>" if it loaded).
  std::string loadError(const std::string& bytes) {
    const std::string p = path("case.safetensors");
    test::spit(p, bytes);
    return test::errorOf([&] { io::load(p); });
  }

 private Q_SLOTS:
  void roundTripEveryDtype() {
    const std::vector<at::ScalarType> types = {at::kDouble, at::kFloat,  at::kHalf,   at::kBFloat16,
                                               at::kLong,   at::kInt,    at::kShort,  at::kChar,
                                               at::kByte,   at::kBool,   at::kUInt16, at::kUInt32,
                                               at::kUInt64, at::kFloat8_e4m3fn, at::kFloat8_e5m2};
    QCOMPARE(io::supported_dtypes().size(), types.size());
    io::NamedTensors tensors;
    for (auto t : types) tensors.emplace_back(std::string("t_") + c10::toString(t), sampleOf(t));
    tensors.emplace_back("scalar", at::scalar_tensor(3.5, at::kFloat));
    tensors.emplace_back("empty", at::empty({0, 4}, at::kFloat));
    tensors.emplace_back("transposed", at::arange(12, at::kFloat).reshape({3, 4}).t());  // non-contiguous
    const io::Metadata meta = {{"format", "pt"}, {"note", "caf\xC3\xA9"}};
    io::save(path("all.safetensors"), tensors, meta);

    io::Metadata loaded_meta;
    const auto loaded = io::load(path("all.safetensors"), &loaded_meta);
    QCOMPARE(loaded_meta, meta);
    QCOMPARE(loaded.size(), tensors.size());
    for (const auto& [name, t] : tensors) {
      const std::string& wanted = name;  // (clang 14: a lambda cannot capture a structured binding)
      auto it = std::find_if(loaded.begin(), loaded.end(), [&](const auto& p) { return p.first == wanted; });
      QVERIFY2(it != loaded.end(), name.c_str());
      QVERIFY2(sameBytes(it->second, t), name.c_str());
    }
    // Every tensor is aligned to its element size inside the file.
    const auto index = io::read_index(path("all.safetensors"));
    QCOMPARE(index.data_offset % 8, uint64_t(0));
    for (const auto& e : index.entries) QCOMPARE(e.begin % io::dtype_size(e.dtype), uint64_t(0));
    // The in-memory image is byte-identical to the file.
    QCOMPARE(io::serialize(tensors, meta), test::slurp(path("all.safetensors")));
  }

  void loadsFilesWrittenByPython_data() {
    QTest::addColumn<QString>("name");
    QTest::newRow("dtypes") << "python_dtypes";
    QTest::newRow("hf_style") << "hf_style";
  }
  void loadsFilesWrittenByPython() {
    QFETCH(QString, name);
    const std::string base = test::fixture("safetensors/" + name.toStdString());
    const auto expected = test::readJson(base + ".json");
    io::Metadata meta;
    const auto tensors = io::load(base + ".safetensors", &meta);
    QCOMPARE(meta, expected["metadata"].get<io::Metadata>());
    QCOMPARE(tensors.size(), expected["tensors"].size());
    const auto index = io::read_index(base + ".safetensors");
    for (const auto& [tname, t] : tensors) {
      const auto& e = expected["tensors"][tname];
      const std::string& wanted = tname;
      const auto entry = std::find_if(index.entries.begin(), index.entries.end(), [&](const auto& x) { return x.name == wanted; });
      QCOMPARE(entry->dtype, e["dtype"].get<std::string>());
      QCOMPARE(t.sizes().vec(), e["shape"].get<std::vector<int64_t>>());
      const auto& values = e["values"];
      QCOMPARE(static_cast<size_t>(t.numel()), values.size());
      const auto flat = t.reshape({-1});
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const auto& v = values[static_cast<size_t>(i)];
        const std::string where = tname + "[" + std::to_string(i) + "]";
        if (v.is_boolean()) QVERIFY2(flat[i].item<bool>() == v.get<bool>(), where.c_str());
        else if (v.is_number_integer()) QVERIFY2(flat[i].item<int64_t>() == v.get<int64_t>(), where.c_str());
        else QVERIFY2(flat[i].to(at::kDouble).item<double>() == v.get<double>(), where.c_str());
      }
    }
  }

  void rejectsMalformedFiles_data() {
    QTest::addColumn<QByteArray>("bytes");
    QTest::addColumn<QString>("reason");
    const std::string data8(8, '\0');
    const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    auto row = [](const char* name, const std::string& bytes, const char* reason) {
      QTest::newRow(name) << QByteArray(bytes.data(), static_cast<int>(bytes.size())) << QString(reason);
    };
    row("too small", "abc", "too small");
    std::string huge(8, '\0');
    huge[4] = 1;  // 2^32 > 100 MB
    row("header over limit", huge + "{}", "exceeds the limit");
    std::string past = withLength(ok, data8);
    past[0] = static_cast<char>(ok.size() + 100);
    row("header past end", past, "runs past the end");
    row("not starting with brace", withLength(" " + ok, data8), "does not start with '{'");
    row("invalid json", withLength(R"({"a":{"dtype":"F32",)", data8), "not valid JSON");
    row("duplicate tensor", withLength(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8), "duplicate key \"a\"");
    row("duplicate field", withLength(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data8), "duplicate key \"dtype\"");
    row("unknown dtype", withLength(R"({"a":{"dtype":"F24","shape":[2],"data_offsets":[0,8]}})", data8), "unknown dtype \"F24\"");
    row("negative dim", withLength(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8), "negative dimension");
    row("overflow", withLength(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", data8), "overflows");
    row("overflow behind a zero", withLength(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", ""), "shape overflows");
    row("number out of range", withLength(R"({"a":{"dtype":"F32","shape":[1E400],"data_offsets":[0,4]}})", data8.substr(0, 4)), "not valid JSON");
    row("size mismatch", withLength(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data8), "needs 12");
    row("hole", withLength(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8), "(hole)");
    row("overlap", withLength(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", data8), "(overlap)");
    row("trailing bytes", withLength(ok, data8 + "xx"), "trailing bytes");
    row("truncated", withLength(ok, data8.substr(0, 5)), "truncated");
    row("metadata not string", withLength(R"({"__metadata__":{"k":1}})", ""), "is not a string");
    row("missing offsets", withLength(R"({"a":{"dtype":"F32","shape":[2]}})", data8), "needs dtype, shape and data_offsets");
    row("entry not object", withLength(R"({"a":[1,2]})", data8), "entry is not an object");
    row("top level array", withLength("[1]", ""), "does not start with '{'");
  }
  void rejectsMalformedFiles() {
    QFETCH(QByteArray, bytes);
    QFETCH(QString, reason);
    const std::string err = loadError(bytes.toStdString());
    LATENT_VERIFY_CONTAINS(err, reason.toStdString());
    LATENT_VERIFY_CONTAINS(err, "case.safetensors");  // names the file
  }

  void acceptsPaddedHeaderAndEmptyFile() {
    const std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    std::string data(8, '\0');
    const float v[2] = {1.5f, -2.0f};
    std::memcpy(data.data(), v, 8);
    QCOMPARE(loadError(withLength(ok + "      ", data)), std::string("<no error>"));
    QCOMPARE(io::load(path("case.safetensors"))[0].second[1].item<float>(), -2.0f);
    QCOMPARE(loadError(withLength("{}", "")), std::string("<no error>"));
  }

  void writerErrorsKeepTheOldFile() {
    const std::string p = path("keep.safetensors");
    io::save(p, {{"w", at::ones({2})}});
    const std::string before = test::slurp(p);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { io::save(p, {{"w", at::ones({2})}, {"w", at::zeros({2})}}); }),
                           "used twice");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { io::save(p, {{"", at::ones({2})}}); }), "empty name");
    QCOMPARE(test::slurp(p), before);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { io::save(path("no/such/dir/x.safetensors"), {{"w", at::ones({1})}}); }),
                           "does not exist");
    // No temporary files are left behind.
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path().toStdString()))
      QVERIFY2(entry.path().filename().string().find(".tmp-") == std::string::npos, entry.path().c_str());
  }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
