#pragma once
// Text folded for matching a model's quote against a passage: case, whitespace runs, line-end
// hyphenation, typographic quotes and dashes, ligatures and other compatibility forms are made equal,
// and every folded unit remembers which source units it came from, so that a match found in folded
// form lands on the exact source characters.

#include <QString>
#include <QStringView>

#include <vector>

namespace lectern::answers {

struct FoldedText {
    QString text;
    // For folded unit i: the source units [source_start[i], source_end[i]) it came from.
    std::vector<qsizetype> source_start;
    std::vector<qsizetype> source_end;

    // The source range covered by folded units [start, end); end > start.
    qsizetype sourceStart(qsizetype start) const { return source_start[std::size_t(start)]; }
    qsizetype sourceEnd(qsizetype end) const { return source_end[std::size_t(end - 1)]; }
};

FoldedText fold(QStringView source);

} // namespace lectern::answers
