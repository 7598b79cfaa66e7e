// The redline widget, offscreen: the two sample leases side by side and inline, the highlighted ranges
// read back from the editors, navigation by button and shortcut, and the error line.
#include "ui/compare/redline_view.h"

#include <QElapsedTimer>
#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QtTest>

using lectern::compare::SpanKind;
using lectern::ui::RedlineView;
using Pane = RedlineView::Pane;

namespace {

QString readSample(const char* name) {
    QFile file(QStringLiteral(LECTERN_SOURCE_DIR "/resources/sample-corpus/") + QLatin1String(name));
    if (!file.open(QIODevice::ReadOnly)) qFatal("cannot read %s", name);
    return QString::fromUtf8(file.readAll());
}

QString slice(const QString& text, lectern::compare::TextRange range) {
    return text.mid(range.start, range.end - range.start);
}

QToolButton* button(RedlineView& view, const char* accessible_name) {
    for (QToolButton* candidate : view.findChildren<QToolButton*>())
        if (candidate->accessibleName() == QLatin1String(accessible_name)) return candidate;
    return nullptr;
}

} // namespace

class RedlineViewTest : public QObject {
    Q_OBJECT
private slots:
    void leasesSideBySide() {
        const QString before = readSample("lease-agreement.md");
        const QString after = readSample("lease-agreement-amended.md");
        RedlineView view;
        view.resize(1000, 600);
        view.show();
        QApplication::setActiveWindow(&view); // shortcuts fire only in the active window
        QVERIFY(QTest::qWaitForWindowActive(&view));
        QVERIFY(view.compare("lease-agreement.md", before, "lease-agreement-amended.md", after));
        QCOMPARE(view.changeCount(), 7);
        QCOMPARE(view.summary(), QStringLiteral("7 changes"));
        QCOMPARE(view.currentChange(), 0);

        // Left: the deleted words, struck in place; right: the inserted ones.
        const QList<RedlineView::Highlight> left = view.highlights(Pane::Left);
        const QList<RedlineView::Highlight> right = view.highlights(Pane::Right);
        QStringList deleted, inserted;
        for (const auto& mark : left) {
            QCOMPARE(mark.kind, SpanKind::Deleted);
            deleted << slice(before, mark.range);
        }
        for (const auto& mark : right) {
            QCOMPARE(mark.kind, SpanKind::Inserted);
            inserted << slice(after, mark.range);
        }
        QCOMPARE(deleted, QStringList({"2027", "214,000", "3", "2,000,000",
                                       " shall not unreasonably withhold or delay"}));
        QCOMPARE(inserted.size(), 7);
        QCOMPARE(inserted[2], QStringLiteral("2029"));
        QCOMPARE(inserted[5], QStringLiteral("5,000,000"));
        QCOMPARE(right[5].range.start, after.indexOf("5,000,000"));
        QCOMPARE(left[3].range.start, before.indexOf("2,000,000"));
        // The editors hold the documents' own text, so these offsets are the documents' offsets.
        QCOMPARE(view.editor(Pane::Left)->toPlainText(), before);
        QCOMPARE(view.editor(Pane::Right)->toPlainText(), after);

        // The first change (a pure insertion in the title) is current.
        QVERIFY(right[0].current);
        QVERIFY(!right[1].current);

        // Next by button, then by shortcut: change 3 is 2027 -> 2029.
        QToolButton* next = button(view, "Next change");
        QToolButton* previous = button(view, "Previous change");
        QVERIFY(next && previous);
        QVERIFY(!previous->isEnabled());
        QSignalSpy moved(&view, &RedlineView::currentChangeChanged);
        next->click();
        view.editor(Pane::Left)->setFocus();
        QTest::keyClick(view.editor(Pane::Left), Qt::Key_Down, Qt::AltModifier);
        QCOMPARE(view.currentChange(), 2);
        QCOMPARE(moved.size(), 2);
        QCOMPARE(view.editor(Pane::Left)->textCursor().position(), before.indexOf("2027 (the"));
        QCOMPARE(view.editor(Pane::Right)->textCursor().position(), after.indexOf("2029 (the"));
        const auto current_left = view.highlights(Pane::Left);
        QVERIFY(current_left[0].current);
        QCOMPARE(slice(before, current_left[0].range), QStringLiteral("2027"));
        QVERIFY(!current_left[1].current);
        QVERIFY(previous->isEnabled());

        // To the end and no further.
        for (int i = 0; i < 10; ++i) view.nextChange();
        QCOMPARE(view.currentChange(), 6);
        QVERIFY(!next->isEnabled());
        QTest::keyClick(view.editor(Pane::Right), Qt::Key_Up, Qt::AltModifier);
        QCOMPARE(view.currentChange(), 5);
    }

