#include "corpus_view.h"

#include "qcp.h"

#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "data/corpus.h"
#include "util/error.h"

namespace latent::ui {
namespace {
constexpr size_t kBucketWidth = 2;
constexpr size_t kBuckets = 20;
}  // namespace

CorpusView::CorpusView(QWidget* parent) : QWidget(parent) {
  title_ = new QLabel(tr("No corpus loaded"), this);
  title_->setWordWrap(true);
  title_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  stats_ = new QTableWidget(0, 2, this);
  stats_->setHorizontalHeaderLabels({tr("Lines"), tr("Count")});
  stats_->horizontalHeader()->setStretchLastSection(true);
  stats_->verticalHeader()->hide();
  stats_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  histogram_ = new QCustomPlot(this);
  histogram_->setMinimumHeight(220);
  histogram_->xAxis->setLabel(tr("words per sentence"));
  histogram_->yAxis->setLabel(tr("sentences"));
  samples_ = new QPlainTextEdit(this);
  samples_->setReadOnly(true);
  samples_->setPlaceholderText(tr("First sentences of the corpus"));

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(stats_);
  split->addWidget(histogram_);
  split->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(title_);
  layout->addWidget(split, 2);
  layout->addWidget(samples_, 1);
}

bool CorpusView::loadCorpus(const QString& path) {
  Corpus corpus;
  try {
    corpus = load_corpus(path.toStdString());
  } catch (const std::exception& e) {
    const QString msg = QString::fromStdString(latent::user_message(e));
    title_->setText(tr("Cannot load corpus: %1").arg(msg));
    Q_EMIT corpusFailed(msg);
    return false;
  }
  path_ = path;
  kept_ = static_cast<int>(corpus.stats.kept);
  title_->setText(tr("<b>%1</b><br>%2").arg(path.toHtmlEscaped(),
                                             QString::fromStdString(corpus.stats.summary()).toHtmlEscaped()));
  std::vector<std::pair<QString, size_t>> rows = {{tr("read"), corpus.stats.lines_read}, {tr("kept"), corpus.stats.kept}};
  for (const auto& [why, n] : corpus.stats.skipped) rows.emplace_back(tr("skipped: %1").arg(QString::fromStdString(why)), n);
  for (const auto& [why, n] : corpus.stats.modified) rows.emplace_back(QString::fromStdString(why), n);
  stats_->setRowCount(static_cast<int>(rows.size()));
  for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
    stats_->setItem(r, 0, new QTableWidgetItem(rows[r].first));
    stats_->setItem(r, 1, new QTableWidgetItem(QString::number(rows[r].second)));
  }

  const auto hist = length_histogram(corpus.sentences, kBucketWidth, kBuckets);
  histogram_->clearPlottables();
  auto* bars = new QCPBars(histogram_->xAxis, histogram_->yAxis);
  QVector<double> keys, values;
  double peak = 1;
  for (size_t i = 0; i < hist.size(); ++i) {
    keys << static_cast<double>(i * kBucketWidth) + 1.5;
    values << static_cast<double>(hist[i]);
    peak = std::max(peak, values.back());
  }
  bars->setData(keys, values, true);
  bars->setWidth(kBucketWidth * 0.9);
  bars->setPen(QPen(QColor(40, 90, 160)));
  bars->setBrush(QColor(70, 130, 200));
  histogram_->xAxis->setRange(0, kBucketWidth * kBuckets + 1);
  histogram_->yAxis->setRange(0, peak * 1.08);
  histogram_->replot();

  QString sample;
  for (size_t i = 0; i < std::min<size_t>(40, corpus.sentences.size()); ++i)
    sample += QString::fromStdString(corpus.sentences[i]) + '\n';
  samples_->setPlainText(sample);
  Q_EMIT corpusLoaded(path, kept_);
  return true;
}

}  // namespace latent::ui
