#include "app/export/conversation_export.h"

#include "app/answers/citation_verifier.h"
#include "app/answers/corpus.h"

#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextBlock>
#include <QTextCursor>
#include <QTextDocument>

#include <algorithm>

namespace lectern::exporting {

namespace {

QString collapseSpaces(const QString& text) {
    return text.simplified();
}

QString escapeMarkdown(const QString& text) {
    static const QString special = QStringLiteral("\\`*_[]<>#|");
    QString out;
    out.reserve(text.size());
    for (const QChar c : collapseSpaces(text)) {
        if (special.contains(c)) out += u'\\';
        out += c;
    }
    return out;
}

QString verificationMarkdown(const ExportCitation& citation) {
    if (citation.verified) return QStringLiteral("verified (%1)").arg(citation.verification);
    QString reason = citation.verification;
    if (citation.verification == QLatin1String("not-found"))
        reason = QStringLiteral("the quote was not found in the cited passage");
    else if (citation.verification == QLatin1String("no-quote"))
        reason = QStringLiteral("the citation gives no quote");
    else if (citation.verification == QLatin1String("unknown-passage"))
        reason = QStringLiteral("the cited passage does not exist");
    return QStringLiteral("**not verified** (%1)").arg(reason);
}

// One footnote's text, in Markdown: the same words in the .md file and in the PDF.
QString noteMarkdown(const ExportCitation& citation) {
    QString note;
    if (citation.document.isEmpty() && citation.path.isEmpty()) {
        note = QStringLiteral("*no such passage in the corpus*");
    } else {
        note = QStringLiteral("**%1**").arg(escapeMarkdown(citation.document));
        if (!citation.path.isEmpty() && citation.path != citation.document)
            note += QStringLiteral(" (%1)").arg(escapeMarkdown(citation.path));
        if (citation.page > 0) note += QStringLiteral(", page %1").arg(citation.page);
    }
    if (!citation.quote.isEmpty()) note += QStringLiteral(": “%1”").arg(escapeMarkdown(citation.quote));
    return note + QStringLiteral(" — ") + verificationMarkdown(citation);
}

struct NumberedAnswer {
    const ExportAnswer* answer = nullptr;
    QList<const ExportCitation*> notes; // in answer order; footnote number = first + index
    int first = 1;
};

QList<NumberedAnswer> numberNotes(const ExportConversation& conversation) {
    QList<NumberedAnswer> numbered;
    int next = 1;
    for (const ExportAnswer& answer : conversation.answers) {
        NumberedAnswer entry{&answer, {}, next};
        for (const ExportCitation& citation : answer.citations) entry.notes.push_back(&citation);
        std::stable_sort(entry.notes.begin(), entry.notes.end(),
                         [](const ExportCitation* a, const ExportCitation* b) {
                             return a->answerOffset < b->answerOffset;
                         });
        next += int(entry.notes.size());
        numbered.push_back(entry);
    }
    return numbered;
}

// The answer with a reference at each citation's place; `reference` spells footnote n.
template <typename Reference>
QString answerWithReferences(const NumberedAnswer& entry, Reference reference) {
    QString text = entry.answer->answer;
    // From the last, so that earlier offsets stay valid.
    for (qsizetype i = entry.notes.size() - 1; i >= 0; --i) {
        const qsizetype at = std::clamp<qsizetype>(entry.notes[i]->answerOffset, 0, text.size());
        text.insert(at, reference(entry.first + int(i)));
    }
    return text.trimmed();
}

QString quoted(const QString& text) {
    QStringList lines = text.trimmed().split(u'\n');
    for (QString& line : lines) line.prepend(QStringLiteral("> "));
    return lines.join(u'\n');
}

QString questionHeading(const ExportConversation& conversation, qsizetype index) {
    return conversation.answers.size() == 1 ? QStringLiteral("Question")
                                            : QStringLiteral("Question %1").arg(index + 1);
}

QString titleOf(const ExportConversation& conversation) {
    return conversation.title.isEmpty() ? QStringLiteral("Lectern conversation") : conversation.title;
}

Error writeError(const QString& path, const QString& why) {
    return Error{QStringLiteral("Could not write %1: %2. Choose a folder you can write to.")
                     .arg(path, why)
                     .toStdString()};
}

} // namespace

ExportCitation toExportCitation(const answers::VerifiedCitation& citation, const answers::Corpus& corpus) {
    ExportCitation out;
    out.answerOffset = citation.citation.answer_offset;
    out.quote = citation.citation.quote;
    out.verification = answers::toString(citation.verification);
    out.verified = answers::isVerified(citation.verification);
    if (citation.passage) {
        out.document = corpus.documentName(citation.passage->document);
        out.path = corpus.document(*citation.passage).path;
        if (const importers::Page* page = corpus.page(*citation.passage)) out.page = page->number;
    }
    return out;
}

QString toMarkdown(const ExportConversation& conversation) {
    QString out = QStringLiteral("# %1\n").arg(escapeMarkdown(titleOf(conversation)));
    const QList<NumberedAnswer> numbered = numberNotes(conversation);
    for (qsizetype i = 0; i < numbered.size(); ++i) {
        const NumberedAnswer& entry = numbered[i];
        out += QStringLiteral("\n## %1\n\n%2\n\n### Answer\n\n")
                   .arg(questionHeading(conversation, i), quoted(entry.answer->question));
        out += answerWithReferences(entry, [](int n) { return QStringLiteral("[^%1]").arg(n); }) + u'\n';
        if (!entry.notes.isEmpty()) out += u'\n';
        for (qsizetype n = 0; n < entry.notes.size(); ++n)
            out += QStringLiteral("[^%1]: %2\n").arg(entry.first + int(n)).arg(noteMarkdown(*entry.notes[n]));
    }
    return out;
}

Result<void> writeMarkdown(const QString& path, const ExportConversation& conversation) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return writeError(path, file.errorString());
    file.write(toMarkdown(conversation).toUtf8());
    if (!file.commit()) return writeError(path, file.errorString());
    return {};
}

