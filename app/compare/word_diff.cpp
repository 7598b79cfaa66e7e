#include "app/compare/word_diff.h"

#include <QHash>
#include <QTextBoundaryFinder>

#include <algorithm>
#include <vector>

namespace lectern::compare {

namespace {

const QString kPageSeparator = QStringLiteral("\n\n");

struct Token {
    TextRange range;
    bool blank = false; // white space only
};

bool isBlank(QStringView text) {
    return std::all_of(text.begin(), text.end(), [](QChar c) { return c.isSpace(); });
}

// Unicode word segments, with adjacent white-space segments merged into one token so that a different
// number of spaces or a re-wrapped line is one small change, not many.
std::vector<Token> tokenize(const QString& text) {
    std::vector<Token> tokens;
    QTextBoundaryFinder finder(QTextBoundaryFinder::Word, text);
    qsizetype start = 0;
    for (qsizetype end = finder.toNextBoundary(); end > 0; end = finder.toNextBoundary()) {
        const bool blank = isBlank(QStringView(text).sliced(start, end - start));
        if (blank && !tokens.empty() && tokens.back().blank && tokens.back().range.end == start)
            tokens.back().range.end = end;
        else
            tokens.push_back({{start, end}, blank});
        start = end;
    }
    return tokens;
}

// Equal tokens get equal ids, so the diff compares integers.
std::vector<int> internTokens(const QString& text, const std::vector<Token>& tokens,
                              QHash<QStringView, int>& ids) {
    std::vector<int> out;
    out.reserve(tokens.size());
    for (const Token& token : tokens) {
        const QStringView view =
            QStringView(text).sliced(token.range.start, token.range.end - token.range.start);
        auto found = ids.constFind(view);
        if (found == ids.cend()) found = ids.insert(view, int(ids.size()));
        out.push_back(found.value());
    }
    return out;
}

enum class Op { Equal, Delete, Insert };
struct Run {
    Op op;
    qsizetype count;
};

class MyersDiff {
public:
    MyersDiff(const std::vector<int>& a, const std::vector<int>& b, qsizetype max_work)
        : a_(a), b_(b), work_left_(max_work) {
        const size_t size = a.size() + b.size() + 4;
        forward_.resize(size);
        backward_.resize(size);
    }

    // False when the work bound ran out.
    bool run() { return diff(0, qsizetype(a_.size()), 0, qsizetype(b_.size())); }
    const std::vector<Run>& runs() const { return runs_; }

private:
    enum class Bisect { Split, Disjoint, OutOfWork };

    void append(Op op, qsizetype count) {
        if (count == 0) return;
        if (!runs_.empty() && runs_.back().op == op)
            runs_.back().count += count;
        else
            runs_.push_back({op, count});
    }

    bool diff(qsizetype a0, qsizetype a1, qsizetype b0, qsizetype b1) {
        qsizetype prefix = 0;
        while (a0 + prefix < a1 && b0 + prefix < b1 && a_[a0 + prefix] == b_[b0 + prefix]) ++prefix;
        append(Op::Equal, prefix);
        a0 += prefix;
        b0 += prefix;
        qsizetype suffix = 0;
        while (a1 - suffix > a0 && b1 - suffix > b0 && a_[a1 - suffix - 1] == b_[b1 - suffix - 1]) ++suffix;
        a1 -= suffix;
        b1 -= suffix;

        qsizetype x = 0, y = 0;
        const Bisect bisect = (a0 == a1 || b0 == b1) ? Bisect::Disjoint : split(a0, a1, b0, b1, x, y);
        if (bisect == Bisect::OutOfWork) return false;
        // A split at a corner would recurse on the same problem; taking it as disjoint costs precision in
        // a case that should not arise, never a loop.
        const bool progress = (x > 0 || y > 0) && (x < a1 - a0 || y < b1 - b0);
        if (bisect == Bisect::Split && progress) {
            if (!diff(a0, a0 + x, b0, b0 + y) || !diff(a0 + x, a1, b0 + y, b1)) return false;
        } else {
            append(Op::Delete, a1 - a0);
            append(Op::Insert, b1 - b0);
        }
        append(Op::Equal, suffix);
        return true;
    }

