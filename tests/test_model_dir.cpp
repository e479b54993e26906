// Model directory: config.json validation, header-only summaries, atomic writes.
#include <ATen/ATen.h>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <filesystem>
#include <fstream>
#include <functional>

#include <thread>

#include "io/model_dir.h"
#include "model/model_io.h"
#include "model/weight_init.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "train/metrics_log.h"
#include "util/alloc_budget.h"
#include "util/atomic_file.h"
#include "util/error.h"

using namespace latent;

class TestModelDir : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

  std::string makeModel(const std::string& name) {
    const std::string dir = tmp_.filePath(QString::fromStdString(name)).toStdString();
    std::filesystem::create_directories(dir);
    io::save(io::join(dir, io::files::kWeights),
             {{"encoder.embeddings.word_embeddings.weight", at::zeros({10, 4})},
              {"encoder.pooler.dense.weight", at::zeros({4, 4})},
              {"decoder.transformer.wte.weight", at::zeros({10, 4})},
              {"eps_model.layers.0.weight", at::zeros({8, 4}, at::kHalf)}});
    TokenizerTrainOptions opt;
    opt.vocab_size = 300;
    Tokenizer::train({"a small corpus", "for the tokenizer"}, opt).save(io::join(dir, io::files::kTokenizer));
    io::write_json_file(io::join(dir, io::files::kConfig), {{"format_version", 1}, {"latent_dim", 4}});
    return dir;
  }

 private Q_SLOTS:
  void summaryCountsParameters() {
    const auto s = io::summarize_model_dir(makeModel("m"));
    QCOMPARE(s.total_params, uint64_t(40 + 16 + 40 + 32));
    QCOMPARE(s.total_bytes, uint64_t((40 + 16 + 40) * 4 + 32 * 2));
    QCOMPARE(s.modules.size(), size_t(3));
    const auto enc = std::find_if(s.modules.begin(), s.modules.end(), [](const auto& m) { return m.module == "encoder"; });
    QVERIFY(enc != s.modules.end());
    QCOMPARE(enc->params, uint64_t(56));
    QCOMPARE(enc->tensors, size_t(2));
    QCOMPARE(s.submodules.size(), size_t(4));
    QVERIFY(s.tokenizer_vocab > 256);
    QVERIFY(!s.has_trainer_state);
    QCOMPARE(s.config["latent_dim"].get<int>(), 4);
  }

  void configErrorsNameFileAndKey() {
    const std::string dir = makeModel("bad");
    const std::string cfg = io::join(dir, io::files::kConfig);
    auto err = [&] { return test::errorOf([&] { io::read_model_config(dir); }); };
    test::spit(cfg, "{\"format_version\": 1,");
    LATENT_VERIFY_CONTAINS(err(), "invalid JSON");
    LATENT_VERIFY_CONTAINS(err(), cfg);
    test::spit(cfg, "{\"format_version\": 1e666}");  // found by fuzz_model_folder: json's out_of_range escaped
    LATENT_VERIFY_CONTAINS(err(), cfg + ": invalid JSON: number overflow parsing '1e666'");
    test::spit(cfg, "{}");
    LATENT_VERIFY_CONTAINS(err(), "format_version: missing");
    test::spit(cfg, "{\"format_version\": \"1\"}");
    LATENT_VERIFY_CONTAINS(err(), "must be an integer");
    test::spit(cfg, "{\"format_version\": 99}");
    LATENT_VERIFY_CONTAINS(err(), "99 is not supported");
    test::spit(cfg, "[]");
    LATENT_VERIFY_CONTAINS(err(), "not a JSON object");
    std::filesystem::remove(cfg);
    LATENT_VERIFY_CONTAINS(err(), "config.json is missing");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { io::read_model_config(dir + "/nope"); }), "does not exist");
  }

  // Loading builds the model without drawing the initial weights that the file replaces
  // (model/weight_init.h): it uses up as much of the generator as building under
  // SkipWeightDraws, less than building a fresh model, and the loaded tensors are the file's.
  // The skip is per thread and nests; init_normal draws N(0, std) otherwise.
  void loadingSkipsTheInitialWeightDraws() {
    const std::string dir = LATENT_FIXTURE_DIR "/../../resources/models/default";
    const LoadedModel loaded = load_model(dir);
    auto drawAfter = [](const std::function<void()>& build) {
      torch::manual_seed(5);
      build();
      return torch::randn({4});
    };
    const auto viaLoad = drawAfter([&] { load_model(dir); });
    const auto skipped = drawAfter([&] {
      SkipWeightDraws skip;
      VaeDdpm m(loaded.config.model, loaded.tokenizers);
    });
    const auto fresh = drawAfter([&] { VaeDdpm m(loaded.config.model, loaded.tokenizers); });
    QVERIFY(torch::equal(viaLoad, skipped));
    QVERIFY(!torch::equal(viaLoad, fresh));
    const auto file = io::load(io::join(dir, io::files::kWeights));
    auto params = loaded.model->named_parameters();
    int compared = 0;
    for (const auto& [name, t] : file)
      if (params.contains(name)) {
        QVERIFY2(torch::equal(params[name].detach(), t.to(params[name].scalar_type())), name.c_str());
        ++compared;
      }
    QCOMPARE(compared, static_cast<int>(params.size()));

    auto t = torch::zeros({4000});
    {
      SkipWeightDraws skip;
      { SkipWeightDraws inner; }
      QVERIFY(weight_draws_skipped());
      bool other = true;
      std::thread([&] { other = weight_draws_skipped(); }).join();
      QVERIFY(!other);
      init_normal(t, 0.02);
      QCOMPARE(t.abs().max().item<double>(), 0.0);
    }
    QVERIFY(!weight_draws_skipped());
    init_normal(t, 0.02);
    QVERIFY(std::abs(t.std().item<double>() - 0.02) < 0.002);
  }

  // A config.json whose sizes do not match the weights: an intermediate size of 3,000,000
  // would allocate 12 GB before the shapes are compared; the budget that the weights set
  // (4 x their bytes + 512 MiB) refuses it at once, naming the file.
  void sizesBeyondTheWeightsAreRefusedBeforeAllocating() {
    const std::string src = LATENT_FIXTURE_DIR "/../../resources/models/default";
    const std::string dir = tmp_.filePath("oversized").toStdString();
    std::filesystem::copy(src, dir, std::filesystem::copy_options::recursive);
    QVERIFY(load_model(dir).model);  // the real model fits its budget
    const std::string cfg = io::join(dir, io::files::kConfig);
    auto j = test::readJson(cfg);
    j["model"]["encoder"]["intermediate"] = 3000000;
    io::write_json_file(cfg, j);
    const std::string err = test::errorOf([&] { load_model(dir); });
    LATENT_VERIFY_CONTAINS(err, cfg + ": the model it describes needs more than");
    LATENT_VERIFY_CONTAINS(err, "model.safetensors holds");
    LATENT_VERIFY_CONTAINS(err, "its shapes do not match the weights");
    // A small mismatch fits the budget and is caught by the shape check, as before.
    j["model"]["encoder"]["intermediate"] = 600;
    io::write_json_file(cfg, j);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { load_model(dir); }), "tensor shapes do not match config.json");
  }

  void allocationBudgetChargesThisThreadOnly() {
    {
      AllocationBudget budget(1 << 20, "file.json", "the weights hold 1 MB: its shapes do not match the weights");
      QVERIFY(at::empty({1000}).defined());
      QVERIFY(budget.used() >= 4000);
      bool otherOk = false;
      std::thread other([&] { otherOk = at::empty({1 << 20}).defined(); });  // 4 MB on another thread
      other.join();
      QVERIFY(otherOk);
      {
        AllocationBudget inner(1 << 30, "inner", "none");  // the innermost budget is charged
        QVERIFY(at::empty({1 << 20}).defined());
      }
      const std::string err = test::errorOf([] { at::empty({1 << 20}); });
      LATENT_VERIFY_CONTAINS(err, "file.json: the model it describes needs more than 4.2 MB of memory, but the weights hold 1 MB");
    }
    QVERIFY(at::empty({1 << 20}).defined());  // no budget after the scope
  }

  // LibTorch's errors carry a C++ backtrace and its allocator failures are not
  // std::bad_alloc: what a user reads has neither the backtrace nor the allocator's jargon.
  void libraryErrorsReachUsersWithoutBacktraces() {
    std::string msg;
    try {
      at::ones({2}).view({3});
    } catch (const std::exception& e) {
      msg = user_message(e);
      QVERIFY(std::string(e.what()).find("frame #") != std::string::npos ||
              std::string(e.what()).find("Exception raised from") != std::string::npos);
    }
    LATENT_VERIFY_CONTAINS(msg, "shape '[3]' is invalid for input of size 2");
    QVERIFY2(msg.find("frame #") == std::string::npos && msg.find("Exception raised from") == std::string::npos, msg.c_str());
    QCOMPARE(out_of_memory_text("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                                "you tried to allocate 1536000000 bytes. Error code 12 (Cannot allocate memory)"),
             std::string("out of memory (an allocation of 1536000000 bytes failed)"));
    QCOMPARE(out_of_memory_text("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 139.8 GiB"),
             std::string("out of memory (an allocation of 2.00 GiB failed)"));
    QCOMPARE(out_of_memory_text("shape mismatch"), std::string());
    QCOMPARE(user_message(std::bad_alloc()), std::string("out of memory"));
  }

  void damagedWeightsFailCleanly() {
    const std::string dir = makeModel("damaged");
    const std::string w = io::join(dir, io::files::kWeights);
    std::string bytes = test::slurp(w);
    test::spit(w, bytes.substr(0, bytes.size() - 3));
    const std::string err = test::errorOf([&] { io::summarize_model_dir(dir); });
    LATENT_VERIFY_CONTAINS(err, w);
    LATENT_VERIFY_CONTAINS(err, "truncated");
  }

  // A run's metrics.jsonl as the Model panel reads it: lines cut by a crash, of another
  // shape or with fields of the wrong type are counted and skipped, never thrown.
  void metricsLogSkipsWhatIsNotMetrics() {
    const std::string text =
        R"({"type": "train", "step": 1, "loss": 2.5, "rec": 2.0})" "\n"
        R"({"type": "eval", "step": 2, "bleu": 10.5, "n": 4, "samples": ["a"]})" "\n"
        R"({"type": "train", "step": "3", "loss": 1.0})" "\n"   // step not an integer
        R"({"type": "eval", "step": 4, "bleu": "high"})" "\n"    // bleu ignored, line kept
        "[1, 2]\n\n"
        R"({"type": "train", "step": 5, "loss": 1.5)";            // cut by a crash
    const MetricsLog log = parse_metrics_log(text, 1);
    QCOMPARE(log.lines, size_t(6));
    QCOMPARE(log.skipped, size_t(3));
    QVERIFY(log.last_train.has_value());
    QCOMPARE(log.last_train->step, int64_t(1));
    QCOMPARE(log.last_train->value("loss"), 2.5);
    QCOMPARE(log.evals.size(), size_t(1));  // keep_evals = 1: the last one
    QCOMPARE(log.evals[0].step, int64_t(4));
    QCOMPARE(log.evals[0].value("bleu", -1), -1.0);
    QCOMPARE(read_metrics_log(tmp_.filePath("no-such.jsonl").toStdString()).lines, size_t(0));
  }

  // A growing metrics.jsonl followed by another process (the studio's Open run folder):
  // complete lines only, an unfinished last line waits, malformed and over-long lines are
  // described and skipped, a file that shrank is read again from its start.
  void metricsTailFollowsAGrowingFile() {
    const std::string p = tmp_.filePath("tail.jsonl").toStdString();
    MetricsTail tail(p);
    QVERIFY(tail.poll().lines.empty());  // not there yet
    auto append = [&](const std::string& bytes) {
      std::ofstream out(p, std::ios::app | std::ios::binary);
      out << bytes;
    };
    append(std::string(R"({"type": "train", "step": 1, "loss": 2.5})") + "\n" +
           R"({"type": "eval", "step": 1, "bleu": 3, "samples": ["a b", 7]})" + "\n" + "{\"type\": \"tr");
    auto u = tail.poll();
    QCOMPARE(u.lines.size(), size_t(2));
    QCOMPARE(u.lines[0].value("loss"), 2.5);
    QCOMPARE(u.lines[1].samples, std::vector<std::string>{"a b"});
    QVERIFY(u.problems.empty());
    append(std::string("ain\", \"step\": 2, \"loss\": 2.0}") + "\n" + "not json\n" +
           std::string(kMaxMetricsLineBytes + 10, 'x') + "\n" +
           R"({"type": "end", "step": 2, "status": "stopped", "message": "m"})" + "\n");
    u = tail.poll(600 << 10);  // the over-long line arrives in pieces
    while (true) {
      const auto more = tail.poll(600 << 10);
      if (more.lines.empty() && more.problems.empty()) break;
      u.lines.insert(u.lines.end(), more.lines.begin(), more.lines.end());
      u.problems.insert(u.problems.end(), more.problems.begin(), more.problems.end());
    }
    QCOMPARE(u.lines.size(), size_t(2));
    QCOMPARE(u.lines[0].step, int64_t(2));  // the line that was split between two polls
    QCOMPARE(u.lines[1].type, std::string("end"));
    QCOMPARE(u.lines[1].texts.at("status"), std::string("stopped"));
    QCOMPARE(u.problems.size(), size_t(2));
    LATENT_VERIFY_CONTAINS(u.problems[0], "tail.jsonl line 4: not a metrics object");
    LATENT_VERIFY_CONTAINS(u.problems[1], "line 5: longer than");
    write_file_atomic(p, std::string(R"({"type": "train", "step": 1, "loss": 9})") + "\n");  // a new run in the folder
    u = tail.poll();
    QVERIFY(u.restarted);
    QCOMPARE(u.lines.size(), size_t(1));
    QCOMPARE(u.lines[0].value("loss"), 9.0);
  }

  void atomicWriteKeepsOldFileOnFailure() {
    const std::string p = tmp_.filePath("atomic.txt").toStdString();
    write_file_atomic(p, std::string("old contents"));
    const std::string err = test::errorOf([&] {
      write_file_atomic(p, [](std::ostream& out) {
        out << "half written";
        throw std::runtime_error("simulated crash during save");
      });
    });
    LATENT_VERIFY_CONTAINS(err, "simulated crash");
    QCOMPARE(test::slurp(p), std::string("old contents"));
    for (const auto& e : std::filesystem::directory_iterator(tmp_.path().toStdString()))
      QVERIFY2(e.path().filename().string().find(".tmp-") == std::string::npos, e.path().c_str());
  }
};

QTEST_GUILESS_MAIN(TestModelDir)
#include "test_model_dir.moc"
