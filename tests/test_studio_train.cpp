// The Train view, offscreen, with real (tiny) training on the training worker's thread:
// curve points arrive, pause stops them, resume restarts them, stop ends the run with a
// checkpoint; inference during training uses the live snapshot; closing the window
// mid-training asks, saves (or not) and exits cleanly; invalid settings show inline.
#include <QApplication>
#include <QDir>
#include <QPlainTextEdit>
#include <QCheckBox>
#include <QComboBox>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QThread>
#include <filesystem>
#include <fstream>

#include "corpus_view.h"
#include "data/corpus.h"
#include "main_window.h"
#include "resource_paths.h"
#include "external_run.h"
#include "run_watcher.h"
#include "model/model_io.h"
#include "train/trainer.h"
#include "test_util.h"
#include "views/loss_plot.h"
#include "views/model_panel.h"
#include "views/reconstruct_view.h"
#include "views/train_view.h"

using namespace latent;
namespace fs = std::filesystem;

class TestStudioTrain : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString corpus_;

  void save(QWidget* w, const char* name) { QVERIFY(w->grab().save(QString::fromStdString(test::artifact(name)))); }

  static QPushButton* button(QWidget* parent, const QString& text) {
    for (auto* b : parent->findChildren<QPushButton*>())
      if (b->text() == text) return b;
    return nullptr;
  }

  // A window on a 300-sentence corpus with the tiny preset and a run folder in tmp.
  void prepare(ui::MainWindow& w, const QString& run, int steps) {
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.corpusView()->loadCorpus(corpus_));
    w.tabs()->setCurrentWidget(w.trainView());
    w.trainView()->setPreset("tiny");
    w.trainView()->setSteps(steps);
    w.trainView()->setOutDir(tmp_.filePath(run));
    QVERIFY2(w.trainView()->isConfigValid(), qPrintable(w.trainView()->validationMessage()));
  }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    qputenv("LATENT_RESOURCE_DIR", QByteArray(LATENT_CORPUS_DIR "/.."));
    auto sentences = load_corpus(test::corpusFile("valid.txt")).sentences;
    sentences.resize(300);
    corpus_ = tmp_.filePath("corpus.txt");
    std::ofstream out(corpus_.toStdString());
    for (const auto& s : sentences) out << s << '\n';
  }

  void trainingAddsPointsPauseStopsThemStopEnds() {
    ui::MainWindow w;
    prepare(w, "run-a", 100000);
    ui::TrainView* tv = w.trainView();
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    QTest::mouseClick(button(tv, "Start"), Qt::LeftButton);
    QVERIFY(w.isTraining());
    QTRY_VERIFY_WITH_TIMEOUT(tv->lossPlot()->pointCount() > 20, 60000);

    // Mid-training inference runs on the latest snapshot of the weights.
    w.tabs()->setCurrentWidget(w.reconstructView());
    auto* input = w.reconstructView()->findChild<QPlainTextEdit*>();
    input->setPlainText("the cat sat on the mat");
    w.reconstructView()->run();
    QTRY_COMPARE_WITH_TIMEOUT(w.reconstructView()->resultCount(), 1, 30000);
    QVERIFY(w.modelStatus().contains("training snapshot"));
    // A folder opened mid-run wins over the snapshots that keep coming.
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(ui::defaultModelPath());
    QVERIFY(ready.wait(30000));
    const int before = tv->lossPlot()->pointCount();
    QTRY_VERIFY_WITH_TIMEOUT(tv->lossPlot()->pointCount() > before + 60, 30000);  // new snapshots were published
    input->setPlainText("a dog ran in the park");
    w.reconstructView()->run();
    QTRY_VERIFY_WITH_TIMEOUT(w.reconstructView()->resultsText().startsWith("a dog ran in the park -> "), 30000);
    QVERIFY2(w.modelStatus().contains("default"), qPrintable(w.modelStatus()));
    w.tabs()->setCurrentWidget(tv);

    QTest::mouseClick(button(tv, "Pause"), Qt::LeftButton);
    QVERIFY(button(tv, "Resume"));
    QTest::qWait(800);  // the step in progress ends and its point is drained
    const int paused = tv->lossPlot()->pointCount();
    QTest::qWait(1200);
    QCOMPARE(tv->lossPlot()->pointCount(), paused);
    QTest::mouseClick(button(tv, "Resume"), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(tv->lossPlot()->pointCount() > paused + 5, 30000);
    save(tv, "train_view.png");

    QTest::mouseClick(button(tv, "Stop"), Qt::LeftButton);
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.at(0).at(0).toInt(), 1);  // stopped
    QVERIFY(!w.isTraining());
    QVERIFY(fs::exists(tmp_.filePath("run-a/last/trainer_state.json").toStdString()));
    QVERIFY(tv->logText().contains("stopped at step"));
    // Curves export as CSV (one line per step) and as images.
    QVERIFY(w.exportCurves(tmp_.filePath("curves.csv")));
    QVERIFY(w.exportCurves(tmp_.filePath("curves.pdf")));
    const std::string csv = test::slurp(tmp_.filePath("curves.csv").toStdString());
    QVERIFY(std::count(csv.begin(), csv.end(), '\n') > tv->lossPlot()->pointCount());
    QVERIFY(fs::file_size(tmp_.filePath("curves.pdf").toStdString()) > 1000);
  }

  // Start from a model imported from Hugging Face folders: its tokenizers and weights,
  // DMLP's trainable set ticked for it.
  void trainingStartsFromAnImportedModel() {
    const QString model = tmp_.filePath("imported");
    const test::CliRun r = test::cli({"import-hf", "--encoder", QString::fromStdString(test::fixture("dmlp/trained/bert")),
                                      "--decoder", QString::fromStdString(test::fixture("dmlp/trained/gpt2")), "--out", model,
                                      "--preset", "tiny", "--latent", "8"});
    QVERIFY2(r.code == 0, r.err.c_str());
    ui::MainWindow w;
    prepare(w, "run-init", 6);
    ui::TrainView* tv = w.trainView();
    auto* dmlpOnly = tv->findChild<QCheckBox*>("dmlpTrainable");
    QVERIFY(dmlpOnly && !dmlpOnly->isChecked());
    tv->setInitModel(tmp_.filePath("no-such-model"));
    QVERIFY(!tv->isConfigValid());
    QVERIFY2(tv->validationMessage().contains("Start from: ") && tv->validationMessage().contains("does not exist"),
             qPrintable(tv->validationMessage()));
    tv->setInitModel(tmp_.path());  // a folder, but not a model's
    QVERIFY(!tv->isConfigValid());
    QVERIFY(tv->validationMessage().contains("not a model folder"));
    tv->setInitModel(model);
    QTRY_VERIFY(tv->isConfigValid());
    QVERIFY(dmlpOnly->isChecked());
    tv->setPreset("small");  // the starting model's training settings still win over a preset's
    tv->setSteps(6);
    QVERIFY(dmlpOnly->isChecked());
    QTRY_VERIFY(tv->isConfigValid());
    save(tv, "train_view_start_from.png");
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    tv->start();
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.at(0).at(0).toInt(), 0);
    QVERIFY2(tv->logText().contains("tokenizer encoder wordpiece"), qPrintable(tv->logText()));
    QVERIFY(tv->logText().contains("starting from the model in"));
    QVERIFY(fs::exists(tmp_.filePath("run-init/last/decoder_tokenizer/vocab.json").toStdString()));
    const auto j = test::readJson(tmp_.filePath("run-init/last/config.json").toStdString());
    QCOMPARE(j["train"]["trainable"].get<std::string>(), std::string("dmlp"));
    QCOMPARE(j["model"]["latent_dim"].get<int>(), 8);  // the imported model's shapes, not the form's
    QCOMPARE(j["train"]["ddpm_detach_steps"].get<int>(), 0);  // DMLP's (import-hf), not small's (all steps)
    QCOMPARE(j["train"]["warmup_steps"].get<int>(), 20);      // the imported model's (tiny), not small's 300
    QCOMPARE(j["train"]["lr"].get<double>(), 9e-5);           // the imported model's (DMLP's)
    // Back to training from scratch: the preset's settings return with it.
    tv->setInitModel(QString());
    QVERIFY(!dmlpOnly->isChecked());
    const auto scratch = nlohmann::json::parse(tv->configJson().toStdString());
    QCOMPARE(scratch["train"]["lr"].get<double>(), 2e-3);  // small's
    QCOMPARE(scratch["model"]["encoder"]["hidden"].get<int>(), 128);
  }

  void shortTrainingFinishesAndLoadsItsModel() {
    ui::MainWindow w;
    prepare(w, "run-b", 40);
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.trainView()->start();
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.at(0).at(0).toInt(), 0);  // finished
    QCOMPARE(w.trainView()->lossPlot()->pointCount(), 40);
    QVERIFY(w.trainView()->lossPlot()->evalCount() >= 1);
    QVERIFY(w.trainView()->logText().contains("reconstruction BLEU"));
    // The run's model is opened once it is written. The default model that the window
    // opened at start may answer first when loading is slow (under ThreadSanitizer it
    // did): what counts is that the run's model is the one open in the end.
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY2_WITH_TIMEOUT(w.modelDir().contains("run-b"), qPrintable(w.modelDir()), 20000);
    // The finished run's folder is taken: starting again there is refused inline.
    w.trainView()->setOutDir(tmp_.filePath("run-b"));
    QVERIFY(!w.trainView()->isConfigValid());
    QVERIFY(w.trainView()->validationMessage().contains("already holds a run"));
  }

  // File > Open run folder: a run that latent-cli writes in another process is followed
  // live (curve points, evaluations, its checkpoints opened for the inference views); a
  // malformed line is reported in the log, not fatal; when the writer is killed, the run
  // reads as stopped, its process gone. Then the writer resumes and the watcher goes on.
  void followsARunWrittenByAnotherProcess() {
    ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QString run = tmp_.filePath("external");
    QVERIFY(QDir().mkpath(run));
    test::spit((run + "/metrics.jsonl").toStdString(), "{\"type\": \"train\", \"step\": \n{not json\n");
    test::spit(tmp_.filePath("external.json").toStdString(), R"({"train": {"log_every": 5, "eval_every": 40, "eval_sentences": 20}})");
    const QStringList args{"train", "--corpus", corpus_, "--out", run, "--preset", "tiny", "--config",
                           tmp_.filePath("external.json"), "--steps", "100000", "--threads", "1"};
    QProcess writer;
    writer.start(LATENT_CLI, args);
    QVERIFY(writer.waitForStarted());
    QVERIFY(w.watchRun(run, 60));
    QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.trainView()));
    QTRY_VERIFY_WITH_TIMEOUT(w.trainView()->lossPlot()->pointCount() >= 4, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(w.trainView()->lossPlot()->evalCount() >= 1, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(w.modelDir().contains("external"), 60000);  // its checkpoint, opened
    QCOMPARE(w.runWatcher()->state(), ui::RunWatcher::Running);
    const QString log = w.trainView()->logText();
    QVERIFY2(log.contains("metrics.jsonl line 2: not a metrics object"), qPrintable(log));
    QVERIFY(log.contains("reconstruction BLEU"));
    save(&w, "studio_follow_run.png");

    writer.kill();
    QVERIFY(writer.waitForFinished());
    QTRY_COMPARE_WITH_TIMEOUT(w.runWatcher()->state(), ui::RunWatcher::ProcessGone, 10000);
    QVERIFY(w.trainView()->logText().contains("its process is gone"));

    const int before = w.trainView()->lossPlot()->pointCount();
    QStringList resume = args;
    resume << "--resume";
    writer.start(LATENT_CLI, resume);
    QTRY_VERIFY_WITH_TIMEOUT(w.trainView()->lossPlot()->pointCount() > before, 60000);
    QCOMPARE(w.runWatcher()->state(), ui::RunWatcher::Running);
    writer.kill();
    writer.waitForFinished();
  }

  // "In a separate process, as 2 data-parallel processes": the window starts latent-cli
  // --nproc 2, follows its folder (points, evaluations), and Stop makes every process stop
  // after the same step with a checkpoint; the run then reads as ended and Start is back.
  void separateProcessRunIsFollowedAndStopped() {
    ui::MainWindow w;
    prepare(w, "run-separate", 100000);
    QCheckBox* separate = nullptr;
    for (auto* c : w.trainView()->findChildren<QCheckBox*>())
      if (c->text().startsWith("In a separate process")) separate = c;
    QVERIFY(separate);
    qputenv("LATENT_CLI", LATENT_CLI);  // the test binary is not beside latent-cli
    separate->setChecked(true);
    auto* processes = w.trainView()->findChild<QSpinBox*>();
    for (auto* sp : w.trainView()->findChildren<QSpinBox*>())
      if (sp->suffix().contains("data-parallel")) processes = sp;
    QVERIFY(processes && processes->isEnabled());
    processes->setValue(2);
    w.trainView()->start();
    QTRY_VERIFY_WITH_TIMEOUT(w.externalRun()->alive(), 10000);
    QVERIFY(!w.isTraining());  // not in this window's process
    QTRY_VERIFY_WITH_TIMEOUT(w.trainView()->lossPlot()->pointCount() >= 3, 60000);
    QVERIFY(!button(w.trainView(), "Pause")->isEnabled());
    QVERIFY(w.trainView()->logText().contains("2 data-parallel processes"));
    button(w.trainView(), "Stop")->click();
    QTRY_COMPARE_WITH_TIMEOUT(w.runWatcher()->state(), ui::RunWatcher::Ended, 60000);
    QTRY_VERIFY_WITH_TIMEOUT(!w.externalRun()->alive(), 20000);
    const QString log = w.trainView()->logText();
    QVERIFY2(log.contains("(stopped)"), qPrintable(log));
    QVERIFY(fs::exists(tmp_.filePath("run-separate/last/model.safetensors").toStdString()));
    const std::string out = test::slurp(tmp_.filePath("run-separate/train.log").toStdString());
    QVERIFY2(out.find("rank 0 of 2 processes") != std::string::npos, out.c_str());
    QTRY_VERIFY_WITH_TIMEOUT(button(w.trainView(), "Start")->isEnabled(), 10000);
  }

  void closingMidTrainingSavesAndExits() {
    auto* w = new ui::MainWindow;
    prepare(*w, "run-c", 100000);
    w->trainView()->start();
    QTRY_VERIFY_WITH_TIMEOUT(w->trainView()->lossPlot()->pointCount() > 3, 60000);
    int asked = 0;
    w->setClosePrompt([&] { return ++asked == 1 ? QMessageBox::Cancel : QMessageBox::Save; });
    QVERIFY(!w->close());  // Cancel keeps the window and the run
    QVERIFY(w->isVisible() && w->isTraining());
    QVERIFY(w->close());   // Save: stop after the current step, write last/, end the threads
    QCOMPARE(asked, 2);
    const auto state = test::readJson(tmp_.filePath("run-c/last/trainer_state.json").toStdString());
    QVERIFY(state.at("step").get<int>() >= 3);
    delete w;
  }

  void closingMidTrainingWithoutSavingKeepsTheEarlierCheckpoint() {
    auto* w = new ui::MainWindow;
    prepare(*w, "run-d", 100000);
    w->trainView()->findChild<QPlainTextEdit*>("overrides")->setPlainText(R"({"train": {"eval_every": 50}})");
    QTRY_VERIFY(w->trainView()->isConfigValid());
    w->trainView()->start();
    // Pause between the checkpoint of step 50 and the next one, then close without saving.
    QTRY_VERIFY_WITH_TIMEOUT(w->trainView()->lossPlot()->pointCount() > 50, 60000);
    QTest::mouseClick(button(w->trainView(), "Pause"), Qt::LeftButton);
    QTest::qWait(500);
    QVERIFY(w->trainView()->lossPlot()->pointCount() < 100);
    w->setClosePrompt([] { return QMessageBox::Discard; });
    QVERIFY(w->close());
    delete w;
    // last/ holds step 50's checkpoint, intact and loadable: the current step was not saved.
    const QString last = tmp_.filePath("run-d/last");
    const auto state = test::readJson((last + "/trainer_state.json").toStdString());
    QCOMPARE(state.at("step").get<int>(), 50);
    QVERIFY(load_model(last.toStdString()).model);
  }

  // The Latent design box applies a seed design over the form; the overrides still come
  // after it; a starting model fixes the design (the box is disabled) and keeps its own
  // trainable set.
  void latentDesignBoxSetsTheDesignsKeys() {
    ui::MainWindow w;
    prepare(w, "run-design", 500);
    ui::TrainView* tv = w.trainView();
    auto* design = tv->findChild<QComboBox*>("design");
    QVERIFY(design);
    QCOMPARE(design->count(), 5);  // none, then the four designs
    design->setCurrentIndex(design->findData("davae"));
    QTRY_VERIFY(tv->isConfigValid());
    auto config = nlohmann::json::parse(tv->configJson().toStdString());
    QCOMPARE(config["model"]["regularizer"].get<std::string>(), std::string("adversarial"));
    QVERIFY(config["model"]["decoder"]["latent_every_layer"].get<bool>());
    QCOMPARE(config["model"]["encoder"]["hidden"].get<int>(), 64);  // the tiny preset's shapes stay
    design->setCurrentIndex(design->findData("optimus"));
    auto* overrides = tv->findChild<QPlainTextEdit*>("overrides");
    overrides->setPlainText(R"({"model": {"free_bits": 0.25}})");
    QTRY_VERIFY(tv->isConfigValid());
    config = nlohmann::json::parse(tv->configJson().toStdString());
    QCOMPARE(config["model"]["kl_schedule"].get<std::string>(), std::string("optimus"));
    QCOMPARE(config["model"]["kl_anneal_steps"].get<int>(), 500);  // the cycle spans the run
    QCOMPARE(config["model"]["free_bits"].get<double>(), 0.25);
    overrides->clear();
    // t5-vae's latent: 4 tokens through token pooling; a short run trains it from the view
    // and the studio opens the result.
    design->setCurrentIndex(design->findData("t5vae"));
    QTRY_VERIFY(tv->isConfigValid());
    config = nlohmann::json::parse(tv->configJson().toStdString());
    QCOMPARE(config["model"]["latent_tokens"].get<int>(), 4);
    QCOMPARE(config["model"]["encoder"]["pooling"].get<std::string>(), std::string("tokens"));
    tv->setSteps(20);
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    tv->start();
    QVERIFY(finished.wait(60000));
    QCOMPARE(finished.at(0).at(0).toInt(), 0);
    QVERIFY(ready.wait(20000));
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->summaryText().contains("latent as 4 tokens of 4"), 20000);
    design->setCurrentIndex(0);
    tv->setOutDir(tmp_.filePath("run-design-2"));
    // A starting model whose recipe trains only the latent parts keeps that set.
    const QString start = tmp_.filePath("latent-only");
    Config c = preset("tiny");
    c.train.steps = 2;
    c.train.eval_every = 0;
    TrainOptions o;
    o.config = c;
    o.out_dir = start.toStdString();
    o.train_sentences = load_corpus(corpus_.toStdString()).sentences;
    o.valid_sentences = o.train_sentences;
    TrainControl control;
    QVERIFY(train(o, control).status == TrainResult::Status::Finished);
    auto saved = test::readJson(start.toStdString() + "/best/config.json");
    saved["train"]["trainable"] = "latent";
    test::spit(start.toStdString() + "/best/config.json", saved.dump());
    tv->setInitModel(start + "/best");
    QTRY_VERIFY(tv->isConfigValid());
    QVERIFY(!design->isEnabled());
    config = nlohmann::json::parse(tv->configJson().toStdString());
    QCOMPARE(config["train"]["trainable"].get<std::string>(), std::string("latent"));
    QCOMPARE(config["model"]["regularizer"].get<std::string>(), std::string("none"));  // the model's own
  }

  void invalidSettingsShowInlineAndDisableStart() {
    ui::MainWindow w;
    prepare(w, "run-e", 10);
    auto* overrides = w.trainView()->findChild<QPlainTextEdit*>("overrides");
    QVERIFY(overrides);
    overrides->setPlainText(R"({"model": {"encoder": {"heads": 5}}})");
    QTRY_VERIFY(!w.trainView()->isConfigValid());
    QVERIFY(w.trainView()->validationMessage().contains("model.encoder"));
    QVERIFY(!button(w.trainView(), "Start")->isEnabled());
    // A thread count beyond kMaxThreads is refused by name, as in the CLI and config files.
    overrides->setPlainText(R"({"train": {"threads": 4096}})");
    QTRY_VERIFY2(w.trainView()->validationMessage().contains("train.threads: must be 0 (all cores) to 1024"),
                 qPrintable(w.trainView()->validationMessage()));
    QVERIFY(!w.trainView()->isConfigValid());
    QVERIFY(!button(w.trainView(), "Start")->isEnabled());
    overrides->setPlainText("{not json");
    QTRY_VERIFY(w.trainView()->validationMessage().contains("Overrides"));
    overrides->clear();
    QTRY_VERIFY(w.trainView()->isConfigValid());
  }

  void badCorpusFileFailsTheRunWithAMessage() {
    ui::MainWindow w;
    prepare(w, "run-f", 10);
    ui::TrainRequest r;
    r.corpusPath = tmp_.filePath("does-not-exist.txt");
    r.outDir = tmp_.filePath("run-f");
    r.configJson = w.trainView()->configJson();
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    QSignalSpy error(&w, &ui::MainWindow::errorShown);
    Q_EMIT w.trainView()->startRequested(r);
    QVERIFY(finished.wait(20000));
    QCOMPARE(finished.at(0).at(0).toInt(), 2);  // failed
    QVERIFY(error.count() >= 1);
    QVERIFY(error.at(0).at(0).toString().contains("does-not-exist.txt"));
    QVERIFY(w.isVisible());
  }
};

QTEST_MAIN(TestStudioTrain)
#include "test_studio_train.moc"
