#include "importers/folder_walk.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

namespace lectern::importers {

namespace {

QList<QRegularExpression> globs(const QStringList& patterns) {
    QList<QRegularExpression> result;
    for (const QString& pattern : patterns)
        result.append(QRegularExpression(QRegularExpression::wildcardToRegularExpression(pattern)));
    return result;
}

bool matchesAny(const QList<QRegularExpression>& patterns, const QString& name, const QString& relative) {
    for (const QRegularExpression& pattern : patterns) {
        if (pattern.match(name).hasMatch() || pattern.match(relative).hasMatch()) return true;
    }
    return false;
}

FileFailure failure(const QString& path, FailureKind kind, const QString& message) {
    return FileFailure{path, QString(), QString(), kind, message};
}

class Walker {
public:
    Walker(const ImportOptions& options, std::stop_token stop)
        : include_(globs(options.include)), exclude_(globs(options.exclude)), stop_(std::move(stop)) {}

    void addPath(const QString& given) {
        const QFileInfo info(given);
        if (info.isSymLink() && !info.exists()) {
            result_.failures.append(danglingLink(info.absoluteFilePath()));
        } else if (!info.exists()) {
            result_.failures.append(failure(info.absoluteFilePath(), FailureKind::Unreadable,
                                            QStringLiteral("\"%1\" does not exist.").arg(given)));
        } else if (info.isDir()) {
            walkFolder(info);
        } else if (info.isFile()) {
            addFile(info); // named explicitly: the globs do not apply
        } else {
            result_.failures.append(failure(info.absoluteFilePath(), FailureKind::Unsupported,
                                            QStringLiteral("\"%1\" is not a regular file.").arg(given)));
        }
    }

    WalkResult take() { return std::move(result_); }

private:
    static FileFailure danglingLink(const QString& path) {
        return failure(
            path, FailureKind::Unreadable,
            QStringLiteral("\"%1\" is a symbolic link that leads nowhere (its target is missing, or "
                           "the link points back to itself).")
                .arg(path));
    }

    void addFile(const QFileInfo& info) {
        const QString canonical = info.canonicalFilePath();
        if (seenFiles_.contains(canonical)) return;
        seenFiles_.insert(canonical);
        result_.files.append({canonical, info.size()});
    }

    // Depth-first with an explicit stack; each entry remembers the real folders above it (loops).
    void walkFolder(const QFileInfo& root) {
        struct Pending {
            QString path;
            QString relative;
            QStringList ancestors; // canonical paths
        };
        QList<Pending> stack{{root.absoluteFilePath(), QString(), {}}};
        while (!stack.isEmpty() && !stop_.stop_requested()) {
            Pending folder = stack.takeLast();
            const QString canonical = QFileInfo(folder.path).canonicalFilePath();
            if (folder.ancestors.contains(canonical)) {
                result_.failures.append(
                    failure(folder.path, FailureKind::Unreadable,
                            QStringLiteral("\"%1\" is a symbolic link back to a folder that "
                                           "contains it (a loop); it was not followed.")
                                .arg(folder.path)));
                continue;
            }
            if (seenFolders_.contains(canonical)) continue; // reached before through another link
            seenFolders_.insert(canonical);
            const QDir dir(folder.path);
            if (!dir.isReadable()) {
                result_.failures.append(failure(folder.path, FailureKind::Unreadable,
                                                QStringLiteral("The folder \"%1\" cannot be read (permission "
                                                               "denied).")
                                                    .arg(folder.path)));
                continue;
            }
            QStringList ancestors = folder.ancestors;
            ancestors.append(canonical);
            const QFileInfoList entries =
                dir.entryInfoList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::System, QDir::Name);
            QList<Pending> subfolders;
            for (const QFileInfo& entry : entries) {
                const QString relative = folder.relative.isEmpty()
                                             ? entry.fileName()
                                             : folder.relative + QLatin1Char('/') + entry.fileName();
                if (matchesAny(exclude_, entry.fileName(), relative)) continue;
                if (entry.isSymLink() && !entry.exists())
                    result_.failures.append(danglingLink(entry.absoluteFilePath()));
                else if (entry.isDir())
                    subfolders.append({entry.absoluteFilePath(), relative, ancestors});
                else if (entry.isFile() &&
                         (include_.isEmpty() || matchesAny(include_, entry.fileName(), relative)))
                    addFile(entry);
            }
            // Reversed onto the stack, so that subfolders are visited in name order.
            for (auto it = subfolders.crbegin(); it != subfolders.crend(); ++it) stack.append(*it);
        }
    }

    QList<QRegularExpression> include_;
    QList<QRegularExpression> exclude_;
    std::stop_token stop_;
    QSet<QString> seenFiles_;
    QSet<QString> seenFolders_;
    WalkResult result_;
};

} // namespace

WalkResult findFiles(const QStringList& paths, const ImportOptions& options, std::stop_token stop) {
    Walker walker(options, std::move(stop));
    for (const QString& path : paths) walker.addPath(path);
    return walker.take();
}

} // namespace lectern::importers
