#include "importers/html_text.h"

#include <QHash>
#include <QSet>

namespace lectern::importers {

namespace {

const QHash<QString, char32_t>& namedEntities() {
    static const QHash<QString, char32_t> entities{
        {QStringLiteral("amp"), U'&'},        {QStringLiteral("lt"), U'<'},
        {QStringLiteral("gt"), U'>'},         {QStringLiteral("quot"), U'"'},
        {QStringLiteral("apos"), U'\''},      {QStringLiteral("nbsp"), U'\u00A0'},
        {QStringLiteral("copy"), U'\u00A9'},  {QStringLiteral("reg"), U'\u00AE'},
        {QStringLiteral("trade"), U'\u2122'}, {QStringLiteral("mdash"), U'\u2014'},
        {QStringLiteral("ndash"), U'\u2013'}, {QStringLiteral("hellip"), U'\u2026'},
        {QStringLiteral("lsquo"), U'\u2018'}, {QStringLiteral("rsquo"), U'\u2019'},
        {QStringLiteral("ldquo"), U'\u201C'}, {QStringLiteral("rdquo"), U'\u201D'},
        {QStringLiteral("bull"), U'\u2022'},  {QStringLiteral("middot"), U'\u00B7'},
        {QStringLiteral("euro"), U'\u20AC'},  {QStringLiteral("laquo"), U'\u00AB'},
        {QStringLiteral("raquo"), U'\u00BB'}, {QStringLiteral("times"), U'\u00D7'},
        {QStringLiteral("sect"), U'\u00A7'},  {QStringLiteral("para"), U'\u00B6'},
        {QStringLiteral("deg"), U'\u00B0'},
    };
    return entities;
}

const QSet<QString>& paragraphElements() {
    static const QSet<QString> names{
        QStringLiteral("p"),      QStringLiteral("div"),     QStringLiteral("h1"),
        QStringLiteral("h2"),     QStringLiteral("h3"),      QStringLiteral("h4"),
        QStringLiteral("h5"),     QStringLiteral("h6"),      QStringLiteral("blockquote"),
        QStringLiteral("pre"),    QStringLiteral("table"),   QStringLiteral("ul"),
        QStringLiteral("ol"),     QStringLiteral("section"), QStringLiteral("article"),
        QStringLiteral("header"), QStringLiteral("footer"),  QStringLiteral("hr"),
        QStringLiteral("dl"),     QStringLiteral("figure")};
    return names;
}

const QSet<QString>& lineElements() {
    static const QSet<QString> names{QStringLiteral("br"), QStringLiteral("li"), QStringLiteral("tr"),
                                     QStringLiteral("dt"), QStringLiteral("dd"), QStringLiteral("caption")};
    return names;
}

class TextBuilder {
public:
    void character(QChar c, bool preformatted) {
        if (!preformatted && c.isSpace()) {
            space_ = true;
            return;
        }
        flush();
        text_ += c;
    }
    void codePoint(char32_t code) {
        if (code == 0 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) code = 0xFFFD;
        flush();
        text_ += QString::fromUcs4(&code, 1);
    }
    void lineBreak(int strength) { pendingBreak_ = std::max(pendingBreak_, strength); }
    QString take() { return std::move(text_); }

private:
    void flush() {
        if (!text_.isEmpty()) {
            if (pendingBreak_ == 2)
                text_ += QLatin1String("\n\n");
            else if (pendingBreak_ == 1)
                text_ += QLatin1Char('\n');
            else if (space_)
                text_ += QLatin1Char(' ');
        }
        pendingBreak_ = 0;
        space_ = false;
    }
    QString text_;
    int pendingBreak_ = 0;
    bool space_ = false;
};

qsizetype indexOfCaseless(const QString& text, QLatin1String needle, qsizetype from) {
    return text.indexOf(needle, from, Qt::CaseInsensitive);
}

// Decodes the entity at text[i] == '&'; returns the index after it (or i + 1 when it is no entity).
qsizetype decodeEntity(const QString& text, qsizetype i, TextBuilder& out) {
    constexpr qsizetype kMaxEntity = 32;
    const qsizetype semicolon = text.indexOf(QLatin1Char(';'), i + 1);
    if (semicolon < 0 || semicolon - i > kMaxEntity) {
        out.character(QLatin1Char('&'), false);
        return i + 1;
    }
    const QString name = text.mid(i + 1, semicolon - i - 1);
    bool ok = false;
    char32_t code = 0;
    if (name.startsWith(QLatin1String("#x")) || name.startsWith(QLatin1String("#X")))
        code = char32_t(name.mid(2).toUInt(&ok, 16));
    else if (name.startsWith(QLatin1Char('#')))
        code = char32_t(name.mid(1).toUInt(&ok, 10));
    else if (const auto it = namedEntities().constFind(name); it != namedEntities().cend()) {
        code = it.value();
        ok = true;
    }
    if (!ok) {
        out.character(QLatin1Char('&'), false);
        return i + 1;
    }
    out.codePoint(code);
    return semicolon + 1;
}

} // namespace

QString htmlToText(const QString& html, QString* title) {
    TextBuilder out;
    int preformatted = 0;
    const qsizetype size = html.size();
    qsizetype i = 0;
    while (i < size) {
        const QChar c = html.at(i);
        if (c == QLatin1Char('&')) {
            i = decodeEntity(html, i, out);
            continue;
        }
        if (c != QLatin1Char('<') || i + 1 >= size ||
            !(html.at(i + 1).isLetter() || html.at(i + 1) == QLatin1Char('/') ||
              html.at(i + 1) == QLatin1Char('!') || html.at(i + 1) == QLatin1Char('?'))) {
            out.character(c, preformatted > 0);
            ++i;
            continue;
        }
        if (html.mid(i, 4) == QLatin1String("<!--")) {
            const qsizetype end = html.indexOf(QLatin1String("-->"), i + 4);
            i = end < 0 ? size : end + 3;
            continue;
        }
        const bool closing = html.at(i + 1) == QLatin1Char('/');
        qsizetype nameEnd = i + (closing ? 2 : 1);
        while (nameEnd < size && (html.at(nameEnd).isLetterOrNumber())) ++nameEnd;
        const QString name = html.mid(i + (closing ? 2 : 1), nameEnd - i - (closing ? 2 : 1)).toLower();
        // The end of the tag, skipping quoted attribute values.
        qsizetype end = nameEnd;
        QChar quote;
        while (end < size) {
            const QChar e = html.at(end);
            if (!quote.isNull()) {
                if (e == quote) quote = QChar();
            } else if (e == QLatin1Char('"') || e == QLatin1Char('\'')) {
                quote = e;
            } else if (e == QLatin1Char('>')) {
                break;
            }
            ++end;
        }
        i = end < size ? end + 1 : size;
        if (closing) {
            if (name == QLatin1String("pre") && preformatted > 0) --preformatted;
        } else if (name == QLatin1String("script") || name == QLatin1String("style") ||
                   name == QLatin1String("template") || name == QLatin1String("title")) {
            const QLatin1String terminator = name == QLatin1String("script")  ? QLatin1String("</script")
                                             : name == QLatin1String("style") ? QLatin1String("</style")
                                             : name == QLatin1String("title") ? QLatin1String("</title")
                                                                              : QLatin1String("</template");
            const qsizetype close = indexOfCaseless(html, terminator, i);
            const qsizetype contentEnd = close < 0 ? size : close;
            if (name == QLatin1String("title") && title != nullptr && title->isEmpty())
                *title =
                    htmlToText(html.mid(i, contentEnd - i), nullptr).trimmed(); // entities; no tags inside
            const qsizetype closeEnd = close < 0 ? size : html.indexOf(QLatin1Char('>'), close);
            i = closeEnd < 0 ? size : closeEnd + 1;
            continue;
        } else if (name == QLatin1String("pre")) {
            ++preformatted;
        } else if (name == QLatin1String("td") || name == QLatin1String("th")) {
            out.character(QLatin1Char(' '), false);
        }
        if (paragraphElements().contains(name))
            out.lineBreak(2);
        else if (lineElements().contains(name))
            out.lineBreak(1);
    }
    return out.take();
}

} // namespace lectern::importers
