#include "latent_map_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QHash>
#include <QRegularExpression>
#include <QSignalBlocker>
#include <QTextStream>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "point_cloud.h"

namespace latent::ui {
namespace {

// Perceptually ordered colours (viridis, 5 stops) for t in [0, 1].
QRgb ramp(double t) {
  static const QColor stops[] = {QColor(68, 1, 84), QColor(59, 82, 139), QColor(33, 145, 140), QColor(94, 201, 98),
                                 QColor(253, 231, 37)};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  const QColor& a = stops[i];
  const QColor& b = stops[i + 1];
  return qRgb(static_cast<int>(a.red() + f * (b.red() - a.red())), static_cast<int>(a.green() + f * (b.green() - a.green())),
              static_cast<int>(a.blue() + f * (b.blue() - a.blue())));
}

int words(const QString& s) { return static_cast<int>(s.split(' ', Qt::SkipEmptyParts).size()); }

}  // namespace

LatentMapView::LatentMapView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* top = new QHBoxLayout;
  mapOpen_ = new QPushButton(tr("Map the open corpus"));
  mapFile_ = new QPushButton(tr("Map a file…"));
  cancel_ = new QPushButton(tr("Cancel"));
  projection_ = new QComboBox;
  projection_->addItem(tr("PCA"), "pca");
  projection_->addItem(tr("UMAP"), "umap");
  projection_->setToolTip(tr("PCA: exact, linear, any size. UMAP: keeps neighbourhoods, so clusters show; up to 200,000 sentences"));
  progress_ = new QProgressBar;
  progress_->setMinimumWidth(200);
  progress_->setMaximumWidth(260);
  info_ = new QLabel(tr("No map yet: map the open corpus (or any file of up to 1,000,000 sentences)."));
  info_->setWordWrap(true);
  top->addWidget(new QLabel(tr("Projection")));
  top->addWidget(projection_);
  top->addWidget(mapOpen_);
  top->addWidget(mapFile_);
  top->addWidget(progress_);
  top->addWidget(cancel_);
  top->addWidget(info_, 1);
  layout->addLayout(top);

  auto* controls = new QHBoxLayout;
  colorBy_ = new QComboBox;
  colorBy_->addItem(tr("Single colour"), "single");
  colorBy_->addItem(tr("Sentence length"), "length");
  colorBy_->addItem(tr("Regular expression"), "regex");
  colorBy_->addItem(tr("JSONL field"), "field");
  colorBy_->addItem(tr("Reconstruction BLEU"), "bleu");
  field_ = new QComboBox;
  field_->setMinimumWidth(120);
  bleuButton_ = new QPushButton(tr("Compute BLEU"));
  bleuButton_->setToolTip(tr("Reconstructs every sentence of the map (greedy) and scores it: sentence BLEU, nltk's method1"));
  regex_ = new QLineEdit;
  regex_->setPlaceholderText(tr("regular expression over the text, e.g. \\b(was|were|had)\\b"));
  legend_ = new QLabel;
  showPath_ = new QCheckBox(tr("Interpolation path"));
  showSamples_ = new QCheckBox(tr("Generate samples"));
  showTyped_ = new QCheckBox(tr("Typed sentences"));
  for (auto* c : {showPath_, showSamples_, showTyped_}) c->setChecked(true);
  controls->addWidget(new QLabel(tr("Colour by")));
  controls->addWidget(colorBy_);
  regex_->setMinimumWidth(240);
  regex_->setMaximumWidth(380);
  controls->addWidget(regex_);
  controls->addWidget(field_);
  controls->addWidget(bleuButton_);
  controls->addWidget(legend_, 1);
  controls->addSpacing(12);
  controls->addWidget(showPath_);
  controls->addWidget(showSamples_);
  controls->addWidget(showTyped_);
  layout->addLayout(controls);

  cloud_ = new PointCloud;
  layout->addWidget(cloud_, 1);

