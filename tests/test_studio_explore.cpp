// The whole-space views in the real window, offscreen. Latent map: the map fills from a
// corpus file, hovering shows the sentence under the cursor, a click fills Reconstruct,
// Ctrl+click on a second point fills Interpolate (and the path is drawn on the map),
// generation frames are drawn, a lasso selects and saves a set, cancel and bad files leave
// the window working, and a second map of the same corpus comes from the cache.
// Directions: a direction from two typed sets moves the decoded sentence as the slider
// moves, is saved with the model and listed in the Model panel; the analogy panel answers;
// the Model panel draws the robustness curve of eval.json.
#include <QApplication>
#include <QDir>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPushButton>
#include <QSlider>
#include <filesystem>
#include <QStandardPaths>
#include <QTabWidget>
#include <cmath>
#include <QTemporaryDir>

#include "data/corpus.h"
#include "main_window.h"
#include "resource_paths.h"
#include "test_util.h"
#include "views/generate_view.h"
#include "views/interpolate_view.h"
#include "views/directions_view.h"
#include "views/latent_map_view.h"
#include "views/model_panel.h"
#include "views/point_cloud.h"
#include "views/reconstruct_view.h"

using namespace latent;

namespace {

void mouse(QWidget* w, QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons,
           Qt::KeyboardModifiers mods = Qt::NoModifier) {
  QMouseEvent e(type, pos, w->mapToGlobal(pos), button, buttons, mods);
  QApplication::sendEvent(w, &e);
}

}  // namespace