Result<void> writePdf(const QString& path, const ExportConversation& conversation) {
    QTextDocument document;
    QTextCursor cursor(&document);
    const auto heading = [&cursor](const QString& text, int level) {
        QTextBlockFormat block;
        block.setHeadingLevel(level);
        block.setTopMargin(level == 1 ? 0 : 12);
        block.setBottomMargin(6);
        QTextCharFormat chars;
        chars.setFontWeight(QFont::Bold);
        chars.setFontPointSize(level == 1 ? 18 : level == 2 ? 14 : 12);
        if (!cursor.atStart()) cursor.insertBlock();
        cursor.setBlockFormat(block);
        cursor.setCharFormat(chars);
        cursor.insertText(text);
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
    };
    const auto markdown = [&cursor](const QString& text) {
        // insertMarkdown() continues the block the cursor is in; each piece is its own paragraph.
        if (!cursor.block().text().isEmpty()) cursor.insertBlock(QTextBlockFormat(), QTextCharFormat());
        cursor.insertMarkdown(text, QTextDocument::MarkdownDialectGitHub);
        cursor.movePosition(QTextCursor::End);
    };

    heading(titleOf(conversation), 1);
    const QList<NumberedAnswer> numbered = numberNotes(conversation);
    for (qsizetype i = 0; i < numbered.size(); ++i) {
        const NumberedAnswer& entry = numbered[i];
        heading(questionHeading(conversation, i), 2);
        markdown(quoted(entry.answer->question));
        heading(QStringLiteral("Answer"), 3);
        markdown(answerWithReferences(entry, [](int n) { return QStringLiteral("\\[%1\\]").arg(n); }));
        if (entry.notes.isEmpty()) continue;
        heading(QStringLiteral("Sources"), 3);
        for (qsizetype n = 0; n < entry.notes.size(); ++n)
            markdown(
                QStringLiteral("\\[%1\\] %2").arg(entry.first + int(n)).arg(noteMarkdown(*entry.notes[n])));
    }

    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return writeError(path, file.errorString());
    {
        QPdfWriter writer(&file);
        writer.setTitle(titleOf(conversation));
        writer.setCreator(QStringLiteral("Lectern"));
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(20, 20, 20, 20), QPageLayout::Millimeter));
        document.print(&writer);
    }
    if (!file.commit()) return writeError(path, file.errorString());
    return {};
}

} // namespace lectern::exporting
