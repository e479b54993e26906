// Soak: the studio trains the `small` preset on the default corpus with the window open,
// while a user reconstructs and interpolates every few seconds (each interpolation also
// decodes the slider's point). Every request must be answered, nothing may fail, and the
// training must keep going. Memory (VmRSS) is sampled every 10 s into
// test-artifacts/soak.csv.
//
// LATENT_SOAK_SECONDS sets the length. ctest runs it for 60 s (label `soak`): requests
// are answered during training. docs/RELIABILITY.md's run is
//   LATENT_SOAK_SECONDS=1800 QT_QPA_PLATFORM=offscreen build/tests/test_studio_soak
// and, for runs of 10 minutes or more, also requires RSS after warm-up (the first 5
// minutes) to grow less than 5%: the median of the last minute against the median of the
// minute after warm-up.
#include <QApplication>
#include <QElapsedTimer>
#include <QPushButton>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <algorithm>
#include <fstream>

#include "bench/benchmarks.h"
#include "corpus_view.h"
#include "data/corpus.h"
#include "main_window.h"
#include "test_util.h"
#include "views/interpolate_view.h"
#include "views/loss_plot.h"
#include "views/reconstruct_view.h"
#include "views/train_view.h"

using namespace latent;

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Sample {
  double seconds, rss;
  int points, sent, answered;
};

}  // namespace

