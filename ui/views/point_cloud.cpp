#include "point_cloud.h"

#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

namespace latent::ui {
namespace {

constexpr QRgb kDefault = 0xff3a6ea5;
constexpr QRgb kBackground = 0xffffffff;

}  // namespace

PointCloud::PointCloud(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumSize(320, 240);
  setFocusPolicy(Qt::ClickFocus);
}

void PointCloud::setPoints(QVector<float> x, QVector<float> y) {
  x_ = std::move(x);
  y_ = std::move(y);
  if (y_.size() != x_.size()) y_.resize(x_.size());
  colors_.clear();
  selected_.clear();
  hover_ = -1;
  float x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (!x_.isEmpty()) {
    const auto [xmin, xmax] = std::minmax_element(x_.begin(), x_.end());
    const auto [ymin, ymax] = std::minmax_element(y_.begin(), y_.end());
    x0 = *xmin, x1 = *xmax, y0 = *ymin, y1 = *ymax;
  }
  const double padX = std::max(1e-6, 0.03 * (x1 - x0)), padY = std::max(1e-6, 0.03 * (y1 - y0));
  bounds_ = QRectF(QPointF(x0 - padX, y0 - padY), QPointF(x1 + padX, y1 + padY));
  buildGrid();
  fitView();
}

void PointCloud::setColors(QVector<QRgb> colors) {
  colors_ = std::move(colors);
  dirty_ = true;
  update();
}

void PointCloud::setOverlay(const QString& name, const Overlay& overlay) {
  overlays_[name] = overlay;
  update();
}

void PointCloud::clearOverlay(const QString& name) {
  if (overlays_.remove(name)) update();
}

void PointCloud::setOverlayVisible(const QString& name, bool visible) {
  auto it = overlays_.find(name);
  if (it == overlays_.end() || it->visible == visible) return;
  it->visible = visible;
  update();
}

void PointCloud::setAxisLabels(const QString& x, const QString& y) {
  xLabel_ = x;
  yLabel_ = y;
  update();
}

void PointCloud::setSelected(QVector<int> indices) {
  selected_ = std::move(indices);
  update();
}

void PointCloud::setViewRect(const QRectF& r) {
  if (!(r.width() > 0) || !(r.height() > 0)) return;
  view_ = r;
  dirty_ = true;
  update();
  Q_EMIT viewChanged();
}

void PointCloud::fitView() { setViewRect(bounds_); }

void PointCloud::zoomAt(QPointF pixel, double factor) {
  const QPointF c = toData(pixel);
  const double w = view_.width() / factor, h = view_.height() / factor;
  const double fx = pixel.x() / std::max(1, width()), fy = pixel.y() / std::max(1, height());
  setViewRect(QRectF(c.x() - fx * w, c.y() - (1 - fy) * h, w, h));
}

void PointCloud::panBy(QPointF pixels) {
  const double dx = pixels.x() * view_.width() / std::max(1, width());
  const double dy = pixels.y() * view_.height() / std::max(1, height());
  setViewRect(view_.translated(-dx, dy));
}

QPointF PointCloud::toPixel(QPointF d) const {
  return {(d.x() - view_.left()) / view_.width() * width(), (view_.bottom() - d.y()) / view_.height() * height()};
}

QPointF PointCloud::toData(QPointF p) const {
  return {view_.left() + p.x() / std::max(1, width()) * view_.width(),
          view_.bottom() - p.y() / std::max(1, height()) * view_.height()};
}

void PointCloud::buildGrid() {
  const int n = x_.size();
  const int side = std::clamp(static_cast<int>(std::sqrt(n / 8.0)), 1, 1024);
  gridW_ = gridH_ = side;
  cellStart_.fill(0, side * side + 1);
  cellItems_.resize(n);
  auto cellOf = [&](int i) {
    const int cx = std::clamp(static_cast<int>((x_[i] - bounds_.left()) / bounds_.width() * side), 0, side - 1);
    const int cy = std::clamp(static_cast<int>((y_[i] - bounds_.top()) / bounds_.height() * side), 0, side - 1);
    return cy * side + cx;
  };
  for (int i = 0; i < n; ++i) ++cellStart_[cellOf(i) + 1];
  for (int c = 0; c < side * side; ++c) cellStart_[c + 1] += cellStart_[c];
  QVector<int> fill(cellStart_.begin(), cellStart_.end() - 1);
  for (int i = 0; i < n; ++i) cellItems_[fill[cellOf(i)]++] = i;
}

int PointCloud::pointAt(QPointF pixel, double radius) const {
  if (x_.isEmpty() || gridW_ == 0) return -1;
  const QPointF d = toData(pixel);
  const double rx = radius * view_.width() / std::max(1, width()), ry = radius * view_.height() / std::max(1, height());
  auto cx = [&](double x) { return std::clamp(static_cast<int>((x - bounds_.left()) / bounds_.width() * gridW_), 0, gridW_ - 1); };
  auto cy = [&](double y) { return std::clamp(static_cast<int>((y - bounds_.top()) / bounds_.height() * gridH_), 0, gridH_ - 1); };
  if (d.x() + rx < bounds_.left() || d.x() - rx > bounds_.right() || d.y() + ry < bounds_.top() || d.y() - ry > bounds_.bottom())
    return -1;
  int best = -1;
  double bestDist = radius * radius;
  for (int gy = cy(d.y() - ry); gy <= cy(d.y() + ry); ++gy)
    for (int gx = cx(d.x() - rx); gx <= cx(d.x() + rx); ++gx) {
      const int c = gy * gridW_ + gx;
      for (int k = cellStart_[c]; k < cellStart_[c + 1]; ++k) {
        const int i = cellItems_[k];
        const double px = (x_[i] - d.x()) / rx * radius, py = (y_[i] - d.y()) / ry * radius;
        const double dist = px * px + py * py;
        if (dist <= bestDist) bestDist = dist, best = i;
      }
    }
  return best;
}

QVector<int> PointCloud::pointsInside(const QPolygonF& pixels) const {
  QVector<int> out;
  if (pixels.size() < 3) return out;
  QPolygonF poly;
  for (const auto& p : pixels) poly << toData(p);
  const QRectF box = poly.boundingRect();
  for (int i = 0; i < x_.size(); ++i)
    if (box.contains(x_[i], y_[i]) && poly.containsPoint(QPointF(x_[i], y_[i]), Qt::OddEvenFill)) out << i;
  return out;
}

void PointCloud::renderPoints() {
  const qreal dpr = devicePixelRatioF();
  const QSize size(std::max(1, static_cast<int>(width() * dpr)), std::max(1, static_cast<int>(height() * dpr)));
  if (image_.size() != size) image_ = QImage(size, QImage::Format_RGB32);
  image_.fill(kBackground);
  const int w = size.width(), h = size.height(), n = x_.size();
  // Dot size: one pixel for a million points, up to a 3 x 3 square for a few thousand.
  const int dot = n > 200000 ? 1 : n > 20000 ? 2 : 3;
  const double sx = w / view_.width(), sy = h / view_.height();
  const double ox = view_.left(), oy = view_.bottom();
  auto* bits = reinterpret_cast<QRgb*>(image_.bits());
  const int stride = static_cast<int>(image_.bytesPerLine() / 4);
  const float* xs = x_.constData();
  const float* ys = y_.constData();
  const QRgb* cs = colors_.size() == n ? colors_.constData() : nullptr;
  for (int i = 0; i < n; ++i) {
    const double fx = (xs[i] - ox) * sx, fy = (oy - ys[i]) * sy;
    if (!(fx >= 0 && fx < w && fy >= 0 && fy < h)) continue;
    const int px = static_cast<int>(fx), py = static_cast<int>(fy);
    const QRgb c = cs ? cs[i] : kDefault;
    if (dot == 1) {
      bits[py * stride + px] = c;
      continue;
    }
    const int x0 = std::max(0, px - dot / 2), y0 = std::max(0, py - dot / 2);
    const int x1 = std::min(w, x0 + dot), y1 = std::min(h, y0 + dot);
    for (int yy = y0; yy < y1; ++yy)
      for (int xx = x0; xx < x1; ++xx) bits[yy * stride + xx] = c;
  }
  image_.setDevicePixelRatio(dpr);
  dirty_ = false;
}

void PointCloud::paintEvent(QPaintEvent*) {
  if (dirty_ || image_.size() != QSize(static_cast<int>(width() * devicePixelRatioF()), static_cast<int>(height() * devicePixelRatioF())))
    renderPoints();
  QPainter p(this);
  p.drawImage(0, 0, image_);
  p.setRenderHint(QPainter::Antialiasing);
  for (auto it = overlays_.begin(); it != overlays_.end(); ++it) {
    const Overlay& o = it.value();
    if (!o.visible) continue;
    QPolygonF px;
    for (const auto& d : o.points) px << toPixel(d);
    if (o.path && px.size() > 1) {
      p.setPen(QPen(o.color, 2));
      p.drawPolyline(px);
    }
    p.setPen(QPen(Qt::black, 1));
    p.setBrush(o.color);
    for (int i = 0; i < px.size(); ++i) {
      p.drawEllipse(px[i], 4.5, 4.5);
      if (i < o.labels.size() && !o.labels[i].isEmpty()) p.drawText(px[i] + QPointF(7, -5), o.labels[i]);
    }
  }
  p.setBrush(Qt::NoBrush);
  p.setPen(QPen(QColor(230, 40, 40), 2));
  for (int i : selected_)
    if (i >= 0 && i < x_.size()) p.drawEllipse(toPixel(point(i)), 7, 7);
  if (hover_ >= 0 && hover_ < x_.size()) {
    p.setPen(QPen(Qt::black, 1.5));
    p.drawEllipse(toPixel(point(hover_)), 6, 6);
  }
  if (!xLabel_.isEmpty()) {
    // On a light backing, so they stay readable over a million points.
    const QFontMetrics fm(font());
    const QString x = xLabel_ + " →", y = "↑ " + yLabel_;
    const QRectF xr(width() - fm.horizontalAdvance(x) - 12, height() - fm.height() - 8, fm.horizontalAdvance(x) + 8, fm.height() + 4);
    const QRectF yr(4, 4, fm.horizontalAdvance(y) + 8, fm.height() + 4);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(255, 255, 255, 220));
    p.drawRect(xr);
    p.drawRect(yr);
    p.setPen(QColor(60, 60, 60));
    p.drawText(xr, Qt::AlignCenter, x);
    p.drawText(yr, Qt::AlignCenter, y);
  }
  if (lassoing_ && lasso_.size() > 1) {
    p.setPen(QPen(QColor(40, 40, 40), 1, Qt::DashLine));
    p.setBrush(QColor(40, 120, 220, 40));
    p.drawPolygon(lasso_);
  }
}

