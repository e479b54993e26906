// Loss curves: debiased smoothing and min/max decimation against hand-computed values,
// and the LossPlot widget offscreen (a million points, smoothing slider, log axis with
// non-positive values, auto-follow and reset, hover, CSV/PNG/PDF export).
#include <QApplication>
#include <QCheckBox>
#include <QElapsedTimer>
#include <QFile>
#include <QMouseEvent>
#include <QSlider>
#include <QTemporaryDir>
#include <cmath>
#include <limits>
#include <random>

#include "qcp.h"
#include "test_util.h"
#include "views/curve_math.h"
#include "views/loss_plot.h"

using namespace latent;
using latent::ui::LossPlot;
using latent::ui::TrainPoint;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QCPGraph* graphNamed(QCustomPlot* plot, const QString& name) {
  for (int i = 0; i < plot->graphCount(); ++i)
    if (plot->graph(i)->name() == name) return plot->graph(i);
  return nullptr;
}

QVector<double> values(const QCPGraph* g) {
  QVector<double> v;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) v << it->value;
  return v;
}

// A plausible run: rec falls from ~50, KL rises, ddpm falls to ~0.01, lr warms up then decays.
QVector<TrainPoint> synthetic(qint64 from, qint64 count, qint64 total, std::mt19937& rng) {
  std::normal_distribution<double> noise(0.0, 1.0);
  QVector<TrainPoint> out;
  for (qint64 s = from; s < from + count; ++s) {
    const double decay = std::exp(-s / (0.15 * total));
    TrainPoint p;
    p.step = s;
    p.seconds = 0.05 * s;
    p.rec = 4 + 46 * decay * (1 + 0.12 * noise(rng));
    p.kl = 2 + 6 * (1 - decay) + 0.4 * noise(rng);
    p.ddpm = std::fabs(0.01 + 0.4 * decay * (1 + 0.3 * noise(rng)));
    p.loss = p.rec + p.kl + p.ddpm;
    p.lr = 3e-4 * std::min(1.0, s / (0.05 * total)) * 0.5 * (1 + std::cos(M_PI * s / total));
    p.gradNorm = 1 + std::fabs(noise(rng));
    out << p;
  }
  return out;
}

QVector<TrainPoint> ramp(qint64 from, qint64 count) {
  QVector<TrainPoint> out;
  for (qint64 s = from; s < from + count; ++s) {
    TrainPoint p;
    p.step = s;
    p.seconds = s * 0.5;
    p.loss = p.rec = 10.0 + std::sin(0.1 * s);
    p.kl = 1;
    p.ddpm = 0.01;
    p.lr = 1e-4;
    out << p;
  }
  return out;
}

}  // namespace

