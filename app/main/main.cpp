#include "app/profile/profile.h"
#include "ui/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
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
    return QApplication::exec();
}
