// The studio window, offscreen: it opens on the default corpus and survives a bad one.
#include <QApplication>
#include <QMessageBox>
#include <QTemporaryDir>

#include "corpus_view.h"
#include "main_window.h"
#include "test_util.h"

using namespace latent;

class TestStudio : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { qputenv("LATENT_RESOURCE_DIR", QByteArray(LATENT_CORPUS_DIR "/..")); }

  void opensOnTheDefaultCorpus() {
    ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.corpusView()->corpusPath().endsWith("corpus/train.txt"));
    QVERIFY(w.corpusView()->keptSentences() > 40000);
    QVERIFY(w.corpusView()->grab().save(QString::fromStdString(test::artifact("corpus_view.png"))));
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
    const auto boxes = w.findChildren<QMessageBox*>();
    QCOMPARE(boxes.size(), 1);
    QVERIFY(boxes[0]->text().contains("missing.txt"));
    QVERIFY(w.corpusView()->corpusPath().endsWith("corpus/train.txt"));  // the last good corpus stays
  }
};

QTEST_MAIN(TestStudio)
#include "test_studio.moc"
