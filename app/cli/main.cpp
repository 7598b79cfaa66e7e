#include "app/cli/cli.h"

#include <QCoreApplication>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("Lectern"));
    QCoreApplication::setOrganizationName(QStringLiteral("Lectern"));
    return lectern::cli::run(QCoreApplication::arguments().mid(1));
}