  auto* bottom = new QHBoxLayout;
  hover_ = new QLabel(tr("Hover a point to read its sentence. Click: Reconstruct; Ctrl+click a second point: Interpolate; "
                         "Shift+drag: lasso; drag: pan; wheel: zoom; double-click: fit."));
  hover_->setWordWrap(true);
  hover_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  selectionLabel_ = new QLabel;
  saveSelection_ = new QPushButton(tr("Save selection…"));
  saveSelection_->setEnabled(false);
  bottom->addWidget(hover_, 1);
  bottom->addWidget(selectionLabel_);
  bottom->addWidget(saveSelection_);
  layout->addLayout(bottom);

  cancel_->setEnabled(false);
  progress_->setVisible(false);
  setModelReady(false);
  recolor();

  connect(mapOpen_, &QPushButton::clicked, this, [this] { mapCorpus(corpusPath_); });
  connect(mapFile_, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Map a corpus"), QString(), tr("Text or JSONL (*.txt *.jsonl *.json);;All files (*)"));
    if (!f.isEmpty()) mapCorpus(f);
  });
  connect(cancel_, &QPushButton::clicked, this, [this] {
    cancel_->setEnabled(false);
    Q_EMIT cancelRequested(pending_);
  });
  connect(colorBy_, &QComboBox::currentIndexChanged, this, [this] { recolor(); });
  connect(field_, &QComboBox::currentIndexChanged, this, [this] {
    if (colorBy_->currentData().toString() == "field") recolor();
  });
  connect(bleuButton_, &QPushButton::clicked, this, &LatentMapView::computeBleu);
  connect(regex_, &QLineEdit::editingFinished, this, [this] {
    if (colorBy_->currentData().toString() == "regex") recolor();
  });
  for (auto* c : {showPath_, showSamples_, showTyped_}) connect(c, &QCheckBox::toggled, this, [this] { updateOverlays(); });
  connect(cloud_, &PointCloud::hovered, this, [this](int i) {
    hoverIndex_ = i;
    if (i >= 0 && i < map_.sentences.size()) {
      hover_->setText(QString("%1  (%2 words; #%3)").arg(map_.sentences[i]).arg(words(map_.sentences[i])).arg(i + 1));
      cloud_->setToolTip(map_.sentences[i]);
    } else {
      cloud_->setToolTip(QString());
    }
  });
  connect(cloud_, &PointCloud::clicked, this, &LatentMapView::onClicked);
  connect(cloud_, &PointCloud::lassoSelected, this, &LatentMapView::onLasso);
  connect(saveSelection_, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Save the selection as a sentence set"), "selection.txt");
    QString error;
    if (!f.isEmpty() && !saveSelection(f, &error)) selectionLabel_->setText(error);
  });
}

QString LatentMapView::hoverText() const { return hoverIndex_ >= 0 ? map_.sentences.value(hoverIndex_) : QString(); }
QString LatentMapView::infoText() const { return info_->text(); }
QString LatentMapView::legend() const { return legend_->text(); }

void LatentMapView::setCorpusPath(const QString& path) {
  corpusPath_ = path;
  mapOpen_->setToolTip(path);
}

void LatentMapView::setModelReady(bool ready) {
  modelReady_ = ready;
  mapOpen_->setEnabled(ready && !busy_);
  mapFile_->setEnabled(ready && !busy_);
}

void LatentMapView::setBusy(bool busy) {
  busy_ = busy;
  progress_->setVisible(busy);
  cancel_->setEnabled(busy);
  setModelReady(modelReady_);
  bleuButton_->setEnabled(!busy && !map_.x.isEmpty());
}

void LatentMapView::computeBleu() {
  if (busy_ || map_.x.isEmpty()) return;
  pending_ = nextRequest_++;
  progress_->setRange(0, 0);
  setBusy(true);
  Q_EMIT requestBleu(pending_);
}

void LatentMapView::showBleu(int requestId, const QVector<float>& bleu) {
  if (requestId != pending_) return;
  setBusy(false);
  bleu_ = bleu;
  recolor();
}

void LatentMapView::setField(const QString& name) {
  const int i = field_->findText(name);
  if (i >= 0) field_->setCurrentIndex(i);
  if (colorBy_->currentData().toString() == "field") recolor();
}

void LatentMapView::mapCorpus(const QString& path) {
  if (path.isEmpty() || busy_) return;
  pending_ = nextRequest_++;
  progress_->setRange(0, 0);
  setBusy(true);
  info_->setText(tr("Encoding %1…").arg(QFileInfo(path).fileName()));
  Q_EMIT requestMap(pending_, path, projection_->currentData().toString());
}

