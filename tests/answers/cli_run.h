#pragma once
// Runs the lectern-cli built with the tests (LECTERN_CLI) and keeps what it printed, for the tests that
// drive `lectern-cli ask` end to end.

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

struct CliRun {
    int code = -1; // the exit code; -2 when it crashed, -1 when it timed out
    QJsonObject json;
    QString out;
    QString err;
};

inline CliRun runCli(const QStringList& args, int timeout_ms = 240000) {
    QProcess process;
    process.start(QStringLiteral(LECTERN_CLI), args);
    CliRun run;
    if (!process.waitForFinished(timeout_ms)) {
        process.kill();
        run.err = QStringLiteral("timed out");
        return run;
    }
    run.code = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -2;
    const QByteArray out = process.readAllStandardOutput();
    run.json = QJsonDocument::fromJson(out).object();
    run.out = QString::fromUtf8(out);
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}
