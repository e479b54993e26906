// Helpers shared by the tests: fixture paths, temporary folders, JSON fixtures.
#pragma once

#include <QDir>
#include <QProcess>
#include <QFile>
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace latent::test {

inline std::string fixture(const std::string& rel) { return std::string(LATENT_FIXTURE_DIR) + "/" + rel; }
inline std::string corpusFile(const std::string& name) { return std::string(LATENT_CORPUS_DIR) + "/" + name; }
inline std::string artifact(const std::string& name) {
  QDir().mkpath(LATENT_ARTIFACT_DIR);
  return std::string(LATENT_ARTIFACT_DIR) + "/" + name;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline nlohmann::json readJson(const std::string& path) { return nlohmann::json::parse(slurp(path)); }

// The real latent-cli binary with args: exit code, stdout, stderr (code -1: it did not finish in 10 minutes).
struct CliRun {
  int code = -1;
  std::string out, err;
};
inline CliRun cli(const QStringList& args) {
  QProcess p;
  p.start(LATENT_CLI, args);
  if (!p.waitForFinished(600000)) return {};
  return {p.exitCode(), p.readAllStandardOutput().toStdString(), p.readAllStandardError().toStdString()};
}

// Runs expr and returns the latent::Error message, or "<no error>".
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "<no error>";
}

// Whether a missing asset (SmolLM2, MiniLM, Gloo) must fail the test rather than skip it: under
// CI (CI=true, as .ci/run is started) or LATENT_REQUIRE_ASSETS=1. A developer without set-up's
// downloads still gets a skip that names what is missing.
inline bool assetsRequired() {
  const QByteArray ci = qgetenv("CI").toLower(), req = qgetenv("LATENT_REQUIRE_ASSETS");
  return ci == "true" || ci == "1" || (!req.isEmpty() && req != "0");
}

}  // namespace latent::test

// Skips the test function when an asset set-up provides is missing, or fails it where assets
// are required (latent::test::assetsRequired): CI cannot pass by skipping.
#define LATENT_SKIP_OR_FAIL_WITHOUT(what)                                                          \
  do {                                                                                             \
    if (latent::test::assetsRequired())                                                            \
      QFAIL((std::string(what) + " (required here: CI=true or LATENT_REQUIRE_ASSETS=1)").c_str()); \
    QSKIP(std::string(what).c_str());                                                              \
  } while (0)

#define LATENT_VERIFY_CONTAINS(haystack, needle)                                                     \
  QVERIFY2(std::string(haystack).find(needle) != std::string::npos,                                  \
           (std::string("expected \"") + (needle) + "\" in: " + std::string(haystack)).c_str())