    void inlineShowsBoth() {
        RedlineView view;
        view.show();
        const QString before = "Rent increases by 3% on each anniversary.";
        const QString after = "Rent increases by 2.5% on each anniversary of the date.";
        QVERIFY(view.compare("old", before, "new", after));
        QToolButton* toggle = button(view, "Show the changes inline");
        QVERIFY(toggle);
        toggle->click();
        QCOMPARE(view.presentation(), RedlineView::Presentation::Inline);
        const QString shown = view.editor(Pane::Inline)->toPlainText();
        QCOMPARE(shown, QStringLiteral("Rent increases by 32.5% on each anniversary of the date."));
        const auto marks = view.highlights(Pane::Inline);
        QCOMPARE(marks.size(), 3);
        QCOMPARE(marks[0].kind, SpanKind::Deleted);
        QCOMPARE(slice(shown, marks[0].range), QStringLiteral("3"));
        QCOMPARE(marks[1].kind, SpanKind::Inserted);
        QCOMPARE(slice(shown, marks[1].range), QStringLiteral("2.5"));
        QVERIFY(marks[0].current && marks[1].current);
        QCOMPARE(slice(shown, marks[2].range), QStringLiteral(" of the date"));
        QVERIFY(!marks[2].current);
        view.nextChange();
        const auto moved = view.highlights(Pane::Inline);
        QVERIFY(!moved[0].current && !moved[1].current && moved[2].current);
        QCOMPARE(view.editor(Pane::Inline)->textCursor().position(), shown.indexOf(" of the date"));
    }

    void largeDocuments() {
        QStringList words;
        for (int i = 0; i < 100'000; ++i) words << QStringLiteral("w%1").arg(i % 7919);
        QStringList changed = words;
        for (int i = 0; i < 500; ++i) changed[i * 200 + 100] = QStringLiteral("edit%1").arg(i);
        RedlineView view;
        view.show();
        QElapsedTimer timer;
        timer.start();
        QVERIFY(view.compare("a", words.join(' '), "b", changed.join(' ')));
        const qint64 shown = timer.elapsed();
        for (int i = 0; i < 10; ++i) view.nextChange();
        qInfo("100k words, 500 changes: shown in %lld ms, 10 steps in %lld ms", static_cast<long long>(shown),
              static_cast<long long>(timer.elapsed() - shown));
        QCOMPARE(view.changeCount(), 500);
        QCOMPARE(view.currentChange(), 10);
    }

    void identicalAndErrors() {
        RedlineView view;
        QVERIFY(view.summary().isEmpty());
        QVERIFY(view.compare("a", QString(), "b", QString()));
        QCOMPARE(view.summary(), QStringLiteral("No differences"));
        QVERIFY(view.compare("a", "same words", "b", "same words"));
        QCOMPARE(view.summary(), QStringLiteral("No differences"));
        QCOMPARE(view.currentChange(), -1);
        QVERIFY(view.highlights(Pane::Left).isEmpty());
        view.nextChange(); // nothing to go to
        QCOMPARE(view.currentChange(), -1);

        view.showError("The first document is too long to redline.");
        QCOMPARE(view.summary(), QStringLiteral("The first document is too long to redline."));
        QCOMPARE(view.changeCount(), 0);
        QVERIFY(view.editor(Pane::Left)->toPlainText().isEmpty());
        // Every interactive widget can be told apart by assistive technology.
        for (QWidget* child : view.findChildren<QWidget*>())
            if (qobject_cast<QToolButton*>(child) || qobject_cast<QPlainTextEdit*>(child))
                QVERIFY2(!child->accessibleName().isEmpty(), child->metaObject()->className());
    }
};

QTEST_MAIN(RedlineViewTest)
#include "redline_view_test.moc"
