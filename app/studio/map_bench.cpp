// latent-map-bench: frame times of the Latent map's point layer while panning and zooming,
// on the real widget and the platform Qt runs on (xcb under Xvfb: software rendering).
//   latent-map-bench [--points N] [--frames F] [--xy FILE.npy]
// --xy: coordinates (N, 2) from `latent-cli project --out xy.npy` (tiled to N points when
// shorter); without it, a mixture of 12 Gaussian clusters. One JSON line on stdout.
#include <QApplication>
#include <QElapsedTimer>
#include <QGuiApplication>
#include <QThread>
#include <QWindow>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "io/npy.h"
#include "views/point_cloud.h"

int main(int argc, char** argv) {
  long points = 1000000, frames = 240;
  std::string xy;
  auto usage = [] {
    std::fprintf(stderr, "usage: latent-map-bench [--points N] [--frames F] [--xy FILE.npy]  (N, F >= 1)\n");
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage();
    try {
      if (k == "--points") points = std::stol(argv[i + 1]);
      else if (k == "--frames") frames = std::stol(argv[i + 1]);
      else if (k == "--xy") xy = argv[i + 1];
      else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (points < 1 || points > 100000000 || frames < 1 || frames > 100000) return usage();
  QApplication app(argc, argv);  // after the arguments: a usage error needs no display
  QVector<float> x(static_cast<int>(points)), y(static_cast<int>(points));
  if (!xy.empty()) {
    latent::io::NpyArray a;
    try {
      a = latent::io::npy_load(xy);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    if (a.shape.size() != 2 || a.shape[1] < 2 || a.shape[0] < 1) {
      std::fprintf(stderr, "%s: expected (N, 2) coordinates\n", xy.c_str());
      return 1;
    }
    for (long i = 0; i < points; ++i) {
      const long r = i % a.shape[0];
      x[static_cast<int>(i)] = a.data[static_cast<size_t>(r * a.shape[1])];
      y[static_cast<int>(i)] = a.data[static_cast<size_t>(r * a.shape[1] + 1)];
    }
  } else {
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0, 1);
    for (long i = 0; i < points; ++i) {
      const int c = static_cast<int>(i % 12);
      x[static_cast<int>(i)] = 6 * std::cos(c * 0.52f) + n(rng) * (0.5f + 0.1f * c);
      y[static_cast<int>(i)] = 4 * std::sin(c * 0.52f) + n(rng) * 0.6f;
    }
  }
  latent::ui::PointCloud cloud;
  cloud.resize(1280, 760);
  cloud.show();
  for (int i = 0; i < 500 && !(cloud.windowHandle() && cloud.windowHandle()->isExposed()); ++i) {
    QApplication::processEvents();
    QThread::msleep(10);
  }
  cloud.setPoints(x, y);
  QVector<QRgb> colors(static_cast<int>(points));
  for (long i = 0; i < points; ++i) colors[static_cast<int>(i)] = qRgb(static_cast<int>(i * 37 % 256), 80, 160);
  cloud.setColors(colors);
  for (int i = 0; i < 5; ++i) cloud.repaint();  // warm-up
  std::vector<double> ms;
  QElapsedTimer t;
  for (long f = 0; f < frames; ++f) {
    // Pan in a circle, zooming in for the first half and out for the second.
    const double a = 6.283 * f / frames;
    cloud.panBy(QPointF(12 * std::cos(a), 12 * std::sin(a)));
    cloud.zoomAt(QPointF(640, 380), f < frames / 2 ? 1.01 : 1 / 1.01);
    t.start();
    cloud.repaint();  // synchronous: render the points, blit, draw the overlays
    QApplication::processEvents();
    ms.push_back(t.nsecsElapsed() / 1e6);
  }
  std::sort(ms.begin(), ms.end());
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  std::printf("{\"points\": %ld, \"frames\": %ld, \"platform\": \"%s\", \"size\": [1280, 760], \"mean_ms\": %.2f, "
              "\"p50_ms\": %.2f, \"p95_ms\": %.2f, \"max_ms\": %.2f, \"fps_mean\": %.1f, \"fps_p95\": %.1f}\n",
              points, frames, qPrintable(QGuiApplication::platformName()), mean, ms[ms.size() / 2],
              ms[ms.size() * 95 / 100], ms.back(), 1000 / mean, 1000 / ms[ms.size() * 95 / 100]);
  return 0;
}
