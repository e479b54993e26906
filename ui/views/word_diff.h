// Word-level comparison for highlighting what a reconstruction changed.
#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace latent::ui {

// For each word of `output`, whether it is part of a longest common subsequence with
// `input` (false = changed or inserted; the view highlights those).
QVector<bool> matchedWords(const QStringList& input, const QStringList& output);

// `output` as HTML with the words that differ from `input` highlighted.
QString highlightDifferences(const QString& input, const QString& output);

}  // namespace latent::ui