    // Myers 1986, section 4b: extend the furthest-reaching paths from both corners, d edits at a time,
    // until they overlap; the overlap point lies on a shortest edit path. V holds x per diagonal k
    // (backward: counted from the far corner), -1 where no path has reached; diagonals whose path has
    // left the grid are dropped from the ends of the range.
    Bisect split(qsizetype a0, qsizetype a1, qsizetype b0, qsizetype b1, qsizetype& split_x,
                 qsizetype& split_y) {
        const qsizetype n = a1 - a0, m = b1 - b0;
        const qsizetype max_d = (n + m + 1) / 2;
        const qsizetype v_offset = max_d, v_length = 2 * max_d + 2;
        qsizetype* v1 = forward_.data();
        qsizetype* v2 = backward_.data();
        std::fill(v1, v1 + v_length, -1);
        std::fill(v2, v2 + v_length, -1);
        v1[v_offset + 1] = 0;
        v2[v_offset + 1] = 0;
        const qsizetype delta = n - m;
        const bool front = (delta & 1) != 0; // which direction can see the overlap first
        qsizetype k1_start = 0, k1_end = 0, k2_start = 0, k2_end = 0;
        for (qsizetype d = 0; d < max_d; ++d) {
            work_left_ -= 2 * d + 2;
            if (work_left_ < 0) return Bisect::OutOfWork;
            for (qsizetype k1 = -d + k1_start; k1 <= d - k1_end; k1 += 2) {
                const qsizetype i = v_offset + k1;
                qsizetype x1 = (k1 == -d || (k1 != d && v1[i - 1] < v1[i + 1])) ? v1[i + 1] : v1[i - 1] + 1;
                qsizetype y1 = x1 - k1;
                while (x1 < n && y1 < m && a_[a0 + x1] == b_[b0 + y1]) ++x1, ++y1;
                v1[i] = x1;
                if (x1 > n) {
                    k1_end += 2;
                } else if (y1 > m) {
                    k1_start += 2;
                } else if (front) {
                    const qsizetype j = v_offset + delta - k1;
                    if (j >= 0 && j < v_length && v2[j] != -1 && x1 >= n - v2[j]) {
                        split_x = x1;
                        split_y = y1;
                        return Bisect::Split;
                    }
                }
            }
            for (qsizetype k2 = -d + k2_start; k2 <= d - k2_end; k2 += 2) {
                const qsizetype i = v_offset + k2;
                qsizetype x2 = (k2 == -d || (k2 != d && v2[i - 1] < v2[i + 1])) ? v2[i + 1] : v2[i - 1] + 1;
                qsizetype y2 = x2 - k2;
                while (x2 < n && y2 < m && a_[a1 - 1 - x2] == b_[b1 - 1 - y2]) ++x2, ++y2;
                v2[i] = x2;
                if (x2 > n) {
                    k2_end += 2;
                } else if (y2 > m) {
                    k2_start += 2;
                } else if (!front) {
                    const qsizetype j = v_offset + delta - k2;
                    if (j >= 0 && j < v_length && v1[j] != -1 && v1[j] >= n - x2) {
                        split_x = v1[j];
                        split_y = v1[j] - (j - v_offset);
                        return Bisect::Split;
                    }
                }
            }
        }
        return Bisect::Disjoint; // no token in common
    }

