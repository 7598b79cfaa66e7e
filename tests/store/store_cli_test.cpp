// lectern-cli import, documents, show, search and sessions against a scratch profile (cli.md's contract).

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

namespace {

struct Run {
    int code;
    QJsonObject json;
    QString out;
    QString err;
};

void write(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(path.section(u'/', 0, -2));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    file.write(bytes);
}

} // namespace

class StoreCliTest : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;

    Run cli(QStringList args, bool json = true) {
        args.prepend(dir_.filePath(QStringLiteral("profile")));
        args.prepend(QStringLiteral("--profile"));
        if (json) args.prepend(QStringLiteral("--json"));
        QProcess process;
        process.start(QStringLiteral(LECTERN_CLI), args);
        if (!process.waitForFinished(120000)) qFatal("lectern-cli timed out");
        Run run{process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
                {},
                QString::fromUtf8(process.readAllStandardOutput()),
                QString::fromUtf8(process.readAllStandardError())};
        run.json = QJsonDocument::fromJson(run.out.toUtf8()).object();
        return run;
    }

    QString file(const QString& name) const { return dir_.filePath(QStringLiteral("docs/") + name); }

    QJsonObject fileOutcome(const Run& run, const QString& path) {
        for (const QJsonValue& value : run.json.value(QStringLiteral("files")).toArray())
            if (value.toObject().value(QStringLiteral("path")).toString() == path) return value.toObject();
        return {};
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        write(file(QStringLiteral("river.txt")),
              "The river floods the valley every spring.\n\nFarmers plant after the river recedes.\n");
        write(file(QStringLiteral("cafe.md")), "# Café\n\nLe café est ouvert l'été, près du fleuve.\n");
        write(file(QStringLiteral("zh.txt")), "东京大学的机器学习研究。\n");
        write(file(QStringLiteral("copy/river-again.txt")),
              "The river floods the valley every spring.\n\nFarmers plant after the river recedes.\n");
    }

    void usageErrors() {
        QCOMPARE(cli({QStringLiteral("search"), QStringLiteral("river")}).code, 2); // no --session
        QCOMPARE(cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("s")}).code, 2);
        QCOMPARE(cli({QStringLiteral("import"), QStringLiteral("--session"), QStringLiteral("s")}).code, 2);
        const Run missing = cli({QStringLiteral("search"), QStringLiteral("--session"),
                                 QStringLiteral("nope"), QStringLiteral("river")});
        QCOMPARE(missing.code, 1);
        QVERIFY(missing.err.contains(QStringLiteral("no session named 'nope'")));
        QCOMPARE(missing.err.count(u'\n'), 1);
    }

    void importListShowSearch() {
        const QString docs = dir_.filePath(QStringLiteral("docs"));
        Run run = cli({QStringLiteral("import"), QStringLiteral("--session"), QStringLiteral("notes"), docs});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        QCOMPARE(run.json.value(QStringLiteral("files")).toArray().size(), 4);
        const QJsonObject river = fileOutcome(run, file(QStringLiteral("river.txt")));
        QCOMPARE(river.value(QStringLiteral("status")).toString(), QStringLiteral("imported"));
        QVERIFY(river.value(QStringLiteral("passages")).toInt() >= 1);
        int duplicates = 0;
        for (const QJsonValue& value : run.json.value(QStringLiteral("files")).toArray())
            duplicates +=
                value.toObject().value(QStringLiteral("status")).toString() == QLatin1String("duplicate");
        QCOMPARE(duplicates, 1); // the two river files have the same bytes

        run = cli({QStringLiteral("sessions")});
        QCOMPARE(run.code, 0);
        const QJsonObject session = run.json.value(QStringLiteral("sessions")).toArray().at(0).toObject();
        QCOMPARE(session.value(QStringLiteral("name")).toString(), QStringLiteral("notes"));
        QCOMPARE(session.value(QStringLiteral("corpora")).toInt(), 1);
        QCOMPARE(session.value(QStringLiteral("documents")).toInt(), 3);
        QVERIFY(session.value(QStringLiteral("tokens")).toInt() > 0);

        run = cli({QStringLiteral("documents"), QStringLiteral("--session"), QStringLiteral("notes")});
        QCOMPARE(run.code, 0);
        const QJsonArray documents = run.json.value(QStringLiteral("documents")).toArray();
        QCOMPARE(documents.size(), 4);
        qint64 riverId = 0;
        for (const QJsonValue& value : documents) {
            const QJsonObject document = value.toObject();
            for (const char* key : {"id", "path", "format", "pages", "passages", "status", "error"})
                QVERIFY2(document.contains(QLatin1String(key)), key);
            if (document.value(QStringLiteral("path")).toString() == file(QStringLiteral("river.txt")))
                riverId = document.value(QStringLiteral("id")).toInteger();
        }
        QVERIFY(riverId > 0);

        run = cli({QStringLiteral("show"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QString::number(riverId)});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        const QJsonArray pages = run.json.value(QStringLiteral("pages")).toArray();
        QVERIFY(!pages.isEmpty());
        const QJsonArray passages = run.json.value(QStringLiteral("passages")).toArray();
        QVERIFY(!passages.isEmpty());
        for (const QJsonValue& value : passages) {
            const QJsonObject passage = value.toObject();
            const int page = passage.value(QStringLiteral("page")).toInt();
            QString pageText;
            for (const QJsonValue& p : pages)
                if (p.toObject().value(QStringLiteral("number")).toInt() == page)
                    pageText = p.toObject().value(QStringLiteral("text")).toString();
            const int start = passage.value(QStringLiteral("start")).toInt();
            const int end = passage.value(QStringLiteral("end")).toInt();
            QCOMPARE(pageText.mid(start, end - start), passage.value(QStringLiteral("text")).toString());
        }
        // By path too.
        QCOMPARE(cli({QStringLiteral("show"), QStringLiteral("--session"), QStringLiteral("notes"),
                      file(QStringLiteral("river.txt"))})
                     .code,
                 0);
        QCOMPARE(cli({QStringLiteral("show"), QStringLiteral("--session"), QStringLiteral("notes"),
                      QStringLiteral("999999")})
                     .code,
                 1);

        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("river"), QStringLiteral("floods")});
        QCOMPARE(run.code, 0);
        const QJsonArray hits = run.json.value(QStringLiteral("hits")).toArray();
        QCOMPARE(hits.size(), 1);
        const QJsonObject hit = hits.at(0).toObject();
        QCOMPARE(hit.value(QStringLiteral("document")).toInteger(), riverId);
        QVERIFY(hit.value(QStringLiteral("passage")).toString().contains(u':'));
        QVERIFY(hit.value(QStringLiteral("snippet")).toString().contains(QStringLiteral("[floods]")));
        QVERIFY(hit.value(QStringLiteral("score")).toDouble() > 0);
        QCOMPARE(hit.value(QStringLiteral("page")).toInt(), 1);

        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("cafe")});
        QCOMPARE(run.json.value(QStringLiteral("hits")).toArray().size(), 1);
        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("机器学习")});
        QCOMPARE(run.json.value(QStringLiteral("hits")).toArray().size(), 1);
        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("--corpus"), QStringLiteral("B"), QStringLiteral("river")});
        QCOMPARE(run.code, 1); // no corpus B in this session
        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("--document"), file(QStringLiteral("cafe.md")), QStringLiteral("river")});
        QCOMPARE(run.code, 0);
        QVERIFY(run.json.value(QStringLiteral("hits")).toArray().isEmpty());
        run = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                   QStringLiteral("river")},
                  false);
        QVERIFY(run.out.contains(QStringLiteral("river.txt")));
    }

    void reimportSkipsUnchangedAndReportsFailures() {
        const QString docs = dir_.filePath(QStringLiteral("docs"));
        write(file(QStringLiteral("cafe.md")), "# Café\n\nFermé pour l'hiver.\n");
        const QString absent = dir_.filePath(QStringLiteral("absent.pdf"));
        const Run run = cli(
            {QStringLiteral("import"), QStringLiteral("--session"), QStringLiteral("notes"), docs, absent});
        QCOMPARE(run.code, 3); // partial: one input failed
        QVERIFY(!run.err.isEmpty());
        QCOMPARE(
            fileOutcome(run, file(QStringLiteral("river.txt"))).value(QStringLiteral("status")).toString(),
            QStringLiteral("unchanged"));
        QCOMPARE(fileOutcome(run, file(QStringLiteral("cafe.md"))).value(QStringLiteral("status")).toString(),
                 QStringLiteral("imported"));
        QCOMPARE(fileOutcome(run, absent).value(QStringLiteral("status")).toString(),
                 QStringLiteral("failed"));
        QVERIFY(!fileOutcome(run, absent).value(QStringLiteral("error")).toString().isEmpty());

        const Run search = cli({QStringLiteral("search"), QStringLiteral("--session"),
                                QStringLiteral("notes"), QStringLiteral("hiver")});
        QCOMPARE(search.json.value(QStringLiteral("hits")).toArray().size(), 1);
        const Run old = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                             QStringLiteral("ouvert")});
        QVERIFY(old.json.value(QStringLiteral("hits")).toArray().isEmpty());
    }

    void secondCorpusForComparison() {
        const Run run =
            cli({QStringLiteral("import"), QStringLiteral("--session"), QStringLiteral("notes"),
                 QStringLiteral("--corpus"), QStringLiteral("B"), file(QStringLiteral("river.txt"))});
        QCOMPARE(run.code, 0);
        QCOMPARE(
            fileOutcome(run, file(QStringLiteral("river.txt"))).value(QStringLiteral("status")).toString(),
            QStringLiteral("imported"));
        const Run b = cli({QStringLiteral("search"), QStringLiteral("--session"), QStringLiteral("notes"),
                           QStringLiteral("--corpus"), QStringLiteral("B"), QStringLiteral("river")});
        QCOMPARE(b.json.value(QStringLiteral("hits")).toArray().size(), 1);
        const Run sessions = cli({QStringLiteral("sessions")});
        QCOMPARE(sessions.json.value(QStringLiteral("sessions"))
                     .toArray()
                     .at(0)
                     .toObject()
                     .value(QStringLiteral("corpora"))
                     .toInt(),
                 2);
    }
};

QTEST_GUILESS_MAIN(StoreCliTest)
#include "store_cli_test.moc"