void LatentMapView::showProgress(int requestId, const QString& stage, qint64 done, qint64 total) {
  if (requestId != pending_ || total <= 0) return;
  progress_->setRange(0, 1000);
  progress_->setValue(static_cast<int>(1000 * done / total));
  progress_->setFormat(stage.startsWith("UMAP") ? stage + " %p%" : tr("%1 of %2").arg(done).arg(total));
}

void LatentMapView::setProjection(const QString& projection) {
  projection_->setCurrentIndex(std::max(0, projection_->findData(projection)));
}

void LatentMapView::mapCancelled(int requestId) {
  if (requestId != pending_) return;
  setBusy(false);
  info_->setText(map_.x.isEmpty() ? tr("Cancelled.") : tr("Cancelled; the map below is the previous one."));
}

void LatentMapView::mapFailed() {
  if (!busy_) return;
  setBusy(false);
  info_->setText(tr("The request failed (see the message)."));
}

void LatentMapView::showMap(const LatentMap& map) {
  if (map.requestId != pending_) return;
  map_ = map;
  stale_ = false;
  bleu_.clear();
  setBusy(false);
  {
    const QSignalBlocker block(field_);
    field_->clear();
    field_->addItems(map_.fieldNames);
  }
  hoverIndex_ = firstPick_ = -1;
  selection_.clear();
  selectionLabel_->clear();
  saveSelection_->setEnabled(false);
  cloud_->setPoints(map_.x, map_.y);
  if (map_.projection == "umap") cloud_->setAxisLabels(tr("UMAP 1"), tr("UMAP 2"));
  else cloud_->setAxisLabels(tr("PC1 (%1%)").arg(100 * map_.explained1, 0, 'f', 1), tr("PC2 (%1%)").arg(100 * map_.explained2, 0, 'f', 1));
  QString capped = map_.fileSentences > map_.sentences.size()
                       ? tr(" (the first %1 of %2)").arg(map_.sentences.size()).arg(map_.fileSentences)
                       : QString();
  const QString how = map_.projection == "umap"
                          ? tr("UMAP (15 neighbours, min_dist 0.1; PC1, PC2 hold %1%, %2% of the variance)")
                          : tr("PCA: PC1 %1%, PC2 %2% of the variance");
  info_->setText(tr("%1 sentences of %2%3 · %4 · %5 · %6 s%7")
                     .arg(map_.sentences.size())
                     .arg(QFileInfo(map_.source).fileName(), capped)
                     .arg(how.arg(100 * map_.explained1, 0, 'f', 1).arg(100 * map_.explained2, 0, 'f', 1))
                     .arg(QFileInfo(map_.model).fileName() == "best" || QFileInfo(map_.model).fileName() == "last"
                              ? QFileInfo(QFileInfo(map_.model).path()).fileName() + "/" + QFileInfo(map_.model).fileName()
                              : QFileInfo(map_.model).fileName())
                     .arg(map_.seconds, 0, 'f', 1)
                     .arg(map_.fromCache ? tr(" (from the cache)") : QString()));
  for (const char* o : {"path", "slider", "samples", "typed"}) cloud_->clearOverlay(o);
  recolor();
}

void LatentMapView::modelChanged() {
  if (map_.x.isEmpty() || stale_) return;
  stale_ = true;
  for (const char* o : {"path", "slider", "samples", "typed"}) cloud_->clearOverlay(o);
  trace_ = GenerateTrace();
  info_->setText(info_->text() + tr(" · made with another model: map again to draw overlays"));
}

void LatentMapView::setColorMode(const QString& mode) {
  const int i = colorBy_->findData(mode);
  if (i >= 0) colorBy_->setCurrentIndex(i);
  recolor();
}

void LatentMapView::setRegex(const QString& pattern) {
  regex_->setText(pattern);
  if (colorBy_->currentData().toString() == "regex") recolor();
}

