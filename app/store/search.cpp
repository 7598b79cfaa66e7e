// Store::search: ranked full-text search over a session's passages.
//
// Words are matched through the unicode61 index (diacritics folded, so "resume" finds "résumé"), ranked by
// bm25. Text in scripts written without spaces (CJK), and words that match nothing as whole words (a part
// of a word), go to the trigram index instead; terms shorter than three characters, which trigrams cannot
// index, are matched by a scan of the candidate passages.

#include "app/store/store.h"

#include <QRegularExpression>

namespace lectern::store {
namespace {

struct Term {
    QString text;
    bool prefix = false; // typed with a trailing '*'
};

// Splits what a person typed into terms: "quoted phrases" stay whole, everything else splits on spaces.
QList<Term> parseTerms(const QString& query) {
    QList<Term> terms;
    static const QRegularExpression pattern(QStringLiteral(R"("([^"]*)\"|(\S+))"));
    for (auto it = pattern.globalMatch(query); it.hasNext();) {
        const auto match = it.next();
        Term term;
        term.text = match.captured(1).isNull() ? match.captured(2) : match.captured(1);
        if (match.captured(1).isNull() && term.text.endsWith(u'*') && term.text.size() > 1) {
            term.prefix = true;
            term.text.chop(1);
        }
        term.text.remove(u'"');
        // A term of punctuation alone would tokenize to nothing and make FTS5 reject the query.
        if (std::any_of(term.text.begin(), term.text.end(), [](QChar c) { return c.isLetterOrNumber(); }))
            terms.push_back(term);
    }
    return terms;
}

bool isCjk(QChar c) {
    const QChar::Script script = c.script();
    return script == QChar::Script_Han || script == QChar::Script_Hiragana ||
           script == QChar::Script_Katakana || script == QChar::Script_Hangul ||
           script == QChar::Script_Thai || script == QChar::Script_Lao || script == QChar::Script_Khmer ||
           script == QChar::Script_Myanmar;
}

bool needsTrigrams(const QList<Term>& terms) {
    for (const Term& term : terms)
        if (std::any_of(term.text.begin(), term.text.end(), isCjk)) return true;
    return false;
}

QString quoted(const Term& term) {
    return u'"' + term.text + u'"' + (term.prefix ? QStringLiteral("*") : QString());
}

int characterCount(const QString& text) {
    return static_cast<int>(text.toUcs4().size());
}

QString likePattern(const QString& text) {
    QString escaped = text;
    escaped.replace(u'\\', QStringLiteral("\\\\"))
        .replace(u'%', QStringLiteral("\\%"))
        .replace(u'_', QStringLiteral("\\_"));
    return u'%' + escaped + u'%';
}

// For matches found by scanning (no index to build a snippet from): a window around the first term found,
// every term occurrence in it highlighted.
QString scannedSnippet(const QString& text, const QList<Term>& terms, const QString& open,
                       const QString& close) {
    constexpr qsizetype kContext = 60;
    qsizetype first = text.size();
    for (const Term& term : terms) {
        const qsizetype at = text.indexOf(term.text, 0, Qt::CaseInsensitive);
        if (at >= 0) first = std::min(first, at);
    }
    if (first == text.size()) first = 0;
    const qsizetype from = std::max<qsizetype>(0, first - kContext);
    const qsizetype to = std::min(text.size(), first + kContext * 2);
    QString window = text.mid(from, to - from);
    for (const Term& term : terms) {
        for (qsizetype at = window.indexOf(term.text, 0, Qt::CaseInsensitive); at >= 0;
             at = window.indexOf(term.text, at + open.size() + term.text.size() + close.size(),
                                 Qt::CaseInsensitive)) {
            window.insert(at + term.text.size(), close);
            window.insert(at, open);
        }
    }
    return (from > 0 ? QStringLiteral("…") : QString()) + window +
           (to < text.size() ? QStringLiteral("…") : QString());
}

} // namespace

Result<SearchResults> Store::search(const SearchQuery& query) {
    return guarded([&] {
        SearchResults results;
        const QList<Term> terms = parseTerms(query.text);
        if (terms.isEmpty() || query.limit <= 0) return results;
        const int offset = std::max(0, query.offset);

        // The scope every variant shares: ?2 session, ?3 corpus, ?4 document; ?5 limit, ?6 offset.
        const QByteArray scope =
            "JOIN documents d ON d.id = p.document_id JOIN corpora c ON c.id = d.corpus_id "
            "WHERE c.session_id = ?2 AND (?3 IS NULL OR c.id = ?3) AND (?4 IS NULL OR d.id = ?4) ";
        const auto bindScope = [&](Statement& statement) {
            statement.bind(2, query.session);
            if (query.corpus) statement.bind(3, *query.corpus);
            if (query.document) statement.bind(4, *query.document);
        };

        // Ranked candidates from one index; the passage rows are joined only for the filter. CROSS JOIN
        // keeps the full-text lookup as the outer loop whatever the planner thinks of the filters.
        const auto ranked = [&](const char* index, const QString& match, const QStringList& scanned,
                                int limit, int skip) {
            QByteArray sql = QByteArray("SELECT f.rowid, f.rank FROM ") + index +
                             " f CROSS JOIN passages p ON p.id = f.rowid " + scope + "AND " + index +
                             " MATCH ?1 ";
            for (int i = 0; i < scanned.size(); ++i)
                sql += "AND p.text LIKE ?" + QByteArray::number(7 + i) + " ESCAPE '\\' ";
            sql += "ORDER BY f.rank LIMIT ?5 OFFSET ?6";
            Statement statement = db_.prepare(sql.constData());
            statement.bind(1, match);
            bindScope(statement);
            statement.bind(5, limit).bind(6, skip);
            for (int i = 0; i < scanned.size(); ++i) statement.bind(7 + i, likePattern(scanned[i]));
            QList<std::pair<qint64, double>> rows;
            while (statement.step()) rows.push_back({statement.int64(0), -statement.real(1)});
            return rows;
        };

        QList<std::pair<qint64, double>> rows;
        const char* index = "passages_words";
        QString match;
        QStringList scanned;
        if (!needsTrigrams(terms)) {
            QStringList parts;
            for (const Term& term : terms) parts << quoted(term);
            match = parts.join(u' ');
            rows = ranked(index, match, {}, query.limit + 1, offset);
            // A page past the end of real word matches must not switch to substring matches.
            if (rows.isEmpty() && offset > 0 && !ranked(index, match, {}, 1, 0).isEmpty()) return results;
        }
        if (rows.isEmpty()) {
            results.trigram = true;
            index = "passages_trigrams";
            QStringList parts;
            for (const Term& term : terms) {
                if (characterCount(term.text) >= 3)
                    parts << u'"' + term.text + u'"';
                else
                    scanned << term.text;
            }
            match = parts.join(u' ');
            if (!parts.isEmpty()) {
                rows = ranked(index, match, scanned, query.limit + 1, offset);
            } else {
                QByteArray sql = "SELECT p.id FROM passages p " + scope;
                for (int i = 0; i < scanned.size(); ++i)
                    sql += "AND p.text LIKE ?" + QByteArray::number(7 + i) + " ESCAPE '\\' ";
                sql += "ORDER BY p.id LIMIT ?5 OFFSET ?6";
                Statement statement = db_.prepare(sql.constData());
                bindScope(statement);
                statement.bind(5, query.limit + 1).bind(6, offset);
                for (int i = 0; i < scanned.size(); ++i) statement.bind(7 + i, likePattern(scanned[i]));
                while (statement.step()) rows.push_back({statement.int64(0), 0.0});
            }
        }
        if (rows.size() > query.limit) {
            results.more = true;
            rows.resize(query.limit);
        }

        Statement details =
            db_.prepare("SELECT p.stable_id, p.document_id, d.path, p.page, p.start, p.end, p.text "
                        "FROM passages p JOIN documents d ON d.id = p.document_id WHERE p.id = ?1");
        const QByteArray snippetSql = QByteArray("SELECT snippet(") + index + ", 0, ?2, ?3, '…', 24) FROM " +
                                      index + " WHERE " + index + " MATCH ?1 AND rowid = ?4";
        std::optional<Statement> snippet;
        if (!match.isEmpty()) snippet.emplace(db_.prepare(snippetSql.constData()));
        QList<Term> scannedTerms;
        for (const QString& text : scanned) scannedTerms.push_back({text, false});
        for (const auto& [id, score] : rows) {
            details.bind(1, id);
            if (!details.step()) {
                details.reset();
                continue;
            }
            SearchHit hit;
            hit.passage = id;
            hit.stableId = details.text(0);
            hit.document = details.int64(1);
            hit.documentPath = details.text(2);
            hit.page = static_cast<int>(details.int64(3));
            hit.range = {details.int64(4), details.int64(5)};
            hit.score = score;
            const QString text = details.text(6);
            details.reset();
            if (snippet && scanned.isEmpty()) {
                snippet->bind(1, match).bind(2, query.highlightStart).bind(3, query.highlightEnd).bind(4, id);
                if (snippet->step()) hit.snippet = snippet->text(0);
                snippet->reset();
            } else {
                QList<Term> all = scannedTerms;
                if (!match.isEmpty())
                    for (const Term& term : terms)
                        if (characterCount(term.text) >= 3) all.push_back(term);
                hit.snippet = scannedSnippet(text, all, query.highlightStart, query.highlightEnd);
            }
            results.hits.push_back(std::move(hit));
        }
        return results;
    });
}

} // namespace lectern::store
