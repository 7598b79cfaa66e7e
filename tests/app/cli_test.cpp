// lectern-cli and lectern as a user runs them: version, help, usage errors and exit codes (cli.md).

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <lectern/version.h>

namespace {

struct Run {
    int code;
    QString out;
    QString err;
};

Run run(const QString& program, const QStringList& args) {
    QProcess process;
    process.start(program, args);
    if (!process.waitForFinished(30000)) {
        process.kill();
        return {-1, {}, QStringLiteral("timed out")};
    }
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2,
            QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

} // namespace

class CliTest : public QObject {
    Q_OBJECT
private slots:
    void versionIsPrinted() {
        const Run r = run(QStringLiteral(LECTERN_CLI), {QStringLiteral("--version")});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("lectern-cli %1").arg(QString::fromUtf8(lectern::kVersion)));
    }

    void versionAsJson() {
        const Run r =
            run(QStringLiteral(LECTERN_CLI), {QStringLiteral("--json"), QStringLiteral("--version")});
        QCOMPARE(r.code, 0);
        const QJsonObject object = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(object.value(QStringLiteral("version")).toString(), QString::fromUtf8(lectern::kVersion));
    }

    void helpListsCommonOptions() {
        const Run r = run(QStringLiteral(LECTERN_CLI), {QStringLiteral("--help")});
        QCOMPARE(r.code, 0);
        QVERIFY(r.out.contains(QStringLiteral("--profile DIR")));
        QVERIFY(r.out.contains(QStringLiteral("--json")));
    }

    void noCommandIsAUsageError() {
        const Run r = run(QStringLiteral(LECTERN_CLI), {});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(QStringLiteral("Usage:")));
    }

    void unknownCommandIsAUsageError() {
        const Run r = run(QStringLiteral(LECTERN_CLI), {QStringLiteral("frobnicate")});
        QCOMPARE(r.code, 2);
        QVERIFY(r.err.contains(QStringLiteral("unknown command 'frobnicate'")));
        QCOMPARE(r.err.count(u'\n'), 1); // one-line reason
    }

    void guiVersionAndHelp() {
        const Run version = run(QStringLiteral(LECTERN_GUI), {QStringLiteral("--version")});
        QCOMPARE(version.code, 0);
        QVERIFY(version.out.contains(QString::fromUtf8(lectern::kVersion)));
        const Run help = run(QStringLiteral(LECTERN_GUI), {QStringLiteral("--help")});
        QCOMPARE(help.code, 0);
        QVERIFY(help.out.contains(QStringLiteral("--profile <dir>")));
    }
};

QTEST_GUILESS_MAIN(CliTest)
#include "cli_test.moc"