class TestCurves : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void smoothConstantStaysConstant() {
    const std::vector<double> y(500, 3.25);
    for (double w : {0.0, 0.6, 0.99, 0.999}) {
      const auto s = ui::smoothDebiased(y, w);
      QCOMPARE(s.size(), y.size());
      for (double v : s) QVERIFY2(std::fabs(v - 3.25) < 1e-9, qPrintable(QString("w=%1 gave %2").arg(w).arg(v)));
    }
  }

  void smoothWeightZeroIsIdentity() {
    const std::vector<double> y = {5, -1, 2.5, 1e6, 0};
    QCOMPARE(ui::smoothDebiased(y, 0.0), y);
  }

  void smoothHandComputed() {
    // w = 0.5: s = 0.5, 1.25, 2.125; divided by 1 - 0.5^k = 0.5, 0.75, 0.875.
    const auto s = ui::smoothDebiased({1, 2, 3}, 0.5);
    QCOMPARE(s.size(), size_t(3));
    QVERIFY(std::fabs(s[0] - 1.0) < 1e-12);
    QVERIFY(std::fabs(s[1] - 5.0 / 3.0) < 1e-12);
    QVERIFY(std::fabs(s[2] - 17.0 / 7.0) < 1e-12);
  }

  void smoothPassesNonFinite() {
    const double inf = std::numeric_limits<double>::infinity();
    const auto s = ui::smoothDebiased({1, kNaN, 3, inf}, 0.5);
    QCOMPARE(s[0], 1.0);
    QVERIFY(std::isnan(s[1]));
    QVERIFY(std::fabs(s[2] - 7.0 / 3.0) < 1e-12);  // as if the NaN were not there: (0.25 + 1.5) / 0.75
    QCOMPARE(s[3], inf);
  }

  void decimateKeepsSpike() {
    const size_t n = 1'000'000;
    std::vector<double> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = static_cast<double>(i);
      y[i] = 1.0 + 0.01 * std::sin(0.37 * i);
    }
    y[654'321] = 1000.0;
    y[123'456] = -5.0;
    const int buckets = 500;
    const auto d = ui::minMaxDecimate(x, y, 0, n - 1, buckets);
    QCOMPARE(d.x.size(), d.y.size());
    QVERIFY(d.x.size() <= 2 * buckets + 2);
    QVERIFY(d.x.size() >= buckets);
    QVERIFY(std::is_sorted(d.x.begin(), d.x.end()));
    QCOMPARE(*std::max_element(d.y.begin(), d.y.end()), 1000.0);
    QCOMPARE(*std::min_element(d.y.begin(), d.y.end()), -5.0);
    const auto spike = std::find(d.y.begin(), d.y.end(), 1000.0) - d.y.begin();
    QCOMPARE(d.x[static_cast<size_t>(spike)], 654'321.0);
  }

  void decimateKeepsFewPoints() {
    std::vector<double> x, y;
    for (int i = 0; i < 100; ++i) {
      x.push_back(i * 2.0);
      y.push_back(i % 7);
    }
    const auto d = ui::minMaxDecimate(x, y, 0, 198, 100);
    QCOMPARE(d.x, x);
    QCOMPARE(d.y, y);
    QVERIFY(ui::minMaxDecimate({}, {}, 0, 1, 10).x.empty());
  }

  void decimateRespectsRange() {
    std::vector<double> x, y;
    for (int i = 0; i < 1000; ++i) {
      x.push_back(i);
      y.push_back(std::cos(i));
    }
    auto d = ui::minMaxDecimate(x, y, 100, 200, 10);  // 101 inside + 2 neighbours > 20: decimated
    QVERIFY(d.x.size() <= 22);
    QCOMPARE(d.x.front(), 99.0);
    QCOMPARE(d.x.back(), 201.0);
    for (size_t i = 1; i + 1 < d.x.size(); ++i) QVERIFY(d.x[i] >= 100 && d.x[i] <= 200);
    d = ui::minMaxDecimate(x, y, 100, 105, 10);  // few: the 6 points and their neighbours
    QCOMPARE(d.x, (std::vector<double>{99, 100, 101, 102, 103, 104, 105, 106}));
    d = ui::minMaxDecimate(x, y, 5000, 6000, 10);  // right of the data: the last point only
    QCOMPARE(d.x, std::vector<double>{999});
  }

  void millionPointsStayBounded() {
    LossPlot w;
    w.resize(1000, 650);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const qint64 n = 1'000'000, batch = 100'000;
    QElapsedTimer t;
    t.start();
    for (qint64 from = 0; from < n; from += batch) {
      QVector<TrainPoint> pts = ramp(from, batch);
      if (from <= 777'777 && 777'777 < from + batch) pts[int(777'777 - from)].rec = 5000;  // one spike
      w.addTrainPoints(pts);
    }
    const qint64 addMs = t.restart();
    w.plot()->replot();
    const qint64 replotMs = t.restart();
    w.plot()->xAxis->setRange(0, n / 2);  // as a drag would: decimate the new range
    w.plot()->replot();
    qInfo("1M points: add %lld ms, first replot %lld ms, replot after a range change %lld ms", addMs, replotMs,
          static_cast<qint64>(t.elapsed()));
    QCOMPARE(w.pointCount(), int(n));
    const int bound = 2 * std::max(2 * w.plot()->width(), 256) + 2;
    for (int i = 0; i < w.plot()->graphCount(); ++i) {
      QCPGraph* g = w.plot()->graph(i);
      QVERIFY2(g->data()->size() <= bound, qPrintable(g->name() + ": " + QString::number(g->data()->size())));
    }
    QVERIFY(graphNamed(w.plot(), "rec (raw)")->data()->size() > 100);
    w.resetView();
    w.plot()->replot();
    QVERIFY(values(graphNamed(w.plot(), "rec (raw)")).contains(5000.0));  // the spike survives
    w.addTrainPoints(ramp(n, 10));  // slow to decimate now: shown after a throttled delay
    QTRY_COMPARE(w.plot()->xAxis->range().upper, double(n + 9));
  }

  void smoothingSliderChangesCurve() {
    LossPlot w;
    std::mt19937 rng(1);
    w.addTrainPoints(synthetic(0, 300, 300, rng));
    QCOMPARE(w.smoothing(), 0.6);
    auto* slider = w.findChild<QSlider*>();
    QVERIFY(slider);
    QCOMPARE(slider->value(), 600);
    QCPGraph* raw = graphNamed(w.plot(), "rec (raw)");
    QCPGraph* smooth = graphNamed(w.plot(), "rec");
    slider->setValue(0);
    QCOMPARE(w.smoothing(), 0.0);
    w.plot()->replot();
    QCOMPARE(values(smooth), values(raw));
    slider->setValue(900);
    w.plot()->replot();
    const QVector<double> r = values(raw), s = values(smooth);
    QVERIFY(s != r);
    const auto expected = ui::smoothDebiased(std::vector<double>(r.begin(), r.end()), 0.9);
    for (int i = 0; i < s.size(); ++i) QVERIFY(std::fabs(s[i] - expected[size_t(i)]) < 1e-9);
    w.setSmoothing(0.5);
    QCOMPARE(slider->value(), 500);
    w.setSmoothing(5);  // clamped
    QCOMPARE(w.smoothing(), 0.999);
  }

  void showHideSeries() {
    LossPlot w;
    w.addTrainPoints(ramp(0, 50));
    QCheckBox* kl = nullptr;
    for (QCheckBox* b : w.findChildren<QCheckBox*>())
      if (b->text() == "kl") kl = b;
    QVERIFY(kl);
    kl->setChecked(false);
    QVERIFY(!graphNamed(w.plot(), "kl")->visible());
    QVERIFY(!graphNamed(w.plot(), "kl (raw)")->visible());
    kl->setChecked(true);
    QVERIFY(graphNamed(w.plot(), "kl")->visible());
  }

  void logScaleSurvivesNonPositive() {
    LossPlot w;
    w.resize(800, 500);
    QVERIFY(w.findChild<QCheckBox*>() != nullptr);
    QVector<TrainPoint> pts = ramp(0, 10);
    pts[1].loss = 0;
    pts[2].loss = -1;
    pts[3].loss = kNaN;
    pts[4].loss = std::numeric_limits<double>::infinity();
    pts[5].kl = 0;
    w.addTrainPoints(pts);
    w.setLogScale(true);
    w.plot()->replot();
    QVERIFY(w.plot()->yAxis->range().lower > 0);
    QVERIFY(std::isfinite(w.plot()->yAxis->range().upper));
    QTemporaryDir tmp;
    QString error;
    QVERIFY2(w.exportImage(tmp.filePath("log.png"), &error), qPrintable(error));
    w.setLogScale(false);
    w.plot()->replot();
    w.setLogScale(true);
    w.addTrainPoints(ramp(10, 5));
    w.plot()->replot();
    QVERIFY(w.plot()->yAxis->range().lower > 0);
  }

  void followZoomAndReset() {
    LossPlot w;
    w.resize(900, 600);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCPAxis* lrX = w.plot()->axisRect(1)->axis(QCPAxis::atBottom);
    w.addTrainPoints(ramp(0, 1000));
    w.plot()->replot();
    QVERIFY(w.autoFollow());
    QCOMPARE(w.plot()->xAxis->range().lower, 0.0);
    QCOMPARE(w.plot()->xAxis->range().upper, 999.0);
    QCOMPARE(lrX->range().upper, 999.0);

    w.plot()->xAxis->setRange(100, 200);  // what a drag or wheel zoom does
    QVERIFY(!w.autoFollow());
    QCOMPARE(lrX->range().lower, 100.0);  // the lr panel shares x
    w.addTrainPoints(ramp(1000, 1000));
    w.plot()->replot();
    QCOMPARE(w.plot()->xAxis->range().lower, 100.0);
    QCOMPARE(w.plot()->xAxis->range().upper, 200.0);
    const auto* raw = graphNamed(w.plot(), "loss (raw)")->data().data();
    QVERIFY(raw->constBegin()->key >= 99 && (raw->constEnd() - 1)->key <= 201);

    w.resetView();
    w.plot()->replot();
    QVERIFY(w.autoFollow());
    QCOMPARE(w.plot()->xAxis->range().upper, 1999.0);

    w.plot()->xAxis->setRange(10, 20);
    const QPoint center = w.plot()->axisRect()->rect().center();
    QTest::mouseDClick(w.plot(), Qt::LeftButton, Qt::NoModifier, center);
    QTRY_VERIFY(w.autoFollow());
    w.plot()->replot();
    QCOMPARE(w.plot()->xAxis->range().lower, 0.0);
    QCOMPARE(w.plot()->xAxis->range().upper, 1999.0);

    w.setXAxis(LossPlot::XAxis::Time);  // seconds = step / 2
    w.plot()->replot();
    QCOMPARE(w.plot()->xAxis->range().upper, 999.5);

    QMouseEvent move(QEvent::MouseMove, QPointF(center), w.plot()->mapToGlobal(QPointF(center)), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(w.plot(), &move);
    QVERIFY2(w.hoverText().contains("step") && w.hoverText().contains("ddpm"), qPrintable(w.hoverText()));

    w.clear();
    QCOMPARE(w.pointCount(), 0);
    w.plot()->replot();
  }

  void exportCsvRows() {
    LossPlot w;
    w.addTrainPoints(ramp(1, 10));  // steps 1..10
    ui::EvalPoint e;
    e.step = 5;
    e.seconds = 2.5;
    e.bleu = 12.5;
    w.addEvalPoint(e);
    e.step = 12;
    e.seconds = 6;
    e.bleu = 20;
    w.addEvalPoint(e);
    QCOMPARE(w.evalCount(), 2);
    QTemporaryDir tmp;
    QString error;
    QVERIFY2(w.exportCsv(tmp.filePath("m.csv"), &error), qPrintable(error));
    QFile f(tmp.filePath("m.csv"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QStringList lines = QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 10 + 1);  // header, one per step, the eval at a step without training
    QCOMPARE(lines[0], QString("step,seconds,loss,rec,kl,ddpm,lr,grad_norm,bleu"));
    for (const QString& l : lines) QCOMPARE(l.count(','), 8);
    QVERIFY(lines[1].startsWith("1,0.5,"));
    QVERIFY(lines[5].startsWith("5,2.5,") && lines[5].endsWith(",12.5"));
    QVERIFY(lines[4].endsWith(","));
    QCOMPARE(lines[11], QString("12,6,,,,,,,20"));
    QVERIFY(!w.exportCsv(tmp.filePath("missing/dir/m.csv"), &error));
    QVERIFY(!error.isEmpty());
  }

  void exportImages() {
    LossPlot w;
    std::mt19937 rng(2);
    w.addTrainPoints(synthetic(0, 500, 500, rng));
    QTemporaryDir tmp;
    QString error;
    for (const char* name : {"c.png", "c.pdf"}) {
      const QString path = tmp.filePath(name);
      QVERIFY2(w.exportImage(path, &error), qPrintable(error));
      QFile f(path);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray head = f.read(4);
      QVERIFY(f.size() > 1000);
      QCOMPARE(head, QByteArray(QString(name).endsWith("png") ? "\x89PNG" : "%PDF"));
    }
    QVERIFY(!w.exportImage(tmp.filePath("c.jpg"), &error));
    QVERIFY(error.contains("png"));
  }

  void artifactPicture() {
    LossPlot w;
    w.resize(1000, 650);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    std::mt19937 rng(3);
    const qint64 total = 4000;
    for (qint64 s = 0; s < total; s += 250) w.addTrainPoints(synthetic(s, 250, total, rng));
    for (qint64 s = 500; s <= total; s += 500) {
      ui::EvalPoint e;
      e.step = s;
      e.seconds = 0.05 * s;
      e.bleu = 60 * (1 - std::exp(-s / 1200.0));
      w.addEvalPoint(e);
    }
    w.plot()->replot();
    const QPoint at(w.plot()->axisRect()->left() + w.plot()->axisRect()->width() / 3,
                    w.plot()->axisRect()->center().y());
    QMouseEvent move(QEvent::MouseMove, QPointF(at), w.plot()->mapToGlobal(QPointF(at)), Qt::NoButton, Qt::NoButton,
                     Qt::NoModifier);
    QApplication::sendEvent(w.plot(), &move);
    QVERIFY(w.grab().save(QString::fromStdString(test::artifact("loss_plot.png"))));
  }
};

QTEST_MAIN(TestCurves)
#include "test_curves.moc"
