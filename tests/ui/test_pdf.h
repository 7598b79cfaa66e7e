#pragma once
// A PDF made by the tests themselves with QPdfWriter: known words at known places, so a test can say
// where a word must be highlighted.

#include <QFont>
#include <QFontMetricsF>
#include <QList>
#include <QPainter>
#include <QPdfWriter>
#include <QPointF>
#include <QRectF>
#include <QString>

namespace lectern::ui::testing {

// Words placed on the test PDF: page (1-based), text, baseline position in points.
struct Placed {
    int page;
    QString text;
    QPointF baseline;
};
inline const QList<Placed> kWords = {
    {1, QStringLiteral("Lectern test document"), {60, 80}},
    {2, QStringLiteral("find the needle here"), {100, 200}},
    {3, QStringLiteral("cited passage on page three"), {50, 300}},
};
inline const QSizeF kPageSize(400, 500);

inline QFont testFont() {
    QFont font(QStringLiteral("DejaVu Sans"));
    font.setPixelSize(20); // the writer runs at 72 dpi: 20 px == 20 pt
    return font;
}

// Where `word` (a whole word of a placed line) is on its page, from the font's own metrics.
inline QRectF expectedRect(const Placed& line, const QString& word) {
    const QFontMetricsF metrics(testFont());
    const qsizetype at = line.text.indexOf(word);
    const double left = line.baseline.x() + metrics.horizontalAdvance(line.text.left(at));
    return QRectF(left, line.baseline.y() - metrics.ascent(), metrics.horizontalAdvance(word),
                  metrics.ascent() + metrics.descent());
}

inline QString makePdf(const QString& directory) {
    const QString path = directory + QStringLiteral("/known.pdf");
    QPdfWriter writer(path);
    writer.setPageSize(QPageSize(kPageSize, QPageSize::Point));
    writer.setPageMargins(QMarginsF(0, 0, 0, 0));
    writer.setResolution(72);
    QPainter painter(&writer);
    painter.setFont(testFont());
    for (int page = 1; page <= 3; ++page) {
        if (page > 1) writer.newPage();
        for (const Placed& word : kWords)
            if (word.page == page) painter.drawText(word.baseline, word.text);
    }
    painter.end();
    return path;
}

} // namespace lectern::ui::testing
