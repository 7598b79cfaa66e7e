#include "app/cli/cli.h"

#include <QJsonDocument>
#include <QTextStream>

#include <lectern/version.h>

namespace lectern::cli {
namespace {

QTextStream& out() {
    static QTextStream stream(stdout);
    return stream;
}

QTextStream& err() {
    static QTextStream stream(stderr);
    return stream;
}

QString helpText() {
    QString text = QStringLiteral("Usage: lectern-cli [--profile DIR] [--json] COMMAND [ARGS...]\n\n"
                                  "Lectern's headless interface: the same store and engine as the app.\n\n"
                                  "Commands:\n");
    for (const Command& command : commands())
        text += QStringLiteral("  %1\n      %2\n").arg(command.synopsis, command.summary);
    if (commands().empty()) text += QStringLiteral("  (none in this build)\n");
    text += QStringLiteral("\nCommon options (before or after the command):\n"
                           "  --profile DIR  use DIR instead of the user's data directory\n"
                           "  --json         machine-readable output on stdout\n"
                           "  --help         this text, or a command's options with COMMAND --help\n"
                           "  --version      print the version\n\n"
                           "Exit codes: 0 success, 1 failure, 2 usage error, 3 partial success.\n");
    return text;
}

QString commandHelp(const Command& command) {
    QString text = QStringLiteral("Usage: lectern-cli %1\n\n%2\n").arg(command.synopsis, command.summary);
    if (!command.options.empty()) {
        text += QStringLiteral("\nOptions:\n");
        for (const Option& option : command.options)
            text +=
                QStringLiteral("  --%1%2  %3\n")
                    .arg(option.name, option.takes_value ? QStringLiteral(" VALUE") : QString(), option.help);
    }
    return text;
}

const Command* findCommand(const QString& name) {
    for (const Command& command : commands())
        if (command.name == name) return &command;
    return nullptr;
}

const Option* findOption(const Command& command, const QString& name) {
    for (const Option& option : command.options)
        if (option.name == name) return &option;
    return nullptr;
}

} // namespace

bool Arguments::has(const QString& flag) const {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

std::optional<QString> Arguments::value(const QString& name) const {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
}

void Context::print(const QString& text) const {
    if (json) return;
    out() << text;
    if (!text.endsWith(u'\n')) out() << '\n';
    out().flush();
}

void Context::printJson(const QJsonObject& object) const {
    out() << QJsonDocument(object).toJson(QJsonDocument::Compact) << '\n';
    out().flush();
}

int Context::fail(int code, const QString& reason) const {
    err() << "lectern-cli: " << reason << '\n';
    err().flush();
    return code;
}

int run(const QStringList& arguments) {
    Context context;
    bool help = false;
    bool version = false;
    QString commandName;
    QStringList rest;
    for (qsizetype i = 0; i < arguments.size(); ++i) {
        const QString& arg = arguments[i];
        if (arg == QLatin1String("--json")) {
            context.json = true;
        } else if (arg == QLatin1String("--help") || arg == QLatin1String("-h")) {
            help = true;
        } else if (arg == QLatin1String("--version")) {
            version = true;
        } else if (arg == QLatin1String("--profile") || arg.startsWith(QLatin1String("--profile="))) {
            if (arg.contains(u'=')) {
                context.profile_directory = arg.section(u'=', 1);
            } else if (i + 1 < arguments.size()) {
                context.profile_directory = arguments[++i];
            } else {
                return context.fail(Usage, QStringLiteral("--profile needs a directory"));
            }
        } else if (commandName.isEmpty() && !arg.startsWith(QLatin1String("--"))) {
            commandName = arg;
        } else {
            rest << arg;
        }
    }

    if (version) {
        if (context.json)
            context.printJson({{QStringLiteral("version"), QString::fromUtf8(kVersion)}});
        else
            context.print(QStringLiteral("lectern-cli %1").arg(QString::fromUtf8(kVersion)));
        return Success;
    }
    if (commandName.isEmpty()) {
        if (help) {
            out() << helpText();
            return Success;
        }
        err() << helpText();
        return Usage;
    }
    const Command* command = findCommand(commandName);
    if (!command)
        return context.fail(Usage,
                            QStringLiteral("unknown command '%1' (see lectern-cli --help)").arg(commandName));
    if (help) {
        out() << commandHelp(*command);
        return Success;
    }

    for (qsizetype i = 0; i < rest.size(); ++i) {
        const QString& arg = rest[i];
        if (!arg.startsWith(QLatin1String("--")) || arg == QLatin1String("--")) {
            if (arg == QLatin1String("--")) {
                context.args.positional << rest.mid(i + 1);
                break;
            }
            context.args.positional << arg;
            continue;
        }
        QString name = arg.mid(2);
        std::optional<QString> inlineValue;
        if (const qsizetype eq = name.indexOf(u'='); eq >= 0) {
            inlineValue = name.mid(eq + 1);
            name = name.left(eq);
        }
        const Option* option = findOption(*command, name);
        if (!option)
            return context.fail(Usage, QStringLiteral("%1: unknown option --%2").arg(command->name, name));
        if (!option->takes_value) {
            context.args.flags.push_back(name);
        } else if (inlineValue) {
            context.args.values[name] = *inlineValue;
        } else if (i + 1 < rest.size()) {
            context.args.values[name] = rest[++i];
        } else {
            return context.fail(Usage, QStringLiteral("%1: --%2 needs a value").arg(command->name, name));
        }
    }
    return command->run(context);
}

} // namespace lectern::cli
