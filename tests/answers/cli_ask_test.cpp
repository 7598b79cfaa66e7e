// lectern-cli ask end to end with the built-in default model (SmolLM2-135M; skipped when it is not
// fetched): import a small corpus, ask, check the answer's JSON contract (cli.md) and that every citation
// was parsed and verified; ask again and check that the corpus came from the cache (zero corpus tokens
// prefilled, as the engine counted them).

#include "cli_run.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {} // namespace

class CliAskTest : public QObject {
    Q_OBJECT
private slots:
    void asksTwiceAndReusesTheCorpusCache() {
        const QString model =
            qEnvironmentVariable("LECTERN_CACHE") + QStringLiteral("/models/SmolLM2-135M-Instruct.Q4_1.gguf");
        if (!QFile::exists(model)) QSKIP("the default model is not fetched (scripts/fetch-models)");
        QTemporaryDir profile, documents;
        QFile minutes(documents.filePath(QStringLiteral("minutes.txt")));
        QVERIFY(minutes.open(QIODevice::WriteOnly));
        minutes.write(
            "Minutes of the harbour board.\n\nThe board met on 3 May in the old customs house.\n\n"
            "The harbour project was delayed by storms in April. The cranes arrived two weeks late.\n\n"
            "The budget for the new pier was approved unanimously.\n");
        minutes.close();
        const QStringList common = {QStringLiteral("--profile"), profile.path(), QStringLiteral("--json")};
        CliRun imported = runCli(common + QStringList{QStringLiteral("import"), QStringLiteral("--session"),
                                                      QStringLiteral("s"), documents.path()});
        QVERIFY2(imported.code == 0, qPrintable(imported.err));

        const QStringList ask =
            common + QStringList{QStringLiteral("ask"),     QStringLiteral("--session"),
                                 QStringLiteral("s"),       QStringLiteral("--model"),
                                 QStringLiteral("default"), QStringLiteral("--max-tokens"),
                                 QStringLiteral("48")};
        CliRun first = runCli(ask + QStringList{QStringLiteral("Why was the harbour project delayed?")});
        QVERIFY2(first.code == 0, qPrintable(first.err));
        QVERIFY(first.json.contains(QStringLiteral("answer")));
        QVERIFY(first.json.value(QStringLiteral("citations")).isArray());
        for (const QJsonValue value : first.json.value(QStringLiteral("citations")).toArray()) {
            const QJsonObject citation = value.toObject();
            QVERIFY(citation.contains(QStringLiteral("n")) && citation.contains(QStringLiteral("quote")));
            QVERIFY(citation.value(QStringLiteral("verified")).isBool());
        }
        const qint64 prompt = first.json.value(QStringLiteral("prompt_tokens")).toInteger();
        QCOMPARE(first.json.value(QStringLiteral("cached_tokens")).toInteger(), 0);
        QCOMPARE(first.json.value(QStringLiteral("prefill_tokens")).toInteger(), prompt);
        qInfo("first ask: %lld prompt tokens, answer: %s", prompt,
              qPrintable(first.json.value(QStringLiteral("answer")).toString()));

        CliRun second = runCli(ask + QStringList{QStringLiteral("When did the board meet?")});
        QVERIFY2(second.code == 0, qPrintable(second.err));
        const qint64 cached = second.json.value(QStringLiteral("cached_tokens")).toInteger();
        const qint64 prefilled = second.json.value(QStringLiteral("prefill_tokens")).toInteger();
        qInfo("second ask: %lld cached, %lld prefilled", cached, prefilled);
        QVERIFY(cached > 0);
        QCOMPARE(cached + prefilled, second.json.value(QStringLiteral("prompt_tokens")).toInteger());
        QVERIFY(prefilled < cached); // only the question was prefilled

        // Chosen documents: the prompt says so, and it is another corpus prefix (not from the cache).
        CliRun listed = runCli(common + QStringList{QStringLiteral("documents"), QStringLiteral("--session"),
                                                    QStringLiteral("s")});
        QVERIFY2(listed.code == 0, qPrintable(listed.err));
        const QString id = QString::number(listed.json.value(QStringLiteral("documents"))
                                               .toArray()
                                               .at(0)
                                               .toObject()
                                               .value(QStringLiteral("id"))
                                               .toInteger());
        CliRun chosen =
            runCli(ask + QStringList{QStringLiteral("--documents"), id, QStringLiteral("Who met?")});
        QVERIFY2(chosen.code == 0, qPrintable(chosen.err));
        QVERIFY(chosen.json.value(QStringLiteral("selection"))
                    .toString()
                    .contains(QStringLiteral("chosen by the user")));
        QCOMPARE(chosen.json.value(QStringLiteral("cached_tokens")).toInteger(), 0);
        CliRun unknown = runCli(ask + QStringList{QStringLiteral("--documents"),
                                                  QStringLiteral("/no/such.txt"), QStringLiteral("Who?")});
        QCOMPARE(unknown.code, 1); // as `show` reports a document that is not there

        // The answers were kept in the store, with their citations.
        QProcess sqlite;
        sqlite.start(QStringLiteral("sqlite3"),
                     {profile.filePath(QStringLiteral("lectern.sqlite3")),
                      QStringLiteral("SELECT count(*), sum(cached_tokens > 0) FROM messages")});
        QVERIFY(sqlite.waitForFinished(10000) && sqlite.exitCode() == 0);
        QCOMPARE(QString::fromUtf8(sqlite.readAllStandardOutput()).trimmed(), QStringLiteral("3|1"));
    }
};

QTEST_GUILESS_MAIN(CliAskTest)
#include "cli_ask_test.moc"
