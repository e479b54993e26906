#include "directions_view.h"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSlider>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace latent::ui {
namespace {

constexpr int kSteps = 60;  // slider: alpha from -3 to 3 in steps of 0.1
constexpr int kMaxRegexSet = 5000;

QStringList lines(const QPlainTextEdit* e) { return e->toPlainText().split('\n', Qt::SkipEmptyParts); }

}  // namespace

QWidget* DirectionsView::setBox(const QString& title, const QString& example, QLineEdit*& label, QPlainTextEdit*& text,
                                QLineEdit*& regex) {
  auto* box = new QGroupBox(title);
  auto* v = new QVBoxLayout(box);
  label = new QLineEdit;
  label->setPlaceholderText(tr("name of this set, e.g. %1").arg(example));
  text = new QPlainTextEdit;
  text->setPlaceholderText(tr("one sentence per line (at least 2)"));
  regex = new QLineEdit;
  regex->setPlaceholderText(tr("regular expression over the mapped corpus"));
  auto* load = new QPushButton(tr("Load file…"));
  auto* fromMap = new QPushButton(tr("From map selection"));
  auto* fromRegex = new QPushButton(tr("Matches"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(load);
  buttons->addWidget(fromMap);
  auto* regexRow = new QHBoxLayout;
  regexRow->addWidget(regex, 1);
  regexRow->addWidget(fromRegex);
  auto* fieldEdit = new QLineEdit;
  fieldEdit->setPlaceholderText(tr("JSONL field=value of the mapped corpus, e.g. label=%1").arg(example == tr("negative") ? "neg" : "pos"));
  auto* fromField = new QPushButton(tr("Take"));
  regexRow->addWidget(fieldEdit, 1);
  regexRow->addWidget(fromField);
  v->addWidget(label);
  v->addWidget(text, 1);
  v->addLayout(buttons);
  v->addLayout(regexRow);
  QPlainTextEdit* target = text;
  QLineEdit* re = regex;
  connect(fromField, &QPushButton::clicked, this, [this, target, fieldEdit] {
    const QString spec = fieldEdit->text();
    const int eq = spec.indexOf('=');
    const LatentMap* m = map_ ? map_() : nullptr;
    if (eq <= 0) {
      result_->setText(tr("Write field=value, e.g. label=pos."));
      return;
    }
    if (!m || m->sentences.isEmpty()) {
      result_->setText(tr("Map a JSONL corpus in the Latent map tab first."));
      return;
    }
    const QString name = spec.left(eq).trimmed(), value = spec.mid(eq + 1).trimmed();
    const int f = m->fieldNames.indexOf(name);
    if (f < 0 || f >= m->fieldValues.size()) {
      result_->setText(tr("The mapped corpus has no field \"%1\" (it has: %2).")
                           .arg(name, m->fieldNames.isEmpty() ? tr("none") : m->fieldNames.join(", ")));
      return;
    }
    QStringList hits;
    for (int i = 0; i < m->sentences.size() && hits.size() < kMaxRegexSet; ++i)
      if (m->fieldValues[f].value(i) == value) hits << m->sentences[i];
    target->setPlainText(hits.join('\n'));
    result_->setText(tr("%1 sentences of the mapped corpus have %2 = %3 (at most %4 are kept).")
                         .arg(hits.size()).arg(name, value).arg(kMaxRegexSet));
  });
  connect(load, &QPushButton::clicked, this, [this, target] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Load a sentence set"));
    QFile file(f);
    if (f.isEmpty() || !file.open(QIODevice::ReadOnly | QIODevice::Text)) return;
    target->setPlainText(QString::fromUtf8(file.readAll()));
  });
  connect(fromMap, &QPushButton::clicked, this, [this, target] {
    const QStringList s = mapSelection_ ? mapSelection_() : QStringList();
    if (s.isEmpty()) result_->setText(tr("Nothing selected on the latent map: Shift+drag a lasso there first."));
    else target->setPlainText(s.join('\n'));
  });
  connect(fromRegex, &QPushButton::clicked, this, [this, target, re] {
    const QRegularExpression rx(re->text(), QRegularExpression::CaseInsensitiveOption);
    if (!rx.isValid() || re->text().isEmpty()) {
      result_->setText(rx.isValid() ? tr("Type a regular expression first.") : tr("Invalid regular expression: %1").arg(rx.errorString()));
      return;
    }
    const LatentMap* m = map_ ? map_() : nullptr;
    const QStringList corpus = m ? m->sentences : QStringList();
    if (corpus.isEmpty()) {
      result_->setText(tr("Map a corpus in the Latent map tab first."));
      return;
    }
    QStringList hits;
    for (const auto& s : corpus)
      if (rx.match(s).hasMatch() && hits.size() < kMaxRegexSet) hits << s;
    target->setPlainText(hits.join('\n'));
    result_->setText(tr("%1 sentences of the mapped corpus match %2 (at most %3 are kept).").arg(hits.size()).arg(re->text()).arg(kMaxRegexSet));
  });
  return box;
}

DirectionsView::DirectionsView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* sets = new QHBoxLayout;
  sets->addWidget(setBox(tr("Set A (from)"), tr("negative"), labelA_, a_, regexA_));
  sets->addWidget(setBox(tr("Set B (to)"), tr("positive"), labelB_, b_, regexB_));
  layout->addLayout(sets, 2);

  auto* row = new QHBoxLayout;
  method_ = new QComboBox;
  method_->addItem(tr("Logistic regression normal"), "logistic");
  method_->addItem(tr("Difference of means"), "mean");
  name_ = new QLineEdit;
  name_->setPlaceholderText(tr("direction name, e.g. sentiment"));
  compute_ = new QPushButton(tr("Compute"));
  save_ = new QPushButton(tr("Save with the model"));
  saved_ = new QComboBox;
  saved_->setMinimumWidth(200);
  saved_->setPlaceholderText(tr("saved directions"));
  row->addWidget(new QLabel(tr("Method")));
  row->addWidget(method_);
  row->addWidget(name_, 1);
  row->addWidget(compute_);
  row->addWidget(save_);
  row->addWidget(new QLabel(tr("or use")));
  row->addWidget(saved_);
  layout->addLayout(row);
  result_ = new QLabel(tr("Define two sets and compute their direction."));
  result_->setWordWrap(true);
  layout->addWidget(result_);

  auto* apply = new QGroupBox(tr("Move a sentence along the direction"));
  auto* av = new QVBoxLayout(apply);
  sentence_ = new QLineEdit;
  sentence_->setPlaceholderText(tr("a sentence to move"));
  slider_ = new QSlider(Qt::Horizontal);
  slider_->setRange(0, kSteps);
  slider_->setValue(kSteps / 2);
  alphaLabel_ = new QLabel("alpha = 0.0");
  sliderOut_ = new QLabel;
  sliderOut_->setWordWrap(true);
  sliderOut_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont big = sliderOut_->font();
  big.setPointSizeF(big.pointSizeF() * 1.3);
  sliderOut_->setFont(big);
  auto* srow = new QHBoxLayout;
  srow->addWidget(new QLabel("-3"));
  srow->addWidget(slider_, 1);
  srow->addWidget(new QLabel("+3"));
  srow->addWidget(alphaLabel_);
  table_ = new QTableWidget(0, 2);
  table_->setHorizontalHeaderLabels({tr("alpha"), tr("decoded")});
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->setVisible(false);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  av->addWidget(sentence_);
  av->addLayout(srow);
  av->addWidget(sliderOut_);
  av->addWidget(table_, 1);
  layout->addWidget(apply, 3);

  auto* an = new QGroupBox(tr("Analogy: A is to B as C is to ?"));
  auto* ah = new QHBoxLayout(an);
  anA_ = new QLineEdit;
  anB_ = new QLineEdit;
  anC_ = new QLineEdit;
  anA_->setPlaceholderText("A");
  anB_->setPlaceholderText("B");
  anC_->setPlaceholderText("C");
  auto* solve = new QPushButton(tr("Solve"));
  anOut_ = new QLabel;
  anOut_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  for (auto* w : {anA_, anB_, anC_}) ah->addWidget(w, 1);
  ah->addWidget(solve);
  ah->addWidget(anOut_, 1);
  layout->addWidget(an);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(120);
  connect(debounce_, &QTimer::timeout, this, &DirectionsView::sendSlider);
  connect(compute_, &QPushButton::clicked, this, &DirectionsView::compute);
  connect(save_, &QPushButton::clicked, this, [this] { Q_EMIT requestSave(); });
  connect(saved_, &QComboBox::activated, this, [this](int i) { Q_EMIT requestUse(saved_->itemData(i).toString()); });
  connect(slider_, &QSlider::valueChanged, this, [this] {
    alphaLabel_->setText(QString("alpha = %1").arg(sliderAlpha(), 0, 'f', 1));
    debounce_->start();
  });
  connect(sentence_, &QLineEdit::returnPressed, this, [this] {
    sendTable();
    sendSlider();
  });
  connect(solve, &QPushButton::clicked, this, &DirectionsView::solveAnalogy);
  connect(anC_, &QLineEdit::returnPressed, this, &DirectionsView::solveAnalogy);
  setModelReady(false);
}

