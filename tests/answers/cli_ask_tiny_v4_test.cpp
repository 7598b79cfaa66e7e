// lectern-cli ask end to end with the tiny DeepSeek-V4 checkpoint (generated into the build tree, with
// DeepSeek-V4's tokenizer beside it; skipped when the tokenizer is not fetched): import a small corpus,
// ask in V4's chat format (thinking on), check the answer's JSON contract and that every citation the
// random-weight model happened to write was parsed and verified; ask again in a new process (the session
// reopened from the store) and check that the corpus came from the cache (in the location the profile's
// settings name): exactly the corpus prefix recorded when the cache was saved, and only the question and
// its template prefilled. Both answers list
// the passages the indexer looked at (JSON "looked_at") and the store keeps them.

#include "cli_run.h"
#include "tests/engine/tiny_fixture.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

namespace {

// The tiny model answers in seconds: two minutes is a hang.
CliRun runTinyCli(const QStringList& args) {
    return runCli(args, 120000);
}

QString sql(const QString& database, const QString& query) {
    QProcess sqlite;
    sqlite.start(QStringLiteral("sqlite3"), {database, query});
    if (!sqlite.waitForFinished(10000) || sqlite.exitCode() != 0) return QStringLiteral("<sqlite3 failed>");
    return QString::fromUtf8(sqlite.readAllStandardOutput()).trimmed();
}

void checkCitations(const QJsonObject& answer) {
    QVERIFY(answer.value(QStringLiteral("citations")).isArray());
    for (const QJsonValue value : answer.value(QStringLiteral("citations")).toArray()) {
        const QJsonObject citation = value.toObject();
        QVERIFY(citation.contains(QStringLiteral("n")) && citation.contains(QStringLiteral("quote")));
        QVERIFY(citation.value(QStringLiteral("verified")).isBool());
    }
}

// V4 reports the passages its indexer looked at: real passage ids, shares in (0, 1], best first.
void checkLookedAt(const QJsonObject& answer, const QString& database) {
    const QJsonArray looked = answer.value(QStringLiteral("looked_at")).toArray();
    QVERIFY(!looked.isEmpty());
    double previous = 1.0;
    for (const QJsonValue value : looked) {
        const QJsonObject passage = value.toObject();
        const double weight = passage.value(QStringLiteral("weight")).toDouble();
        QVERIFY(weight > 0.0 && weight <= previous);
        previous = weight;
        QVERIFY(passage.value(QStringLiteral("marker")).toInt() > 0 &&
                passage.value(QStringLiteral("cited")).isBool());
        QCOMPARE(sql(database, QStringLiteral("SELECT count(*) FROM passages WHERE stable_id = '%1'")
                                   .arg(passage.value(QStringLiteral("passage")).toString())),
                 QStringLiteral("1"));
    }
}

} // namespace