void LatentMapView::recolor() {
  const QString mode = colorBy_->currentData().toString();
  regex_->setVisible(mode == "regex");
  field_->setVisible(mode == "field");
  bleuButton_->setVisible(mode == "bleu");
  bleuButton_->setEnabled(!busy_ && !map_.x.isEmpty());
  const int n = map_.sentences.size();
  if (mode == "single" || n == 0) {
    cloud_->setColors({});
    legend_->clear();
    return;
  }
  QVector<QRgb> colors(n);
  if (mode == "length") {
    QVector<int> len(n);
    for (int i = 0; i < n; ++i) len[i] = words(map_.sentences[i]);
    QVector<int> sorted = len;
    std::sort(sorted.begin(), sorted.end());
    const int lo = sorted[n / 100], hi = std::max(lo + 1, sorted[std::min(n - 1, n * 99 / 100)]);
    for (int i = 0; i < n; ++i) colors[i] = ramp(static_cast<double>(len[i] - lo) / (hi - lo));
    legend_->setText(tr("length: %1 words (purple) to %2+ (yellow)").arg(lo).arg(hi));
  } else if (mode == "bleu") {
    if (!hasBleu()) {
      legend_->setText(tr("reconstruction BLEU: not computed for this map yet"));
      cloud_->setColors({});
      return;
    }
    double mean = 0;
    for (int i = 0; i < n; ++i) {
      colors[i] = ramp(bleu_[i] / 100.0);
      mean += bleu_[i];
    }
    legend_->setText(tr("sentence BLEU: 0 (purple) to 100 (yellow); mean %1").arg(mean / n, 0, 'f', 1));
  } else if (mode == "field") {
    const int f = map_.fieldNames.indexOf(field_->currentText());
    if (f < 0 || f >= map_.fieldValues.size()) {
      legend_->setText(map_.fieldNames.isEmpty() ? tr("this corpus has no JSONL fields besides text") : tr("choose a field"));
      cloud_->setColors({});
      return;
    }
    const QStringList& values = map_.fieldValues[f];
    // Numbers: a ramp from the 1st to the 99th percentile. Otherwise: the ten most frequent
    // values in ten colours, the rest grey.
    QVector<double> numbers;
    bool numeric = true;
    for (const auto& v : values) {
      if (v.isEmpty()) continue;
      bool ok = false;
      const double d = v.toDouble(&ok);
      if (!ok || !std::isfinite(d)) {
        numeric = false;
        break;
      }
      numbers << d;
    }
    static const QRgb palette[10] = {0xff1f77b4, 0xffff7f0e, 0xff2ca02c, 0xffd62728, 0xff9467bd,
                                     0xff8c564b, 0xffe377c2, 0xff7f7f7f, 0xffbcbd22, 0xff17becf};
    const QRgb missing = qRgb(225, 225, 230);
    if (numeric && !numbers.isEmpty()) {
      std::sort(numbers.begin(), numbers.end());
      const double lo = numbers[numbers.size() / 100], hi = std::max(lo + 1e-12, numbers[numbers.size() * 99 / 100]);
      for (int i = 0; i < n; ++i)
        colors[i] = values[i].isEmpty() ? missing : ramp((values[i].toDouble() - lo) / (hi - lo));
      legend_->setText(tr("%1: %2 (purple) to %3 (yellow)").arg(map_.fieldNames[f]).arg(lo).arg(hi));
    } else {
      QHash<QString, int> counts;
      for (const auto& v : values) ++counts[v];
      QVector<QPair<int, QString>> order;
      for (auto it = counts.begin(); it != counts.end(); ++it)
        if (!it.key().isEmpty()) order << qMakePair(-it.value(), it.key());
      std::sort(order.begin(), order.end());
      QHash<QString, QRgb> colorOf;
      QStringList parts;
      for (int k = 0; k < order.size() && k < 10; ++k) {
        colorOf[order[k].second] = palette[k];
        parts << QString("<span style='color:#%1'>■</span> %2 (%3)")
                     .arg(palette[k] & 0xffffff, 6, 16, QChar('0'))
                     .arg(order[k].second.toHtmlEscaped())
                     .arg(-order[k].first);
      }
      for (int i = 0; i < n; ++i) colors[i] = colorOf.value(values[i], missing);
      legend_->setText(parts.join("  ") + (order.size() > 10 ? tr("  other: grey") : QString()));
    }
  } else {
    const QRegularExpression re(regex_->text(), QRegularExpression::CaseInsensitiveOption);
    if (!re.isValid() || regex_->text().isEmpty()) {
      legend_->setText(re.isValid() ? tr("type a regular expression") : tr("invalid: %1").arg(re.errorString()));
      cloud_->setColors({});
      return;
    }
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      const bool m = re.match(map_.sentences[i]).hasMatch();
      hits += m;
      colors[i] = m ? qRgb(230, 85, 13) : qRgb(200, 200, 210);
    }
    legend_->setText(tr("%1 match (orange), %2 do not (grey)").arg(hits).arg(n - hits));
  }
  cloud_->setColors(std::move(colors));
}