    const std::vector<int>& a_;
    const std::vector<int>& b_;
    std::vector<qsizetype> forward_, backward_;
    std::vector<Run> runs_;
    qsizetype work_left_;
};

// Myers' script is minimal but not always where a reader puts the change: an insertion may start with
// the space that belongs before it ("2024[,] [as amended ... 2025 ]between"). A block of insertions (or
// deletions) that ends with the same token as the one before it is slid left, as diff tools do, so that
// it joins the change before it where it can.
std::vector<Op> slideLeft(const std::vector<Run>& runs, const std::vector<int>& a,
                          const std::vector<int>& b) {
    std::vector<Op> script;
    for (const Run& run : runs) script.insert(script.end(), size_t(run.count), run.op);
    qsizetype ai = 0, bi = 0; // the token indices at position p of the script
    for (size_t p = 0; p < script.size();) {
        const Op op = script[p];
        if (op == Op::Equal) {
            ++ai, ++bi, ++p;
            continue;
        }
        size_t end = p;
        while (end < script.size() && script[end] == op) ++end;
        const qsizetype length = qsizetype(end - p);
        const auto token = [&](qsizetype index) {
            return op == Op::Delete ? a[size_t(index)] : b[size_t(index)];
        };
        const bool pure = end == script.size() || script[end] == Op::Equal; // not half of a replacement
        while (pure && p > 0 && script[p - 1] == Op::Equal) {
            const qsizetype first = op == Op::Delete ? ai : bi;
            if (token(first - 1) != token(first + length - 1)) break;
            std::swap(script[p - 1], script[end - 1]);
            --p, --end, --ai, --bi;
        }
        (op == Op::Delete ? ai : bi) += length;
        p = end;
    }
    return script;
}

std::vector<Run> toRuns(const std::vector<Op>& script) {
    std::vector<Run> runs;
    for (const Op op : script) {
        if (!runs.empty() && runs.back().op == op)
            ++runs.back().count;
        else
            runs.push_back({op, 1});
    }
    return runs;
}

// A lone space kept as "equal" between a deleted and an inserted word ("shall not unreasonably" vs "may
// withhold at") splits what a reader sees as one change, so white space alone between two changes is
// folded into them when together they replace text. Each change comes out as its deletions, then its
// insertions.
std::vector<Run> foldBlankEquals(const std::vector<Run>& runs, const std::vector<Token>& left) {
    struct Group {
        qsizetype equal = 0, deleted = 0, inserted = 0; // a leading equal run, then one change
    };
    std::vector<Group> groups{{}};
    qsizetype a = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
        const Run& run = runs[i];
        if (run.op == Op::Delete) {
            groups.back().deleted += run.count;
            a += run.count;
        }
        if (run.op == Op::Insert) groups.back().inserted += run.count;
        if (run.op != Op::Equal) continue;
        bool blank = i > 0 && i + 1 < runs.size();
        for (qsizetype t = 0; blank && t < run.count; ++t) blank = left[size_t(a + t)].blank;
        a += run.count;
        Group& previous = groups.back();
        if (blank) {
            // The change after this run: up to the next equal run.
            qsizetype next_deleted = 0, next_inserted = 0;
            for (size_t j = i + 1; j < runs.size() && runs[j].op != Op::Equal; ++j)
                (runs[j].op == Op::Delete ? next_deleted : next_inserted) += runs[j].count;
            const bool replaces = (previous.deleted || next_deleted) && (previous.inserted || next_inserted);
            if (replaces) {
                previous.deleted += run.count;
                previous.inserted += run.count;
                continue;
            }
        }
        groups.push_back({run.count, 0, 0});
    }
    std::vector<Run> out;
    for (const Group& group : groups) {
        if (group.equal) out.push_back({Op::Equal, group.equal});
        if (group.deleted) out.push_back({Op::Delete, group.deleted});
        if (group.inserted) out.push_back({Op::Insert, group.inserted});
    }
    return out;
}

QString describeTooLong(const char* side, qsizetype tokens, qsizetype limit) {
    return QStringLiteral("The %1 document is too long to redline: it has %2 words and spaces, and the "
                          "comparison handles up to %3. Compare a part of it (a range of pages) instead.")
        .arg(QLatin1String(side))
        .arg(tokens)
        .arg(limit);
}

} // namespace