class CliAskTinyV4Test : public QObject {
    Q_OBJECT
private slots:
    void asksTwiceAndReusesTheCorpusCache() {
        const QString model = QString::fromStdString(lectern::test::tiny_v4_folder());
        if (!QFile::exists(model + QStringLiteral("/tokenizer.json")))
            QSKIP(
                "the tiny checkpoint has no tokenizer: DeepSeek-V4's is not fetched (scripts/fetch-models)");
        QTemporaryDir profile, documents;
        QFile minutes(documents.filePath(QStringLiteral("minutes.txt")));
        QVERIFY(minutes.open(QIODevice::WriteOnly));
        minutes.write("Minutes of the harbour board.\n\nThe board met on 3 May in the old customs house.\n\n"
                      "The harbour project was delayed by storms in April.\n");
        minutes.close();
        const QStringList common = {QStringLiteral("--profile"), profile.path(), QStringLiteral("--json")};
        // The corpus cache goes where the profile's settings say (app/profile/cache_settings.h).
        const QString cacheDirectory = documents.filePath(QStringLiteral("cache elsewhere"));
        QSettings(profile.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat)
            .setValue(QStringLiteral("cache/directory"), cacheDirectory);
        CliRun imported =
            runTinyCli(common + QStringList{QStringLiteral("import"), QStringLiteral("--session"),
                                            QStringLiteral("s"), documents.path()});
        QVERIFY2(imported.code == 0, qPrintable(imported.err));

        const QStringList ask = common + QStringList{QStringLiteral("ask"),
                                                     QStringLiteral("--session"),
                                                     QStringLiteral("s"),
                                                     QStringLiteral("--model"),
                                                     model,
                                                     QStringLiteral("--max-tokens"),
                                                     QStringLiteral("16")};
        QElapsedTimer timer;
        timer.start();
        CliRun first = runTinyCli(ask + QStringList{QStringLiteral("Why was the harbour project delayed?")});
        QVERIFY2(first.code == 0, qPrintable(first.err));
        checkCitations(first.json);
        const qint64 firstPrompt = first.json.value(QStringLiteral("prompt_tokens")).toInteger();
        QCOMPARE(first.json.value(QStringLiteral("cached_tokens")).toInteger(), 0);
        QCOMPARE(first.json.value(QStringLiteral("prefill_tokens")).toInteger(), firstPrompt);
        QVERIFY(first.json.value(QStringLiteral("answer_tokens")).toInteger() > 0);
        qInfo("first ask: %lld prompt tokens in %lld ms", firstPrompt, timer.elapsed());

        // The cache the first ask saved: its corpus prefix, as the worker counted it.
        const QString database = profile.filePath(QStringLiteral("lectern.sqlite3"));
        const qint64 corpusTokens =
            sql(database, QStringLiteral("SELECT tokens FROM corpus_caches")).toLongLong();
        QVERIFY(corpusTokens > 0 && corpusTokens < firstPrompt);
        const QString snapshot = sql(database, QStringLiteral("SELECT file_path FROM corpus_caches"));
        QVERIFY(QFile::exists(snapshot));
        QCOMPARE(QFileInfo(snapshot).absolutePath(), cacheDirectory);

        timer.restart();
        const QString question = QStringLiteral("When did the board meet?");
        CliRun second = runTinyCli(ask + QStringList{question});
        QVERIFY2(second.code == 0, qPrintable(second.err));
        checkCitations(second.json);
        const qint64 cached = second.json.value(QStringLiteral("cached_tokens")).toInteger();
        const qint64 prefilled = second.json.value(QStringLiteral("prefill_tokens")).toInteger();
        const qint64 secondPrompt = second.json.value(QStringLiteral("prompt_tokens")).toInteger();
        qInfo("second ask: %lld cached, %lld prefilled in %lld ms", cached, prefilled, timer.elapsed());
        QCOMPARE(cached, corpusTokens); // zero corpus tokens prefilled
        QCOMPARE(prefilled, secondPrompt - corpusTokens);
        // Only the question and its template: the two prompts differ by the questions alone.
        QCOMPARE(firstPrompt - corpusTokens - prefilled, firstPrompt - secondPrompt);
        QVERIFY(prefilled < 64);

        // Both answers were kept in the store with the counts the engine reported.
        QCOMPARE(sql(database, QStringLiteral("SELECT group_concat(cached_tokens) FROM (SELECT cached_tokens "
                                              "FROM messages ORDER BY id)")),
                 QStringLiteral("0,%1").arg(corpusTokens));
        QCOMPARE(sql(database, QStringLiteral("SELECT question FROM messages ORDER BY id DESC LIMIT 1")),
                 question);
        QCOMPARE(sql(database, QStringLiteral("SELECT count(*) FROM citations")),
                 QString::number(first.json.value(QStringLiteral("citations")).toArray().size() +
                                 second.json.value(QStringLiteral("citations")).toArray().size()));
        // And the passages each answer looked at, every one tied to its passage row.
        checkLookedAt(first.json, database);
        checkLookedAt(second.json, database);
        QCOMPARE(sql(database, QStringLiteral("SELECT count(*) FROM looked_at WHERE passage_id IS NOT NULL")),
                 QString::number(first.json.value(QStringLiteral("looked_at")).toArray().size() +
                                 second.json.value(QStringLiteral("looked_at")).toArray().size()));
    }
};

QTEST_GUILESS_MAIN(CliAskTinyV4Test)
#include "cli_ask_tiny_v4_test.moc"