void LatentMapView::onClicked(int index, Qt::KeyboardModifiers mods) {
  if (index < 0 || index >= map_.sentences.size()) return;
  if ((mods & Qt::ControlModifier) && firstPick_ >= 0 && firstPick_ != index) {
    cloud_->setSelected({firstPick_, index});
    Q_EMIT sendToInterpolate(map_.sentences[firstPick_], map_.sentences[index]);
    firstPick_ = -1;
    return;
  }
  firstPick_ = index;
  cloud_->setSelected({index});
  Q_EMIT sendToReconstruct(map_.sentences[index]);
}

void LatentMapView::onLasso(const QVector<int>& indices) {
  selection_ = indices;
  cloud_->setSelected(indices.size() <= 200 ? indices : QVector<int>{});
  selectionLabel_->setText(tr("%1 selected").arg(indices.size()));
  saveSelection_->setEnabled(!indices.isEmpty());
}

bool LatentMapView::saveSelection(const QString& path, QString* error) const {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
    if (error) *error = tr("%1: cannot write: %2").arg(path, f.errorString());
    return false;
  }
  QTextStream out(&f);
  for (int i : selection_) out << map_.sentences.value(i) << "\n";
  out.flush();
  if (f.error() != QFile::NoError) {
    if (error) *error = tr("%1: cannot write: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

void LatentMapView::showInterpolation(const InterpolateResult& r) {
  if (r.mapPath.isEmpty()) return;
  PointCloud::Overlay o{r.mapPath, QColor(220, 30, 30), true, {}};
  o.labels = QStringList(r.mapPath.size(), QString());
  o.labels.first() = "A";
  o.labels.last() = "B";
  cloud_->setOverlay("path", o);
  cloud_->clearOverlay("slider");
  updateOverlays();
}

void LatentMapView::showDecodeAt(const DecodeAtResult& r) {
  if (!r.onMap) return;
  cloud_->setOverlay("slider", {{r.mapPoint}, QColor(255, 170, 0), false, {QString("t=%1").arg(r.t, 0, 'f', 2)}});
  updateOverlays();
}

void LatentMapView::showTrace(const GenerateTrace& t) {
  trace_ = t;
  frame_ = 0;
  setGenerateFrame(0);
}

void LatentMapView::setGenerateFrame(int frame) {
  frame_ = frame;
  if (frame < 0 || frame >= trace_.mapFrames.size()) return;
  PointCloud::Overlay o{trace_.mapFrames[frame], QColor(20, 170, 60), false, {}};
  o.labels << QString("t=%1").arg(trace_.frameT.value(frame));
  cloud_->setOverlay("samples", o);
  updateOverlays();
}

void LatentMapView::showReconstruction(const ReconstructResult& r) {
  PointCloud::Overlay o{{}, QColor(30, 120, 255), false, {}};
  for (const auto& item : r.items)
    if (item.onMap) {
      o.points << item.mapPoint;
      o.labels << (item.input.size() > 30 ? item.input.left(28) + "…" : item.input);
    }
  if (o.points.isEmpty()) return;
  cloud_->setOverlay("typed", o);
  updateOverlays();
}

void LatentMapView::updateOverlays() {
  cloud_->setOverlayVisible("path", showPath_->isChecked());
  cloud_->setOverlayVisible("slider", showPath_->isChecked());
  cloud_->setOverlayVisible("samples", showSamples_->isChecked());
  cloud_->setOverlayVisible("typed", showTyped_->isChecked());
}

}  // namespace latent::ui