void DirectionsView::setMapAccess(std::function<QStringList()> selection, std::function<const LatentMap*()> map) {
  mapSelection_ = std::move(selection);
  map_ = std::move(map);
}

void DirectionsView::setSets(const QStringList& a, const QStringList& b) {
  a_->setPlainText(a.join('\n'));
  b_->setPlainText(b.join('\n'));
}
QStringList DirectionsView::setA() const { return lines(a_); }
QStringList DirectionsView::setB() const { return lines(b_); }
void DirectionsView::setMethod(const QString& m) { method_->setCurrentIndex(std::max(0, method_->findData(m))); }
void DirectionsView::setSentence(const QString& s) { sentence_->setText(s); }
double DirectionsView::sliderAlpha() const { return -3.0 + 6.0 * slider_->value() / kSteps; }
QString DirectionsView::resultText() const { return result_->text(); }
QString DirectionsView::analogyText() const { return analogyText_; }
void DirectionsView::setAnalogy(const QString& a, const QString& b, const QString& c) {
  anA_->setText(a);
  anB_->setText(b);
  anC_->setText(c);
}

QString DirectionsView::tableText() const {
  QStringList out;
  for (int r = 0; r < table_->rowCount(); ++r)
    out << table_->item(r, 0)->text() + "\t" + (table_->item(r, 1) ? table_->item(r, 1)->text() : QString());
  return out.join('\n');
}

