// lectern-cli ask --compare with the built-in default model (SmolLM2-135M; skipped when it is not fetched),
// over two short leases written here: the original in corpus A, the amended one in corpus B. "each"
// gives an answer per corpus (cli.md's "answers" array), every citation on its own answer's corpus, and
// asked again both come from the corpus cache; "both" gives one answer over A and B side by side, each
// citation naming its corpus. Answers are kept with their corpus. (The 135M model rarely cites, so the
// citation checks hold for whatever it writes; tests/answers/comparison_test.cpp drives citations.)

#include "cli_run.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

QString sql(const QString& database, const QString& query) {
    QProcess sqlite;
    sqlite.start(QStringLiteral("sqlite3"), {database, query});
    if (!sqlite.waitForFinished(10000) || sqlite.exitCode() != 0) return QStringLiteral("(sqlite3 failed)");
    return QString::fromUtf8(sqlite.readAllStandardOutput()).trimmed();
}

} // namespace

class CliCompareTest : public QObject {
    Q_OBJECT
private slots:
    void comparesTwoCorpora() {
        const QString model =
            qEnvironmentVariable("LECTERN_CACHE") + QStringLiteral("/models/SmolLM2-135M-Instruct.Q4_1.gguf");
        if (!QFile::exists(model)) QSKIP("the default model is not fetched (scripts/fetch-models)");
        QTemporaryDir profile, documents;
        const auto write = [&](const QString& name, const QByteArray& text) {
            QDir().mkpath(QFileInfo(documents.filePath(name)).path());
            QFile file(documents.filePath(name));
            return file.open(QIODevice::WriteOnly) && file.write(text) == text.size();
        };
        QVERIFY(write(QStringLiteral("original/lease.txt"),
                      "Lease between Harbor Point Properties and Ostrander Freight.\n\n"
                      "The monthly rent is 4,000 euros, due on the first day of each month.\n\n"
                      "The lease runs for five years from 1 March.\n"));
        QVERIFY(write(QStringLiteral("amended/lease.txt"),
                      "Lease between Harbor Point Properties and Ostrander Freight, as amended.\n\n"
                      "The monthly rent is 4,600 euros, due on the first day of each month.\n\n"
                      "The lease runs for seven years from 1 March.\n\n"
                      "The tenant may sublet part of the premises with the landlord's consent.\n"));
        const QStringList common = {QStringLiteral("--profile"), profile.path(), QStringLiteral("--json")};
        const auto import = [&](const QString& corpus, const QString& folder) {
            return runCli(common + QStringList{QStringLiteral("import"), QStringLiteral("--session"),
                                               QStringLiteral("s"), QStringLiteral("--corpus"), corpus,
                                               documents.filePath(folder)});
        };
        CliRun a = import(QStringLiteral("A"), QStringLiteral("original"));
        QVERIFY2(a.code == 0, qPrintable(a.err));

        const QStringList ask =
            common + QStringList{QStringLiteral("ask"),     QStringLiteral("--session"),
                                 QStringLiteral("s"),       QStringLiteral("--model"),
                                 QStringLiteral("default"), QStringLiteral("--max-tokens"),
                                 QStringLiteral("16")};
        const QString question = QStringLiteral("How does the rent differ?");
        // Usage: an unknown mode, or one corpus named beside --compare; no corpus B yet.
        QCOMPARE(runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("all"), question}).code,
                 2);
        QCOMPARE(runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("each"),
                                          QStringLiteral("--corpus"), QStringLiteral("B"), question})
                     .code,
                 2);
        CliRun no_b =
            runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("each"), question});
        QCOMPARE(no_b.code, 1);
        QVERIFY2(no_b.err.contains(QStringLiteral("no corpus B")), qPrintable(no_b.err));

        CliRun b = import(QStringLiteral("B"), QStringLiteral("amended"));
        QVERIFY2(b.code == 0, qPrintable(b.err));
        const auto checkAnswers = [](const CliRun& run, const QStringList& corpora) {
            QVERIFY2(run.code == 0, qPrintable(run.err));
            const QJsonArray answers = run.json.value(QStringLiteral("answers")).toArray();
            QCOMPARE(answers.size(), corpora.size());
            for (qsizetype i = 0; i < answers.size(); ++i) {
                const QJsonObject answer = answers[i].toObject();
                QCOMPARE(answer.value(QStringLiteral("corpus")).toString(), corpora[i]);
                QVERIFY(answer.value(QStringLiteral("answer")).isString());
                QVERIFY(answer.value(QStringLiteral("prompt_tokens")).toInteger() > 0);
                QVERIFY(answer.value(QStringLiteral("answer_tokens")).toInteger() > 0);
                for (const QJsonValue value : answer.value(QStringLiteral("citations")).toArray()) {
                    const QJsonObject citation = value.toObject();
                    if (!citation.contains(QStringLiteral("passage"))) continue; // a marker naming no passage
                    const QString side = citation.value(QStringLiteral("corpus")).toString();
                    QVERIFY2(corpora[i].contains(side) && !side.isEmpty(), qPrintable(side));
                }
                qInfo("corpus %s: %s", qPrintable(corpora[i]),
                      qPrintable(answer.value(QStringLiteral("answer")).toString()));
            }
        };

        CliRun each =
            runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("each"), question});
        checkAnswers(each, {QStringLiteral("A"), QStringLiteral("B")});
        QCOMPARE(each.json.value(QStringLiteral("mode")).toString(), QStringLiteral("each"));
        QVERIFY(!each.json.contains(QStringLiteral("fallback")));
        QCOMPARE(each.json.value(QStringLiteral("cached_tokens")).toInteger(), 0);
        // Two corpus prefixes, two cache entries: asked again, neither corpus is prefilled.
        CliRun again = runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("each"),
                                                QStringLiteral("Who is the tenant?")});
        checkAnswers(again, {QStringLiteral("A"), QStringLiteral("B")});
        for (const QJsonValue value : again.json.value(QStringLiteral("answers")).toArray()) {
            const QJsonObject answer = value.toObject();
            const qint64 cached = answer.value(QStringLiteral("cached_tokens")).toInteger();
            qInfo("again, corpus %s: %lld cached, %lld prefilled",
                  qPrintable(answer.value(QStringLiteral("corpus")).toString()), cached,
                  answer.value(QStringLiteral("prefill_tokens")).toInteger());
            QVERIFY(cached > answer.value(QStringLiteral("prefill_tokens")).toInteger());
        }

        CliRun both =
            runCli(ask + QStringList{QStringLiteral("--compare"), QStringLiteral("both"), question});
        checkAnswers(both, {QStringLiteral("A+B")});
        QCOMPARE(both.json.value(QStringLiteral("mode")).toString(), QStringLiteral("both"));
        const qint64 both_prompt = both.json.value(QStringLiteral("answers"))
                                       .toArray()[0]
                                       .toObject()
                                       .value(QStringLiteral("prompt_tokens"))
                                       .toInteger();
        const QJsonArray each_answers = each.json.value(QStringLiteral("answers")).toArray();
        QVERIFY(both_prompt > each_answers[0].toObject().value(QStringLiteral("prompt_tokens")).toInteger());
        QVERIFY(both_prompt > each_answers[1].toObject().value(QStringLiteral("prompt_tokens")).toInteger());

        // Human text: a heading per answer.
        QStringList human = QStringList{QStringLiteral("--profile"), profile.path()} + ask.mid(3);
        human.last() = QStringLiteral("4"); // --max-tokens: the layout is what is checked
        CliRun text =
            runCli(human + QStringList{QStringLiteral("--compare"), QStringLiteral("each"), question});
        QCOMPARE(text.code, 0);
        QVERIFY2(text.out.contains(QStringLiteral("== Corpus A ==")) &&
                     text.out.contains(QStringLiteral("== Corpus B ==")),
                 qPrintable(text.out));

        // Kept with their corpus: 2 + 2 + 2 answers of one corpus each, 1 over both.
        const QString database = profile.filePath(QStringLiteral("lectern.sqlite3"));
        QCOMPARE(
            sql(database, QStringLiteral("SELECT group_concat(c.label || coalesce(d.label, ''), ',') FROM "
                                         "messages m JOIN corpora c ON c.id = m.corpus_id LEFT JOIN corpora "
                                         "d ON d.id = m.compared_corpus_id ORDER BY m.id")),
            QStringLiteral("A,B,A,B,AB,A,B"));
        QCOMPARE(
            sql(database, QStringLiteral("SELECT count(*) FROM conversations WHERE title LIKE 'Compare: %'")),
            QStringLiteral("4"));
    }
};

QTEST_GUILESS_MAIN(CliCompareTest)
#include "cli_compare_test.moc"