class TestStudioExplore : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

  // A window on the default model with the map of valid.txt (1k sentences) shown.
  struct Mapped {
    ui::MainWindow w;
    ui::LatentMapView* v = nullptr;
    ui::PointCloud* cloud = nullptr;
  };
  bool open(Mapped& m, const QString& corpus) {
    m.w.resize(1280, 860);
    m.w.show();
    QSignalSpy ready(&m.w, &ui::MainWindow::modelReady);
    m.w.openModel(ui::defaultModelPath());
    if (!ready.wait(30000)) return false;
    m.v = m.w.mapView();
    m.cloud = m.v->cloud();
    m.w.tabs()->setCurrentWidget(m.v);
    m.v->mapCorpus(corpus);
    return QTest::qWaitFor([&] { return !m.v->busy(); }, 120000);
  }
  void save(QWidget* w, const char* name) { QVERIFY(w->grab().save(QString::fromStdString(test::artifact(name)))); }

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    qputenv("LATENT_RESOURCE_DIR", QByteArray(LATENT_CORPUS_DIR "/.."));
    // Test mode puts the cache under ~/.qttest: start without an earlier run's maps.
    QDir(QStandardPaths::writableLocation(QStandardPaths::CacheLocation)).removeRecursively();
  }

  void mapFillsAndHoverShowsTheSentence() {
    Mapped m;
    const QString corpus = QString::fromStdString(test::corpusFile("valid.txt"));
    QVERIFY(open(m, corpus));
    const int n = m.v->map().sentences.size();
    QVERIFY2(n > 1000, qPrintable(m.v->infoText()));
    QCOMPARE(m.cloud->count(), n);
    QVERIFY2(m.v->infoText().contains("PCA: PC1"), qPrintable(m.v->infoText()));
    QVERIFY(!m.v->map().fromCache);
    // Hover the pixel of point 17: the label reads its sentence.
    const QPointF px = m.cloud->toPixel(m.cloud->point(17));
    mouse(m.cloud, QEvent::MouseMove, px, Qt::NoButton, Qt::NoButton);
    const int under = m.cloud->pointAt(px);
    QVERIFY(under >= 0);
    QCOMPARE(m.v->hoverText(), m.v->map().sentences[under]);
    QCOMPARE(m.cloud->point(under), m.cloud->point(17));  // the same place (17 itself, or one drawn on it)
    // Colours: by length, then by a regular expression.
    m.v->setColorMode("length");
    QVERIFY2(m.v->legend().startsWith("length:"), qPrintable(m.v->legend()));
    m.v->setColorMode("regex");
    m.v->setRegex("\\bthe\\b");
    QVERIFY2(m.v->legend().contains("match (orange)"), qPrintable(m.v->legend()));
    m.v->setRegex("(unclosed");
    QVERIFY(m.v->legend().startsWith("invalid"));
    m.v->setColorMode("length");
    // Zoom and pan change the view; double-click fits again.
    const QRectF fit = m.cloud->viewRect();
    m.cloud->zoomAt(px, 4);
    QVERIFY(m.cloud->viewRect().width() < fit.width() / 3);
    mouse(m.cloud, QEvent::MouseButtonDblClick, px, Qt::LeftButton, Qt::LeftButton);
    QCOMPARE(m.cloud->viewRect(), fit);
    save(m.v, "latent_map.png");

    // The same corpus and model again: from the cache.
    m.v->mapCorpus(corpus);
    QVERIFY(QTest::qWaitFor([&] { return !m.v->busy(); }, 60000));
    QVERIFY(m.v->map().fromCache);
    QVERIFY(m.v->infoText().contains("from the cache"));
  }

  void clicksFillReconstructAndInterpolate() {
    Mapped m;
    QVERIFY(open(m, QString::fromStdString(test::corpusFile("valid.txt"))));
    QSignalSpy interpolated(m.w.interpolateView(), &ui::InterpolateView::requestInterpolate);
    mouse(m.cloud, QEvent::MouseButtonPress, m.cloud->toPixel(m.cloud->point(5)), Qt::LeftButton, Qt::LeftButton);
    mouse(m.cloud, QEvent::MouseButtonRelease, m.cloud->toPixel(m.cloud->point(5)), Qt::LeftButton, Qt::NoButton);
    QTRY_COMPARE_WITH_TIMEOUT(m.w.reconstructView()->resultCount(), 1, 20000);
    const QString clicked = m.v->map().sentences[m.cloud->pointAt(m.cloud->toPixel(m.cloud->point(5)))];
    QVERIFY2(m.w.reconstructView()->resultsText().startsWith(clicked + " -> "), qPrintable(m.w.reconstructView()->resultsText()));
    // The typed sentence is drawn on the map.
    QTRY_VERIFY_WITH_TIMEOUT(m.cloud->hasOverlay("typed"), 5000);

    const QPointF p2 = m.cloud->toPixel(m.cloud->point(700));
    mouse(m.cloud, QEvent::MouseButtonPress, p2, Qt::LeftButton, Qt::LeftButton, Qt::ControlModifier);
    mouse(m.cloud, QEvent::MouseButtonRelease, p2, Qt::LeftButton, Qt::NoButton, Qt::ControlModifier);
    QCOMPARE(interpolated.size(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(m.w.interpolateView()->rowCount(), 10, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(m.cloud->hasOverlay("path"), 5000);
    QCOMPARE(m.cloud->overlay("path").points.size(), 10);
    // The path starts at the first point's latent (the map's projection of the same mu).
    const QPointF start = m.cloud->overlay("path").points.first(), a = m.cloud->point(m.cloud->pointAt(m.cloud->toPixel(m.cloud->point(5))));
    QVERIFY2(std::abs(start.x() - a.x()) < 1e-3 && std::abs(start.y() - a.y()) < 1e-3, "path does not start at A");
    // Another model: the map is the old one's, so its overlays go and it says so.
    QSignalSpy reopened(&m.w, &ui::MainWindow::modelReady);
    m.w.openModel(ui::defaultModelPath());
    QVERIFY(reopened.wait(30000));
    QTRY_VERIFY_WITH_TIMEOUT(m.v->infoText().contains("map again"), 5000);
    QVERIFY(!m.cloud->hasOverlay("path"));
  }

  void generationFramesAndLassoAreDrawn() {
    Mapped m;
    QVERIFY(open(m, QString::fromStdString(test::corpusFile("valid.txt"))));
    m.w.generateView()->generate();
    QTRY_VERIFY_WITH_TIMEOUT(m.cloud->hasOverlay("samples"), 60000);
    QCOMPARE(m.cloud->overlay("samples").points.size(), 6);
    const auto atNoise = m.cloud->overlay("samples").points;
    m.w.generateView()->setFrame(m.w.generateView()->frameCount() - 1);
    QVERIFY(m.cloud->overlay("samples").points != atNoise);  // t = 0: the samples moved
    // Shift+drag a lasso around the whole widget: every point is selected, and saved.
    const QRectF r = QRectF(m.cloud->rect()).adjusted(1, 1, -1, -1);
    mouse(m.cloud, QEvent::MouseButtonPress, r.topLeft(), Qt::LeftButton, Qt::LeftButton, Qt::ShiftModifier);
    for (const QPointF p : {r.topRight(), r.bottomRight(), r.bottomLeft()})
      mouse(m.cloud, QEvent::MouseMove, p, Qt::NoButton, Qt::LeftButton, Qt::ShiftModifier);
    mouse(m.cloud, QEvent::MouseButtonRelease, r.bottomLeft(), Qt::LeftButton, Qt::NoButton, Qt::ShiftModifier);
    QCOMPARE(m.v->selection().size(), m.cloud->count());
    const QString out = tmp_.filePath("selection.txt");
    QVERIFY(m.v->saveSelection(out));
    QCOMPARE(QString::fromStdString(test::slurp(out.toStdString())).count('\n'), m.cloud->count());
    QString error;
    QVERIFY(!m.v->saveSelection(tmp_.filePath("no/such/dir/x.txt"), &error));
    QVERIFY(error.contains("cannot write"));
  }

  // A UMAP map: the layout is drawn, typed sentences are placed among their neighbours,
  // and the second open comes from the cache.
  void umapMapPlacesTypedSentences() {
    ui::MainWindow w;
    w.resize(1280, 860);
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(ui::defaultModelPath());
    QVERIFY(ready.wait(30000));
    auto* v = w.mapView();
    w.tabs()->setCurrentWidget(v);
    v->setProjection("umap");
    const QString corpus = QString::fromStdString(test::corpusFile("valid.txt"));
    v->mapCorpus(corpus);
    QVERIFY(QTest::qWaitFor([&] { return !v->busy(); }, 120000));
    QCOMPARE(v->map().projection, QString("umap"));
    QVERIFY2(v->infoText().contains("UMAP"), qPrintable(v->infoText()));
    QCOMPARE(v->cloud()->count(), v->map().sentences.size());
    // A sentence of the corpus, typed: it lands where the map has it.
    const QString s = v->map().sentences[42];
    w.reconstructView()->setSentences(s);
    w.reconstructView()->run();
    QTRY_VERIFY_WITH_TIMEOUT(v->cloud()->hasOverlay("typed"), 20000);
    const QPointF placed = v->cloud()->overlay("typed").points.first(), where = v->cloud()->point(42);
    const QRectF bounds = v->cloud()->viewRect();
    // Its latent differs from the mapped one by float rounding only (encoded alone, not in the
    // map's batch): it lands on that point, not beside it (umap_place).
    QVERIFY2(std::hypot(placed.x() - where.x(), placed.y() - where.y()) < 1e-4 * std::hypot(bounds.width(), bounds.height()),
             "the typed sentence is not on its own point");
    // Another sentence lands among its neighbours, not on a mapped point.
    w.reconstructView()->setSentences("a sentence that is not in the corpus at all");
    w.reconstructView()->run();
    QTRY_VERIFY_WITH_TIMEOUT(v->cloud()->overlay("typed").points.first() != placed, 20000);
    const QPointF other = v->cloud()->overlay("typed").points.first();
    QVERIFY(bounds.adjusted(-0.1 * bounds.width(), -0.1 * bounds.height(), 0.1 * bounds.width(), 0.1 * bounds.height()).contains(other));
    v->setColorMode("length");
    save(v, "latent_map_umap.png");
    v->mapCorpus(corpus);
    QVERIFY(QTest::qWaitFor([&] { return !v->busy(); }, 60000));
    QVERIFY(v->map().fromCache);
  }

  // A JSONL corpus: colour by its fields (categories, numbers), by each sentence's
  // reconstruction BLEU (computed on request), and a direction set from field=value.
  void jsonlFieldsAndBleuColourTheMap() {
    const auto sentences = load_corpus(test::corpusFile("valid.txt")).sentences;
    std::string jsonl;
    for (size_t i = 0; i < 400; ++i) {
      const auto words = std::count(sentences[i].begin(), sentences[i].end(), ' ') + 1;
      jsonl += nlohmann::json({{"text", sentences[i]}, {"label", words > 6 ? "long" : "short"}, {"words", words}}).dump() + "\n";
    }
    const QString path = tmp_.filePath("labelled.jsonl");
    test::spit(path.toStdString(), jsonl);
    Mapped m;
    QVERIFY(open(m, path));
    QCOMPARE(m.v->map().fieldNames, (QStringList{"label", "words"}));
    m.v->setColorMode("field");
    m.v->setField("label");
    QVERIFY2(m.v->legend().contains("short (") && m.v->legend().contains("long ("), qPrintable(m.v->legend()));
    m.v->setField("words");
    QVERIFY2(m.v->legend().startsWith("words: "), qPrintable(m.v->legend()));
    // BLEU: computed for every sentence of the map, then coloured.
    m.v->setColorMode("bleu");
    QVERIFY(m.v->legend().contains("not computed"));
    m.v->computeBleu();
    QVERIFY(QTest::qWaitFor([&] { return m.v->hasBleu(); }, 120000));
    QVERIFY2(m.v->legend().contains("mean"), qPrintable(m.v->legend()));
    save(m.v, "latent_map_bleu.png");
    // Directions: set A from label=long, set B from label=short.
    auto* d = m.w.directionsView();
    QList<QLineEdit*> fieldEdits;
    for (auto* e : d->findChildren<QLineEdit*>())
      if (e->placeholderText().startsWith("JSONL field=value")) fieldEdits << e;
    QList<QPushButton*> takes;
    for (auto* b : d->findChildren<QPushButton*>())
      if (b->text() == "Take") takes << b;
    QCOMPARE(fieldEdits.size(), 2);
    QCOMPARE(takes.size(), 2);
    fieldEdits[0]->setText("label=long");
    takes[0]->click();
    fieldEdits[1]->setText("label=short");
    takes[1]->click();
    int longs = 0;
    for (const auto& v : m.v->map().fieldValues[0]) longs += v == "long";
    QCOMPARE(d->setA().size(), longs);
    QCOMPARE(d->setB().size(), m.v->map().sentences.size() - longs);
    fieldEdits[0]->setText("nofield=x");
    takes[0]->click();
    QVERIFY2(d->resultText().contains("has no field \"nofield\" (it has: label, words)"), qPrintable(d->resultText()));
  }

  void cancelAndBadFilesLeaveTheWindowWorking() {
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(ui::defaultModelPath());
    QVERIFY(ready.wait(30000));
    auto* v = w.mapView();
    QSignalSpy errors(&w, &ui::MainWindow::errorShown);
    const QString one = tmp_.filePath("one.txt");
    test::spit(one.toStdString(), "just one sentence\n");
    v->mapCorpus(one);
    QVERIFY(QTest::qWaitFor([&] { return !v->busy(); }, 30000));
    QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 1, 5000);
    QVERIFY2(errors.first().first().toString().contains("fewer than 2 sentences"), qPrintable(errors.first().first().toString()));
    v->mapCorpus(tmp_.filePath("missing.txt"));
    QVERIFY(QTest::qWaitFor([&] { return !v->busy(); }, 30000));
    QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 2, 5000);
    // The whole training corpus (46k), cancelled at once: the map stops after a batch.
    v->mapCorpus(QString::fromStdString(test::corpusFile("train.txt")));
    // Cancel at once, whether the request is already running or still queued.
    for (auto* b : v->findChildren<QPushButton*>())
      if (b->text() == "Cancel") b->click();
    QVERIFY(QTest::qWaitFor([&] { return !v->busy(); }, 60000));
    QVERIFY2(v->infoText().startsWith("Cancelled"), qPrintable(v->infoText()));
    QCOMPARE(v->cloud()->count(), 0);
  }

  void directionSliderMovesTheSentence() {
    // A copy of the default model: the direction is saved into the folder.
    const std::string model = tmp_.filePath("model").toStdString();
    std::filesystem::copy(ui::defaultModelPath().toStdString(), model, std::filesystem::copy_options::recursive);
    test::spit(model + "/eval.json", R"({"bleu": 40, "n": 10, "robustness": {"scales": [0, 0.5, 1, 2], "bleu": [40, 30, 15, 2], "au_bleu": 17.1}})");
    ui::MainWindow w;
    w.show();
    QSignalSpy ready(&w, &ui::MainWindow::modelReady);
    w.openModel(QString::fromStdString(model));
    QVERIFY(ready.wait(30000));
    QTRY_COMPARE_WITH_TIMEOUT(w.modelPanel()->robustnessPoints(), 4, 10000);
    ui::DirectionsView* v = w.directionsView();
    w.tabs()->setCurrentWidget(v);
    v->setSets({"the cat sleeps on the mat", "she walks to school", "he plays the piano", "they eat bread",
                "the dog barks at night", "we sing a song"},
               {"the cat slept on the mat", "she walked to school", "he played the piano", "they ate bread",
                "the dog barked at night", "we sang a song"});
    v->setMethod("mean");
    v->setSentence("the children play in the garden");
    v->compute();
    QTRY_VERIFY_WITH_TIMEOUT(v->resultText().contains("Held-out accuracy"), 20000);
    QTRY_COMPARE_WITH_TIMEOUT(v->tableText().count('\n'), 6, 20000);  // alpha -3..3
    QVERIFY(v->tableText().startsWith("-3.0\t"));
    v->slider()->setValue(v->slider()->minimum());
    // Wait for the answer decoded at -3 (an earlier one, at 0, may still be in flight).
    QTRY_VERIFY_WITH_TIMEOUT(!v->sliderText().isEmpty() && v->sliderShownAlpha() == -3.0, 20000);
    const QString atMinus3 = v->sliderText();
    QCOMPARE(atMinus3, v->tableText().section('\n', 0, 0).section('\t', 1));  // the slider decodes what the table shows
    v->slider()->setValue(v->slider()->maximum());
    QTRY_VERIFY_WITH_TIMEOUT(v->sliderShownAlpha() == 3.0, 20000);
    QVERIFY(v->sliderText() != atMinus3);
    QCOMPARE(v->sliderText(), v->tableText().section('\n', 6, 6).section('\t', 1));
    // Saved with the model: listed in the Model panel.
    QMetaObject::invokeMethod(v, "requestSave");
    QTRY_VERIFY_WITH_TIMEOUT(w.modelPanel()->directionsText().startsWith("direction: A -> B (mean"), 20000);
    QVERIFY(std::filesystem::exists(model + "/directions/direction.safetensors"));
    save(v, "directions_view.png");
    // Analogy: empty fields give a clear error; three sentences an answer.
    v->solveAnalogy();
    QTRY_VERIFY_WITH_TIMEOUT(v->resultText().contains("needs three sentences"), 20000);
    v->setAnalogy("he walks to work", "he walked to work", "she sings a song");
    v->solveAnalogy();
    QTRY_VERIFY_WITH_TIMEOUT(!v->analogyText().isEmpty(), 20000);
  }
};

QTEST_MAIN(TestStudioExplore)
#include "test_studio_explore.moc"