Result<Redline> compareTexts(const QString& left, const QString& right, const CompareLimits& limits) {
    const std::vector<Token> left_tokens = tokenize(left);
    const std::vector<Token> right_tokens = tokenize(right);
    if (qsizetype(left_tokens.size()) > limits.maxTokens)
        return Error{describeTooLong("first", qsizetype(left_tokens.size()), limits.maxTokens).toStdString()};
    if (qsizetype(right_tokens.size()) > limits.maxTokens)
        return Error{
            describeTooLong("second", qsizetype(right_tokens.size()), limits.maxTokens).toStdString()};

    QHash<QStringView, int> ids;
    const std::vector<int> a = internTokens(left, left_tokens, ids);
    const std::vector<int> b = internTokens(right, right_tokens, ids);
    MyersDiff myers(a, b, limits.maxWork);
    if (!myers.run())
        return Error{"The two documents differ in too many places to redline word by word within the time "
                     "allowed. They may be different documents; compare a smaller part of each instead."};
    const std::vector<Run> runs = foldBlankEquals(toRuns(slideLeft(myers.runs(), a, b)), left_tokens);

    Redline redline;
    redline.leftTokens = qsizetype(left_tokens.size());
    redline.rightTokens = qsizetype(right_tokens.size());
    // Token index -> character offset; one past the last token maps to the text's end.
    const auto offsetOf = [](const std::vector<Token>& tokens, qsizetype index, qsizetype text_end) {
        return index < qsizetype(tokens.size()) ? tokens[size_t(index)].range.start : text_end;
    };
    qsizetype ai = 0, bi = 0;
    for (const Run& run : runs) {
        const qsizetype a_end = run.op == Op::Insert ? ai : ai + run.count;
        const qsizetype b_end = run.op == Op::Delete ? bi : bi + run.count;
        DiffSpan span;
        span.kind = run.op == Op::Equal    ? SpanKind::Equal
                    : run.op == Op::Delete ? SpanKind::Deleted
                                           : SpanKind::Inserted;
        span.left = {offsetOf(left_tokens, ai, left.size()), offsetOf(left_tokens, a_end, left.size())};
        span.right = {offsetOf(right_tokens, bi, right.size()), offsetOf(right_tokens, b_end, right.size())};
        redline.spans.push_back(span);
        ai = a_end;
        bi = b_end;
    }
    for (qsizetype i = 0; i < redline.spans.size();) {
        if (redline.spans[i].kind == SpanKind::Equal) {
            ++i;
            continue;
        }
        Change change{redline.spans[i].left, redline.spans[i].right};
        for (; i < redline.spans.size() && redline.spans[i].kind != SpanKind::Equal; ++i) {
            change.left.end = redline.spans[i].left.end;
            change.right.end = redline.spans[i].right.end;
        }
        redline.changes.push_back(change);
    }
    return redline;
}

PagedText joinPages(const QList<importers::Page>& pages) {
    PagedText paged;
    for (const importers::Page& page : pages) {
        if (!paged.pageStarts.isEmpty()) paged.text += kPageSeparator;
        paged.pageStarts.push_back(paged.text.size());
        paged.pageNumbers.push_back(page.number);
        paged.text += page.text;
    }
    return paged;
}

PagePosition locate(const PagedText& paged, qsizetype offset) {
    if (paged.pageStarts.isEmpty()) return {};
    const auto after = std::upper_bound(paged.pageStarts.begin(), paged.pageStarts.end(), offset);
    const qsizetype index = std::max<qsizetype>(0, (after - paged.pageStarts.begin()) - 1);
    const qsizetype page_end = index + 1 < paged.pageStarts.size()
                                   ? paged.pageStarts[index + 1] - kPageSeparator.size()
                                   : paged.text.size();
    const qsizetype clamped = std::clamp(offset, paged.pageStarts[index], page_end);
    return {paged.pageNumbers[index], clamped - paged.pageStarts[index]};
}

} // namespace lectern::compare
