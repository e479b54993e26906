// The studio window, offscreen: opens on the default corpus, loads a model on its
// worker thread, reconstructs typed sentences, survives a damaged model and a bad corpus.
#include <QApplication>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <filesystem>

#include "corpus_view.h"
#include "data/corpus.h"
#include "main_window.h"
#include "test_util.h"
#include "train/trainer.h"
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
    save(w.corpusView(), "corpus_view.png");
  }

  void typingASentenceShowsItsReconstruction() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(model_);
    QVERIFY(ready.wait(20000));
    QVERIFY(w.modelPanel()->summaryText().contains("parameters"));
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