class TestStudioSoak : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();
    qputenv("LATENT_RESOURCE_DIR", QByteArray(LATENT_CORPUS_DIR "/.."));
  }

  void trainingWithRequestsEveryFewSeconds() {
    const int seconds = qEnvironmentVariableIsSet("LATENT_SOAK_SECONDS") ? qEnvironmentVariableIntValue("LATENT_SOAK_SECONDS") : 60;
    const int warmup = std::min(300, seconds / 5);
    const auto valid = load_corpus(test::corpusFile("valid.txt")).sentences;
    QVERIFY(valid.size() > 100);

    ui::MainWindow w;
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QVERIFY(w.corpusView()->loadCorpus(QString::fromStdString(test::corpusFile("train.txt"))));
    ui::TrainView* tv = w.trainView();
    tv->setPreset("small");
    tv->setSteps(10000000);  // runs for the whole soak
    tv->setOutDir(tmp_.filePath("run"));
    QVERIFY2(tv->isConfigValid(), qPrintable(tv->validationMessage()));
    QSignalSpy errors(&w, &ui::MainWindow::errorShown);
    QSignalSpy finished(&w, &ui::MainWindow::trainingFinished);
    QSignalSpy reconstructSent(w.reconstructView(), &ui::ReconstructView::requestReconstruct);
    QSignalSpy interpolateSent(w.interpolateView(), &ui::InterpolateView::requestInterpolate);
    QSignalSpy decodeSent(w.interpolateView(), &ui::InterpolateView::requestDecodeAt);
    tv->start();
    QTRY_VERIFY_WITH_TIMEOUT(tv->lossPlot()->pointCount() > 0, 120000);

    std::vector<Sample> samples;
    int sent = 0, answered = 0, lost = 0, next = 0;
    double slowest = 0;
    QElapsedTimer clock;
    clock.start();
    double lastSample = -1e9;
    auto sample = [&] {
      samples.push_back({clock.elapsed() / 1000.0, bench::rss_mb(), tv->lossPlot()->pointCount(), sent, answered});
      lastSample = clock.elapsed() / 1000.0;
    };
    sample();
    while (clock.elapsed() < seconds * 1000LL) {
      // One request, like a user's: a reconstruction of two held-out sentences, or an
      // interpolation between two of them. Wait for its answer (lost after 120 s).
      const QString a = QString::fromStdString(valid[(next * 7) % valid.size()]);
      const QString b = QString::fromStdString(valid[(next * 7 + 3) % valid.size()]);
      QElapsedTimer latency;
      latency.start();
      // Sends one request through `run` and waits for the view to show the answer to it.
      auto request = [&](QSignalSpy& spy, auto run, auto answered) {
        const int before = spy.count();
        run();
        if (spy.count() != before + 1) return false;  // the view refused to send
        const int id = spy.last().at(0).toInt();
        ++sent;
        return QTest::qWaitFor([&] { return answered() == id || errors.count() > 0; }, 120000);
      };
      bool ok;
      if (next % 2 == 0) {
        auto* v = w.reconstructView();
        v->setSentences(a + "\n" + b);
        ok = request(reconstructSent, [v] { v->run(); }, [v] { return v->answeredRequest(); }) && v->resultCount() == 2;
      } else {
        auto* v = w.interpolateView();
        v->setSentences(a, b);
        ok = request(interpolateSent, [v] { v->run(); }, [v] { return v->answeredRequest(); }) && v->rowCount() > 0;
      }
      QVERIFY2(errors.isEmpty(), qPrintable(errors.isEmpty() ? QString() : errors.first().first().toString()));
      if (ok) {
        ++answered;
        slowest = std::max(slowest, latency.elapsed() / 1000.0);
      } else {
        ++lost;
      }
      ++next;
      QTest::qWait(3000);  // "every few seconds"
      if (clock.elapsed() / 1000.0 - lastSample >= 10) sample();
      QVERIFY2(finished.isEmpty(), "training ended during the soak");
    }
    sample();
    QVERIFY2(!decodeSent.isEmpty(), "no slider decode was sent after an interpolation");

    QTest::mouseClick([&] {
      for (auto* b : tv->findChildren<QPushButton*>())
        if (b->text() == "Stop") return b;
      return static_cast<QPushButton*>(nullptr);
    }(), Qt::LeftButton);
    QVERIFY(finished.wait(120000));
    QCOMPARE(finished.at(0).at(0).toInt(), 1);  // stopped

    std::ofstream csv(test::artifact("soak.csv"));
    csv << "seconds,rss_mib,train_points,requests_sent,requests_answered\n";
    for (const auto& s : samples) csv << s.seconds << ',' << s.rss << ',' << s.points << ',' << s.sent << ',' << s.answered << '\n';
    std::vector<double> afterWarmup, last;
    for (const auto& s : samples) {
      if (s.seconds >= warmup && s.seconds < warmup + 60) afterWarmup.push_back(s.rss);
      if (s.seconds >= samples.back().seconds - 60) last.push_back(s.rss);
    }
    const double growth = (median(last) - median(afterWarmup)) / std::max(1.0, median(afterWarmup));
    qInfo("soak: %d s, %d training points, %d requests sent, %d answered, %d lost, slowest answer %.1f s; "
          "RSS %.0f MiB after warm-up (%d s), %.0f MiB at the end (%+.2f%%), peak %.0f MiB",
          seconds, tv->lossPlot()->pointCount(), sent, answered, lost, slowest, median(afterWarmup), warmup,
          median(last), growth * 100,
          std::max_element(samples.begin(), samples.end(), [](auto& x, auto& y) { return x.rss < y.rss; })->rss);
    QCOMPARE(lost, 0);
    QCOMPARE(answered, sent);
    QVERIFY(sent >= seconds / 30);
    QVERIFY(samples.back().points > samples.front().points);  // training went on throughout
    if (seconds >= 600) QVERIFY2(growth < 0.05, qPrintable(QString("RSS grew %1%").arg(growth * 100)));
  }
};

// QTest ends a test function after QTEST_FUNCTION_TIMEOUT (default 300 s), read once when
// the first function starts: a longer soak sets it first.
int main(int argc, char** argv) {
  const int seconds = qEnvironmentVariableIsSet("LATENT_SOAK_SECONDS") ? qEnvironmentVariableIntValue("LATENT_SOAK_SECONDS") : 60;
  qputenv("QTEST_FUNCTION_TIMEOUT", QByteArray::number((seconds + 600) * 1000));
  QApplication app(argc, argv);
  TestStudioSoak test;
  return QTest::qExec(&test, argc, argv);
}
#include "test_studio_soak.moc"
