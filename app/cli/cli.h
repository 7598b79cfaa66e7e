#pragma once
// The lectern-cli framework: common options, per-command option parsing, output and exit codes.
// The commands and their JSON are a contract (shared/design/cli.md); each lives in its own file.

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <map>
#include <optional>
#include <vector>

namespace lectern::cli {

enum ExitCode : int { Success = 0, Failure = 1, Usage = 2, Partial = 3 };

struct Option {
    QString name; // without the leading "--"
    bool takes_value;
    QString help;
};

// A command's arguments after the common options are taken out.
struct Arguments {
    std::map<QString, QString> values; // options with values
    std::vector<QString> flags;        // options without
    QStringList positional;

    bool has(const QString& flag) const;
    std::optional<QString> value(const QString& name) const;
};

struct Context {
    QString profile_directory; // empty: the user's default profile
    bool json = false;
    Arguments args;

    // Human text to stdout (suppressed with --json), JSON to stdout, one-line reasons to stderr.
    void print(const QString& text) const;
    void printJson(const QJsonObject& object) const;
    int fail(int code, const QString& reason) const;
};

struct Command {
    QString name;
    QString synopsis; // e.g. "import --session S [--corpus A|B] PATH..."
    QString summary;
    std::vector<Option> options;
    int (*run)(Context& context);
};

// Every command, in the order `--help` lists them; defined in commands.cpp.
const std::vector<Command>& commands();

// Parses `arguments` (without the program name) and runs the chosen command.
int run(const QStringList& arguments);

} // namespace lectern::cli
