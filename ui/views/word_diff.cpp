#include "views/word_diff.h"

#include <QRegularExpression>

namespace latent::ui {

QVector<bool> matchedWords(const QStringList& a, const QStringList& b) {
  const int n = a.size(), m = b.size();
  QVector<QVector<int>> lcs(n + 1, QVector<int>(m + 1, 0));  // lcs[i][j]: of a[i..], b[j..]
  for (int i = n - 1; i >= 0; --i)
    for (int j = m - 1; j >= 0; --j)
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  QVector<bool> matched(m, false);
  for (int i = 0, j = 0; i < n && j < m;) {
    if (a[i] == b[j]) {
      matched[j] = true;
      ++i;
      ++j;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      ++i;
    } else {
      ++j;
    }
  }
  return matched;
}

QString highlightDifferences(const QString& input, const QString& output) {
  static const QRegularExpression space("\\s+");
  const QStringList a = input.split(space, Qt::SkipEmptyParts);
  const QStringList b = output.split(space, Qt::SkipEmptyParts);
  const QVector<bool> same = matchedWords(a, b);
  QStringList html;
  for (int j = 0; j < b.size(); ++j)
    html << (same[j] ? b[j].toHtmlEscaped()
                     : QString("<span style=\"background:#ffd6d6;color:#a00000\">%1</span>").arg(b[j].toHtmlEscaped()));
  return html.join(' ');
}

}  // namespace latent::ui
