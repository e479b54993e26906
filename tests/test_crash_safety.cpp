// Crash safety of training runs, through the real latent-cli:
// - kill -9 at random moments of a run that checkpoints every 2 steps, many rounds: every
//   checkpoint left behind loads, and --resume continues at the step its trainer state says;
// - a file-size limit (ulimit -f, the disk-full case without root) makes the save fail with
//   a message naming the checkpoint, and the previous checkpoint stays intact.
#include <signal.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QThread>
#include <filesystem>
#include <random>
#include <regex>
#include <thread>

#include "io/model_dir.h"
#include "model/model_io.h"
#include "test_util.h"
#include "train/checkpoint.h"

using namespace latent;
namespace fs = std::filesystem;

class TestCrashSafety : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::string dir(const char* name) { return tmp_.filePath(name).toStdString(); }

  // A small corpus and a config that checkpoints every 2 steps.
  QStringList trainArgs(const std::string& out, int steps) {
    const std::string corpus = dir("corpus.txt"), config = dir("config.json");
    if (!fs::exists(corpus)) {
      const auto lines = test::slurp(test::corpusFile("valid.txt"));
      std::string keep;
      size_t n = 0, pos = 0;
      while (n < 200 && pos < lines.size()) {
        const size_t end = lines.find('\n', pos);
        keep += lines.substr(pos, end - pos) + "\n";
        pos = end == std::string::npos ? lines.size() : end + 1;
        ++n;
      }
      test::spit(corpus, keep);
      test::spit(config, R"({"train": {"eval_every": 2, "eval_sentences": 4, "eval_samples": 0, "log_every": 1}})");
    }
    return {"train", "--preset", "tiny", "--corpus", QString::fromStdString(corpus), "--out", QString::fromStdString(out),
            "--config", QString::fromStdString(config), "--steps", QString::number(steps), "--threads", "1"};
  }

  // Every checkpoint folder in the run loads as a model; last/ has a readable trainer state.
  int64_t checkAllLoad(const std::string& run) {
    for (const char* sub : {"best", "last"}) {
      const std::string d = run + "/" + sub;
      if (!fs::exists(d)) continue;
      const std::string err = test::errorOf([&] { load_model(d); });
      if (err != "<no error>") QTest::qFail(("checkpoint " + d + " does not load: " + err).c_str(), __FILE__, __LINE__);
    }
    return fs::exists(run + "/last") ? read_trainer_state(run + "/last").step : -1;
  }

 private Q_SLOTS:
  void killDuringCheckpointWritesManyRounds() {
    const std::string run = dir("killed");
    std::mt19937 rng(7);
    int rounds = 0, resumed = 0, in_write = 0;
    int64_t step = -1, first_step = -1;
    // 12 rounds at random moments, then (at most 20 more) rounds that kill as soon as a
    // checkpoint write is seen under way, until at least one kill has landed inside a write:
    // the test checks what it names on every machine, however the random moments fall.
    constexpr int kRandomRounds = 12, kMaxRounds = kRandomRounds + 20;
    for (; rounds < kMaxRounds && (rounds < kRandomRounds || in_write == 0); ++rounds) {
      QStringList args = trainArgs(run, 100000);
      if (step >= 0) args << "--resume";
      QProcess p;
      p.setProcessChannelMode(QProcess::MergedChannels);
      p.start(LATENT_CLI, args);
      QVERIFY(p.waitForStarted());
      // Wait for a checkpoint to appear (the first round) or for the resumed process to say
      // where it continues (later rounds; on a loaded machine or under ASan, starting takes
      // seconds), then kill at a random moment: most land inside a checkpoint write (every
      // 2 steps).
      std::uniform_int_distribution<int> ms(300, 2500);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      const std::regex said("resuming .* at step ([0-9]+)");
      std::string log;
      while (std::chrono::steady_clock::now() < deadline) {
        if (step < 0 ? fs::exists(run + "/last") : std::regex_search(log, said)) break;
        p.waitForReadyRead(50);
        log += p.readAll().toStdString();
      }
      if (rounds < kRandomRounds) {
        QThread::msleep(ms(rng));
      } else {  // aimed: poll for a write folder and kill the moment one appears
        const auto aim = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < aim && !fs::exists(run + "/last.partial") && !fs::exists(run + "/best.partial"))
          std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
      QVERIFY(p.waitForFinished(10000));
      log += p.readAll().toStdString();
      if (step >= 0) {
        // The resumed process said where it continued, and it was the checkpoint's step.
        std::smatch m;
        if (std::regex_search(log, m, said)) {
          QCOMPARE(std::stoll(m[1]), step);
          ++resumed;
        }
      }
      if (fs::exists(run + "/last.partial") || fs::exists(run + "/best.partial")) ++in_write;
      step = checkAllLoad(run);
      if (first_step < 0) first_step = step;
      QVERIFY2(step >= 0, ("round " + std::to_string(rounds) + ": no last/ checkpoint; log:\n" + log).c_str());
    }
    qInfo("%d kill rounds (%d inside a checkpoint write), %d resumes checked, last step %lld", rounds, in_write,
          resumed, static_cast<long long>(step));
    QVERIFY2(in_write >= 1, "no kill landed inside a checkpoint write, even aimed ones");
    QVERIFY2(resumed == rounds - 1, "every resumed process said where it continued");
    QVERIFY2(step > first_step, "the run made progress across the kills");
  }

  void fileSizeLimitFailsTheSaveAndKeepsThePreviousCheckpoint() {
    const std::string run = dir("full");
    const auto first = test::cli(trainArgs(run, 4));
    QVERIFY2(first.code == 0, first.err.c_str());
    const std::string weights = test::slurp(run + "/last/model.safetensors");
    QCOMPARE(read_trainer_state(run + "/last").step, int64_t(4));

    // ulimit -f (1 KiB blocks) below the model's size: writing it fails with EFBIG, as a
    // full disk fails with ENOSPC. XFSZ is ignored so the write fails instead of killing.
    const qint64 limit_kib = static_cast<qint64>(weights.size()) / 1024 / 2;
    QStringList args = trainArgs(run, 8) << "--resume";
    QString cmd = QString("ulimit -f %1; trap '' XFSZ; exec \"$0\" \"$@\"").arg(limit_kib);
    QProcess p;
    p.start("bash", QStringList{"-c", cmd, LATENT_CLI} + args);
    QVERIFY(p.waitForFinished(120000));
    const std::string err = p.readAllStandardError().toStdString();
    QCOMPARE(p.exitCode(), 1);
    LATENT_VERIFY_CONTAINS(err, "cannot save the checkpoint of step 6");
    LATENT_VERIFY_CONTAINS(err, "File too large");
    LATENT_VERIFY_CONTAINS(err, "the previous checkpoint in " + run + "/last is intact");
    QVERIFY2(err.find("std::") == std::string::npos && err.find("json.exception") == std::string::npos, err.c_str());
    QCOMPARE(test::slurp(run + "/last/model.safetensors"), weights);
    QCOMPARE(read_trainer_state(run + "/last").step, int64_t(4));
    QVERIFY(!fs::exists(run + "/last.partial"));
    load_model(run + "/last");

    // With room again, the same resume goes on from step 4.
    const auto again = test::cli(trainArgs(run, 8) << "--resume");
    QVERIFY2(again.code == 0, again.err.c_str());
    QCOMPARE(read_trainer_state(run + "/last").step, int64_t(8));
  }
};

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "test_crash_safety.moc"