void PointCloud::resizeEvent(QResizeEvent*) { dirty_ = true; }

void PointCloud::mousePressEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return;
  pressPos_ = lastPos_ = e->position();
  moved_ = false;
  lassoing_ = e->modifiers() & Qt::ShiftModifier;
  dragging_ = !lassoing_;
  lasso_.clear();
  if (lassoing_) lasso_ << e->position();
}

void PointCloud::mouseMoveEvent(QMouseEvent* e) {
  const QPointF pos = e->position();
  if ((pos - pressPos_).manhattanLength() > 3) moved_ = true;
  if (dragging_ && (e->buttons() & Qt::LeftButton)) {
    panBy(pos - lastPos_);
    lastPos_ = pos;
    return;
  }
  if (lassoing_ && (e->buttons() & Qt::LeftButton)) {
    lasso_ << pos;
    update();
    return;
  }
  const int h = pointAt(pos);
  if (h != hover_) {
    hover_ = h;
    update();
    Q_EMIT hovered(h);
  }
}

void PointCloud::mouseReleaseEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton) return;
  if (lassoing_) {
    lassoing_ = false;
    const QVector<int> inside = pointsInside(lasso_);
    lasso_.clear();
    update();
    if (moved_) Q_EMIT lassoSelected(inside);
    return;
  }
  dragging_ = false;
  if (!moved_) {
    const int i = pointAt(e->position());
    if (i >= 0) Q_EMIT clicked(i, e->modifiers());
  }
}

void PointCloud::mouseDoubleClickEvent(QMouseEvent*) { fitView(); }

void PointCloud::wheelEvent(QWheelEvent* e) {
  const double steps = e->angleDelta().y() / 120.0;
  if (steps != 0) zoomAt(e->position(), std::pow(1.25, steps));
}

void PointCloud::leaveEvent(QEvent*) {
  if (hover_ != -1) {
    hover_ = -1;
    update();
    Q_EMIT hovered(-1);
  }
}

}  // namespace latent::ui