void DirectionsView::setModelReady(bool ready) {
  modelReady_ = ready;
  compute_->setEnabled(ready);
  save_->setEnabled(ready && hasDirection_);
  if (!ready) hasDirection_ = false;
}

void DirectionsView::compute() {
  const QStringList a = setA(), b = setB();
  if (a.size() < 2 || b.size() < 2) {
    result_->setText(tr("Each set needs at least 2 sentences (A has %1, B has %2).").arg(a.size()).arg(b.size()));
    return;
  }
  computeId_ = nextId_++;
  result_->setText(tr("Computing…"));
  Q_EMIT requestCompute(computeId_, a, b, method_->currentData().toString(), name_->text(), labelA_->text(), labelB_->text());
}

void DirectionsView::showDirection(const DirectionInfo& d) {
  if (d.requestId != 0 && d.requestId != computeId_) return;
  hasDirection_ = true;
  save_->setEnabled(modelReady_);
  name_->setText(d.name);
  labelA_->setText(d.labelA);
  labelB_->setText(d.labelB);
  result_->setText(tr("<b>%1</b>: %2 → %3 (%4). Held-out accuracy <b>%5%</b> (%6-fold cross-validation, %7 + %8 sentences): "
                      "how linearly the model encodes it. |direction| = %9.%10")
                       .arg(d.name.toHtmlEscaped(), d.labelA.toHtmlEscaped(), d.labelB.toHtmlEscaped(),
                            d.method == "mean" ? tr("difference of means") : tr("logistic regression normal"))
                       .arg(100 * d.accuracy, 0, 'f', 1)
                       .arg(d.folds)
                       .arg(d.nA)
                       .arg(d.nB)
                       .arg(d.norm, 0, 'f', 3)
                       .arg(d.saved ? tr(" Saved with the model.") : QString()));
  if (!sentence_->text().trimmed().isEmpty()) {
    sendTable();
    sendSlider();
  }
}

void DirectionsView::showSaved(const QStringList& entries) {
  saved_->clear();
  for (const auto& line : entries) {
    const int colon = line.indexOf(':');
    if (colon > 0) saved_->addItem(line, line.left(colon));
  }
}

void DirectionsView::sendSlider() {
  if (!hasDirection_ || sentence_->text().trimmed().isEmpty()) return;
  if (sliderInFlight_) {
    sliderDirty_ = true;
    return;
  }
  sliderInFlight_ = true;
  sliderDirty_ = false;
  sliderId_ = nextId_++;
  Q_EMIT requestApply(sliderId_, sentence_->text(), {sliderAlpha()});
}

void DirectionsView::sendTable() {
  if (!hasDirection_ || sentence_->text().trimmed().isEmpty()) return;
  tableId_ = nextId_++;
  Q_EMIT requestApply(tableId_, sentence_->text(), {-3, -2, -1, 0, 1, 2, 3});
}

void DirectionsView::showApplied(const DirectionApplied& r) {
  if (r.requestId == sliderId_) {
    sliderInFlight_ = false;
    sliderText_ = r.texts.value(0);
    sliderShownAlpha_ = r.alphas.value(0);
    sliderOut_->setText(QString("α = %1: %2").arg(r.alphas.value(0), 0, 'f', 1).arg(sliderText_));
    if (sliderDirty_) sendSlider();
  } else if (r.requestId == tableId_) {
    table_->setRowCount(r.alphas.size());
    for (int i = 0; i < r.alphas.size(); ++i) {
      table_->setItem(i, 0, new QTableWidgetItem(QString::number(r.alphas[i], 'f', 1)));
      table_->setItem(i, 1, new QTableWidgetItem(r.texts.value(i)));
    }
  }
}

void DirectionsView::requestFailed(const QString& message) {
  sliderInFlight_ = sliderDirty_ = false;
  result_->setText(message.toHtmlEscaped());
}

void DirectionsView::solveAnalogy() {
  analogyId_ = nextId_++;
  anOut_->setText(tr("…"));
  Q_EMIT requestAnalogy(analogyId_, anA_->text(), anB_->text(), anC_->text());
}

void DirectionsView::showAnalogy(int requestId, const QString& answer) {
  if (requestId != analogyId_) return;
  analogyText_ = answer;
  anOut_->setText("→ " + answer);
}

}  // namespace latent::ui
