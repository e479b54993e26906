// A scatter of up to millions of points that pans and zooms smoothly in software
// rendering: every frame the points are written straight into a QImage (one pixel each
// when there are many, small squares when there are few), then blitted. A uniform grid
// finds the point under the cursor. Overlays (paths, marked points) are drawn on top in
// the same data coordinates.
//   drag: pan; wheel: zoom at the cursor; double-click: fit;
//   click: clicked(index); Ctrl+click: clicked with the modifier (the map's pair selection);
//   Shift+drag: lasso, lassoSelected(indices).
#pragma once

#include <QColor>
#include <QImage>
#include <QMap>
#include <QPolygonF>
#include <QVector>
#include <QWidget>

namespace latent::ui {

class PointCloud : public QWidget {
  Q_OBJECT
 public:
  explicit PointCloud(QWidget* parent = nullptr);

  // Replaces the points and fits the view to them.
  void setPoints(QVector<float> x, QVector<float> y);
  // One colour per point (QRgb); empty: all the default colour.
  void setColors(QVector<QRgb> colors);
  int count() const { return x_.size(); }
  QPointF point(int i) const { return {x_[i], y_[i]}; }

  struct Overlay {
    QVector<QPointF> points;
    QColor color;
    bool path = false;     // joined by lines
    QStringList labels;    // drawn beside the points (optional)
    bool visible = true;
  };
  void setOverlay(const QString& name, const Overlay& overlay);
  void clearOverlay(const QString& name);
  void setOverlayVisible(const QString& name, bool visible);
  bool hasOverlay(const QString& name) const { return overlays_.contains(name); }
  const Overlay overlay(const QString& name) const { return overlays_.value(name); }
  void setSelected(QVector<int> indices);  // drawn ringed
  void setAxisLabels(const QString& x, const QString& y);

  QRectF viewRect() const { return view_; }
  void setViewRect(const QRectF& r);
  void fitView();
  void zoomAt(QPointF pixel, double factor);
  void panBy(QPointF pixels);

  // Index of the point nearest to a widget pixel within radius pixels, or -1.
  int pointAt(QPointF pixel, double radius = 6) const;
  QPointF toPixel(QPointF data) const;
  QPointF toData(QPointF pixel) const;
  // Points inside a polygon given in widget pixels.
  QVector<int> pointsInside(const QPolygonF& pixels) const;
  // Renders the point layer now (benchmarks: the work of one frame without the blit).
  void renderPoints();

 Q_SIGNALS:
  void hovered(int index);  // -1 when the cursor leaves the points
  void clicked(int index, Qt::KeyboardModifiers modifiers);
  void lassoSelected(const QVector<int>& indices);
  void viewChanged();

 protected:
  void paintEvent(QPaintEvent*) override;
  void resizeEvent(QResizeEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  void mouseReleaseEvent(QMouseEvent*) override;
  void mouseDoubleClickEvent(QMouseEvent*) override;
  void wheelEvent(QWheelEvent*) override;
  void leaveEvent(QEvent*) override;

 private:
  void buildGrid();

  QVector<float> x_, y_;
  QVector<QRgb> colors_;
  QRectF bounds_, view_;
  QImage image_;
  bool dirty_ = true;
  QMap<QString, Overlay> overlays_;
  QVector<int> selected_;
  QString xLabel_, yLabel_;
  // Grid index over bounds_: cellStart_[c]..cellStart_[c+1] in cellItems_.
  int gridW_ = 0, gridH_ = 0;
  QVector<int> cellStart_, cellItems_;
  // Interaction
  QPointF pressPos_, lastPos_;
  bool dragging_ = false, lassoing_ = false, moved_ = false;
  QPolygonF lasso_;
  int hover_ = -1;
};

}  // namespace latent::ui
