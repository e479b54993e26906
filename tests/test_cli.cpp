// latent-cli end to end: runs the real binary, checks output, exit codes and messages.
#include <QProcess>
#include <QTemporaryDir>

#include "test_util.h"

using namespace latent;

namespace {

struct Run {
  int code = -1;
  std::string out, err;
};

Run cli(const QStringList& args) {
  QProcess p;
  p.start(LATENT_CLI, args);
  if (!p.waitForFinished(120000)) return {};
  return {p.exitCode(), p.readAllStandardOutput().toStdString(), p.readAllStandardError().toStdString()};
}

QString fx(const std::string& rel) { return QString::fromStdString(test::fixture(rel)); }

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void helpForEverySubcommand() {
    const Run top = cli({"--help"});
    QCOMPARE(top.code, 0);
    for (const char* sub : {"corpus-stats", "tokenize", "bleu", "info", "train-tokenizer"}) {
      LATENT_VERIFY_CONTAINS(top.out, sub);
      const Run r = cli({sub, "--help"});
      QCOMPARE(r.code, 0);
      LATENT_VERIFY_CONTAINS(r.out, "Usage");
    }
  }

  void usageErrorsExit2() {
    QCOMPARE(cli({}).code, 2);
    QCOMPARE(cli({"no-such-command"}).code, 2);
    QCOMPARE(cli({"bleu", "--hyps", "x"}).code, 2);  // --refs missing
    QCOMPARE(cli({"corpus-stats", "f", "--max-chars", "-3"}).code, 2);
  }

  void runtimeErrorsExit1WithOneLine() {
    const Run r = cli({"corpus-stats", "/nonexistent/corpus.txt"});
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.rfind("error: /nonexistent/corpus.txt", 0) == 0);
    QCOMPARE(std::count(r.err.begin(), r.err.end(), '\n'), 1L);
    const Run m = cli({"info", "--model", tmp_.path()});
    QCOMPARE(m.code, 1);
    LATENT_VERIFY_CONTAINS(m.err, "config.json is missing");
  }

  void corpusStatsCountsReasons() {
    const std::string path = tmp_.filePath("crafted.txt").toStdString();
    test::spit(path, "good one\n\nbad \xFF line\n" + std::string(900, 'z') + "\nanother good sentence here\n");
    const Run r = cli({"corpus-stats", QString::fromStdString(path), "--json"});
    QCOMPARE(r.code, 0);
    const auto j = nlohmann::json::parse(r.out);
    QCOMPARE(j["lines_read"].get<int>(), 5);
    QCOMPARE(j["kept"].get<int>(), 3);
    QCOMPARE(j["skipped"]["empty"].get<int>(), 1);
    QCOMPARE(j["skipped"]["invalid_utf8"].get<int>(), 1);
    QCOMPARE(j["modified"]["truncated"].get<int>(), 1);
    QCOMPARE(j["examples"]["invalid_utf8"][0].get<int>(), 3);
    QCOMPARE(j["length_histogram"][0]["count"].get<int>(), 3);
    const Run text = cli({"corpus-stats", QString::fromStdString(path)});
    LATENT_VERIFY_CONTAINS(text.out, "invalid_utf8");
    LATENT_VERIFY_CONTAINS(text.out, "(lines 3)");
  }

  void bleuMatchesNltk() {
    const auto expected = test::readJson(test::fixture("bleu/cli_expected.json"));
    char want[32];
    const Run one = cli({"bleu", "--refs", fx("bleu/refs.txt"), "--hyps", fx("bleu/hyps.txt")});
    QCOMPARE(one.code, 0);
    std::snprintf(want, sizeof want, "BLEU = %.2f", expected["bleu_single_ref"].get<double>());
    LATENT_VERIFY_CONTAINS(one.out, want);
    const Run two = cli({"bleu", "--refs", fx("bleu/refs.txt"), fx("bleu/refs2.txt"), "--hyps", fx("bleu/hyps.txt"), "--json"});
    QCOMPARE(two.code, 0);
    const auto j = nlohmann::json::parse(two.out);
    QVERIFY(std::fabs(j["bleu_exact"].get<double>() - expected["bleu_two_refs"].get<double>()) < 1e-6);
    QCOMPARE(j["n"].get<int>(), expected["n"].get<int>());
    QCOMPARE(j["bleu"].get<double>(), std::round(expected["bleu_two_refs"].get<double>() * 100) / 100);
    // Mismatched line counts are a runtime error naming the file.
    const std::string shortRefs = tmp_.filePath("short.txt").toStdString();
    test::spit(shortRefs, "one line\n");
    const Run bad = cli({"bleu", "--refs", QString::fromStdString(shortRefs), "--hyps", fx("bleu/hyps.txt")});
    QCOMPARE(bad.code, 1);
    LATENT_VERIFY_CONTAINS(bad.err, "short.txt: 1 lines");
  }

  void tokenizerTrainTokenizeAndInfo() {
    const std::string corpus = tmp_.filePath("c.txt").toStdString();
    test::spit(corpus, "the cat sat on the mat\na dog ran in the park\nthe bird sang\n");
    const QString dir = tmp_.filePath("model");
    const Run t = cli({"train-tokenizer", "--corpus", QString::fromStdString(corpus), "--out", dir, "--vocab", "300"});
    QCOMPARE(t.code, 0);
    const Run tok = cli({"tokenize", "--model", dir, "the cat \xE4\xB8\xAD \xF0\x9F\x98\x80", "--json"});
    QCOMPARE(tok.code, 0);
    const auto j = nlohmann::json::parse(tok.out);
    QCOMPARE(j["results"][0]["decoded"].get<std::string>(), std::string("the cat \xE4\xB8\xAD \xF0\x9F\x98\x80"));
    QVERIFY(j["results"][0]["ids"].size() == j["results"][0]["pieces"].size());
    const Run plain = cli({"tokenize", "--model", dir, "the cat"});
    LATENT_VERIFY_CONTAINS(plain.out, "ids:");

    // info on a hand-made model folder: the tokenizer above plus weights and a config.
    const std::string w = dir.toStdString() + "/model.safetensors";
    const std::string header = R"({"encoder.w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"decoder.h.0.w":{"dtype":"F16","shape":[4],"data_offsets":[24,32]}})";
    std::string bytes(8, '\0');
    bytes[0] = static_cast<char>(header.size());
    test::spit(w, bytes + header + std::string(32, '\0'));
    test::spit(dir.toStdString() + "/config.json", R"({"format_version": 1, "encoder": {"hidden": 3}})");
    const Run info = cli({"info", "--model", dir, "--json"});
    QCOMPARE(info.code, 0);
    const auto ij = nlohmann::json::parse(info.out);
    QCOMPARE(ij["total_params"].get<int>(), 10);
    QCOMPARE(ij["modules"]["encoder"]["params"].get<int>(), 6);
    QCOMPARE(ij["modules"]["decoder"]["params"].get<int>(), 4);
    QVERIFY(ij["tokenizer_vocab"].get<int>() > 256);
    const Run infoText = cli({"info", "--model", dir});
    LATENT_VERIFY_CONTAINS(infoText.out, "encoder.hidden");
    LATENT_VERIFY_CONTAINS(infoText.out, "parameters: 10");
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
