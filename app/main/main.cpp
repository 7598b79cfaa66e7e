#include "app/profile/profile.h"
#include "ui/compare/compare_view.h"
#include "ui/conversation/ask_controller.h"
#include "ui/main_window.h"
#include "ui/search/search_panel.h"
#include "ui/viewer/document_viewer.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QListWidget>
#include <QMessageBox>

#include <lectern/version.h>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Lectern"));
    QApplication::setOrganizationName(QStringLiteral("Lectern"));
    QApplication::setApplicationVersion(QString::fromUtf8(lectern::kVersion));
    QApplication::setDesktopFileName(QStringLiteral("org.lectern.Lectern"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QString::fromUtf8(lectern::kDescription));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption profileOption(
        QStringLiteral("profile"),
        QStringLiteral("Keep all data under <dir> instead of the user's data directory."),
        QStringLiteral("dir"));
    parser.addOption(profileOption);
    const QCommandLineOption openOption(
        QStringLiteral("open"), QStringLiteral("Show <file> in the viewer (from the session when imported)."),
        QStringLiteral("file"));
    const QCommandLineOption findOption(QStringLiteral("find"),
                                        QStringLiteral("Find <text> in the opened document."),
                                        QStringLiteral("text"));
    const QCommandLineOption searchOption(QStringLiteral("search"),
                                          QStringLiteral("Search the session's documents for <text>."),
                                          QStringLiteral("text"));
    const QCommandLineOption modelOption(
        QStringLiteral("model"),
        QStringLiteral("Answer with the model in <path> (a checkpoint folder or .gguf file) instead of the "
                       "built-in default."),
        QStringLiteral("path"));
    const QCommandLineOption noModelOption(QStringLiteral("no-model"),
                                           QStringLiteral("Start without loading a model."));
    const QCommandLineOption askOption(
        QStringLiteral("ask"), QStringLiteral("Ask <question> of the session once the model is loaded."),
        QStringLiteral("question"));
    const QCommandLineOption compareOption(
        QStringLiteral("compare"),
        QStringLiteral("Open the Compare Corpora window and ask <question> of corpus A and of corpus B."),
        QStringLiteral("question"));
    parser.addOptions(
        {openOption, findOption, searchOption, modelOption, noModelOption, askOption, compareOption});
    parser.process(app); // --help and --version print and exit here

    const QString directory =
        parser.isSet(profileOption) ? parser.value(profileOption) : lectern::Profile::defaultDirectory();
    auto profile = lectern::Profile::open(directory);
    if (!profile) {
        QMessageBox::critical(nullptr, QStringLiteral("Lectern"), QString::fromStdString(profile.error()));
        return 1;
    }

    lectern::ui::MainWindow window(*profile);
    window.show();
    if (parser.isSet(askOption))
        QObject::connect(
            window.asker(), &lectern::ui::AskController::modelLoaded, window.asker(),
            [&window, question = parser.value(askOption)] { window.asker()->ask(question); },
            Qt::SingleShotConnection);
    if (!parser.isSet(noModelOption)) window.loadModel(parser.value(modelOption));
    if (parser.isSet(searchOption)) {
        window.searchAll(parser.value(searchOption));
        // The best hit, in place, unless a document to open was named.
        if (!parser.isSet(openOption) && window.search()->results()->count() > 0)
            window.viewer()->showLocation(window.search()->locationOf(0)).ok();
    }
    if (parser.isSet(openOption)) {
        window.viewer()
            ->showLocation({QFileInfo(parser.value(openOption)).absoluteFilePath(), 1, {}, {}})
            .ok();
        if (parser.isSet(findOption)) window.viewer()->find(parser.value(findOption));
    }
    if (parser.isSet(compareOption))
        window.showCompareCorpora()->ask(parser.value(compareOption), lectern::answers::CompareMode::Each);
    return QApplication::exec();
}
