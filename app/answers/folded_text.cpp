#include "app/answers/folded_text.h"

#include <QChar>

namespace lectern::answers {
namespace {

bool isInvisible(char32_t c) {
    return c == 0x00AD || (c >= 0x200B && c <= 0x200D) || c == 0x2060 || c == 0xFEFF;
}

bool isHyphen(char32_t c) {
    return c == u'-' || c == 0x2010 || c == 0x2011;
}

bool isLineBreak(char32_t c) {
    return c == u'\n' || c == u'\r' || c == 0x2028 || c == 0x2029 || c == 0x0B;
}

// Typographic punctuation that models and PDFs use interchangeably with the ASCII forms.
char16_t asciiEquivalent(char32_t c) {
    switch (c) {
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x201B:
    case 0x2032:
    case 0x00B4:
    case 0x0060:
    case 0x2039:
    case 0x203A:
        return u'\'';
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x201F:
    case 0x2033:
    case 0x00AB:
    case 0x00BB:
        return u'"';
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2015:
    case 0x2212:
        return u'-';
    default:
        return 0;
    }
}

class Folder {
public:
    explicit Folder(QStringView source) : source_(source) {}

    FoldedText run() {
        qsizetype i = 0;
        while (i < source_.size()) {
            const qsizetype start = i;
            const char32_t c = next(i);
            if (isInvisible(c)) continue;
            if (QChar::isSpace(c)) {
                if (pending_space_start_ < 0) pending_space_start_ = start;
                pending_space_end_ = i;
                continue;
            }
            if (isHyphen(c) && joinsLineBreak(i)) continue;
            if (const char16_t ascii = asciiEquivalent(c)) {
                output(QStringView(&ascii, 1), start, i);
            } else if (c < 0x80) {
                const char16_t lower = char16_t(c >= u'A' && c <= u'Z' ? c + 32 : c);
                output(QStringView(&lower, 1), start, i);
            } else {
                const QString folded =
                    QString::fromUcs4(&c, 1).normalized(QString::NormalizationForm_KD).toCaseFolded();
                output(folded, start, i);
            }
        }
        return std::move(out_);
    }

private:
    char32_t next(qsizetype& i) const {
        const QChar high = source_[i++];
        if (high.isHighSurrogate() && i < source_.size() && source_[i].isLowSurrogate())
            return QChar::surrogateToUcs4(high, source_[i++]);
        return high.unicode();
    }

    // "inter-\nnational" -> "international": a hyphen after a letter, then white space with a line
    // break in it, then a letter. Consumes the white space on success.
    bool joinsLineBreak(qsizetype& i) {
        if (out_.text.isEmpty() || pending_space_start_ >= 0 || !out_.text.back().isLetter()) return false;
        qsizetype j = i;
        bool line_break = false;
        while (j < source_.size() && source_[j].isSpace()) line_break |= isLineBreak(source_[j++].unicode());
        if (!line_break || j >= source_.size() || !source_[j].isLetter()) return false;
        i = j;
        return true;
    }

    void output(QStringView units, qsizetype start, qsizetype end) {
        if (pending_space_start_ >= 0) {
            if (!out_.text.isEmpty()) append(u' ', pending_space_start_, pending_space_end_);
            pending_space_start_ = -1;
        }
        for (const QChar unit : units) {
            // Compatibility decompositions may yield spaces (U+2002 and kin are caught earlier).
            if (unit.isSpace()) {
                if (!out_.text.isEmpty() && out_.text.back() != u' ') append(u' ', start, end);
                continue;
            }
            append(unit, start, end);
        }
    }

    void append(QChar unit, qsizetype start, qsizetype end) {
        out_.text.append(unit);
        out_.source_start.push_back(start);
        out_.source_end.push_back(end);
    }

    QStringView source_;
    FoldedText out_;
    qsizetype pending_space_start_ = -1;
    qsizetype pending_space_end_ = -1;
};

} // namespace

FoldedText fold(QStringView source) {
    return Folder(source).run();
}

} // namespace lectern::answers
