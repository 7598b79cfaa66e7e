#include "importers/pipeline.h"

#include "importers/content_hash.h"
#include "importers/folder_walk.h"
#include "importers/parse.h"

#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QLocale>
#include <QSet>
#include <QThread>
#include <QThreadPool>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace lectern::importers {

namespace {

// What a worker hands back to the coordinating thread.
struct Finished {
    qsizetype index = 0;
    bool parsed = false; // false: the read-and-hash stage
    QByteArray bytes;
    QString hash;
    std::optional<FileFailure> readFailure;
    ParseResult result;
};

class Mailbox {
public:
    void post(Finished finished) {
        {
            const std::lock_guard lock(mutex_);
            queue_.push_back(std::move(finished));
        }
        ready_.notify_one();
    }
    std::optional<Finished> wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!ready_.wait_for(lock, timeout, [this] { return !queue_.empty(); })) return std::nullopt;
        Finished finished = std::move(queue_.front());
        queue_.pop_front();
        return finished;
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<Finished> queue_;
};

Finished readAndHash(qsizetype index, const FoundFile& file, const ImportOptions& options) {
    Finished finished;
    finished.index = index;
    const QString name = QFileInfo(file.path).fileName();
    auto fail = [&](FailureKind kind, const QString& message) {
        finished.readFailure = FileFailure{file.path, QString(), QString(), kind, message};
        return finished;
    };
    if (file.size > options.maxFileBytes)
        return fail(FailureKind::TooLarge, QStringLiteral("\"%1\" is %2, more than the limit of %3.")
                                               .arg(name, QLocale::c().formattedDataSize(file.size),
                                                    QLocale::c().formattedDataSize(options.maxFileBytes)));
    QFile input(file.path);
    if (!input.open(QIODevice::ReadOnly))
        return fail(FailureKind::Unreadable,
                    QStringLiteral("\"%1\" cannot be read: %2.").arg(file.path, input.errorString()));
    finished.bytes = input.readAll();
    if (input.error() != QFileDevice::NoError)
        return fail(FailureKind::Unreadable,
                    QStringLiteral("\"%1\" cannot be read: %2.").arg(file.path, input.errorString()));
    finished.hash = contentHash(finished.bytes);
    return finished;
}

class Coordinator {
public:
    Coordinator(const ImportOptions& options, ImportSink& sink, const ProgressCallback& progress,
                std::stop_token stop)
        : options_(options), sink_(sink), progress_(progress), stop_(std::move(stop)) {
        pool_.setMaxThreadCount(options.threads > 0 ? options.threads : QThread::idealThreadCount());
    }

    ImportReport run(const QStringList& paths) {
        timer_.start();
        WalkResult walk = findFiles(paths, options_, stop_);
        for (const FileFailure& failure : walk.failures) {
            sink_.recordFailure(failure);
            report_.files.append({failure.path, FileStatus::Failed, 0, 0, failure.message});
        }
        files_ = std::move(walk.files);
        const qsizetype first = report_.files.size();
        for (const FoundFile& file : files_) {
            report_.files.append({file.path, FileStatus::Cancelled, 0, 0, QString()});
            progressState_.bytesTotal += file.size;
        }
        progressState_.filesTotal = int(files_.size());
        outcomeOffset_ = first;

        const qsizetype maxInFlight = std::max(2, pool_.maxThreadCount() * 2);
        qsizetype next = 0;
        while (true) {
            const bool stopping = stop_.stop_requested();
            // Hashed files waiting for their turn hold their bytes: they count against the bound too.
            while (!stopping && next < files_.size() && inFlight_ + hashed_.size() < maxInFlight) {
                submitRead(next++);
            }
            if (inFlight_ == 0 && (stopping || next >= files_.size())) break;
            if (std::optional<Finished> finished = mailbox_.wait(std::chrono::milliseconds(200))) {
                --inFlight_;
                handle(std::move(*finished));
            }
            reportProgress();
        }
        pool_.waitForDone();
        report_.cancelled = stop_.stop_requested();
        reportProgress();
        return std::move(report_);
    }

private:
    FileOutcome& outcome(qsizetype index) { return report_.files[outcomeOffset_ + index]; }

    void submitRead(qsizetype index) {
        ++inFlight_;
        const FoundFile file = files_[index];
        pool_.start([this, index, file] { mailbox_.post(readAndHash(index, file, options_)); });
    }

    void submitParse(qsizetype index, QByteArray bytes, const QString& hash) {
        ++inFlight_;
        ParseInput input;
        input.path = files_[index].path;
        input.fileName = input.path;
        input.bytes = std::move(bytes);
        input.contentHash = hash;
        input.options = &options_;
        input.stop = stop_;
        input.pagesDone = &pagesParsed_;
        pool_.start([this, index, input = std::move(input)] {
            Finished finished;
            finished.index = index;
            finished.parsed = true;
            finished.hash = input.contentHash;
            finished.result = parseFile(input);
            mailbox_.post(std::move(finished));
        });
    }

    void handle(Finished finished) {
        const qsizetype index = finished.index;
        FileOutcome& result = outcome(index);
        if (finished.readFailure) {
            sink_.recordFailure(*finished.readFailure);
            result.status = FileStatus::Failed;
            result.error = finished.readFailure->message;
            fileDone(index);
            finished.hash.clear(); // still routed below, to keep the order
        }
        if (!finished.parsed) {
            // Routed in discovery order, so that of two identical files the first found is the original.
            hashed_.insert(index, std::move(finished));
            while (hashed_.contains(nextToRoute_)) {
                Finished next = hashed_.take(nextToRoute_);
                if (!stop_.stop_requested()) // else it stays Cancelled
                    routeHashed(nextToRoute_, std::move(next.bytes), next.hash);
                ++nextToRoute_;
            }
            return;
        }
        if (finished.result.cancelled) {
            result.status = FileStatus::Cancelled;
            releaseWaiting(finished.hash);
            return;
        }
        store(index, finished.hash, finished.result);
        fileDone(index);
        releaseWaiting(finished.hash);
    }

    // Unchanged, a duplicate (of a file stored before or of one in this run), or to be parsed.
    void routeHashed(qsizetype index, QByteArray bytes, const QString& hash) {
        if (hash.isEmpty()) return; // it could not be read; already reported
        const QString& path = files_[index].path;
        FileOutcome& result = outcome(index);
        if (sink_.isComplete(path, hash)) {
            result.status = FileStatus::Unchanged;
            fileDone(index);
            return;
        }
        if (const auto it = hashInRun_.constFind(hash); it != hashInRun_.cend()) {
            if (outcome(it.value()).status == FileStatus::Cancelled && !doneInRun_.contains(it.value()))
                waiting_[hash].append(index); // the original is still being parsed
            else
                settleDuplicate(index, hash, it.value());
            return;
        }
        if (const QString original = sink_.pathWithContent(hash); !original.isEmpty() && original != path) {
            sink_.recordDuplicate(path, hash, original);
            result.status = FileStatus::Duplicate;
            fileDone(index);
            return;
        }
        hashInRun_.insert(hash, index);
        submitParse(index, std::move(bytes), hash);
    }

    void settleDuplicate(qsizetype index, const QString& hash, qsizetype original) {
        FileOutcome& result = outcome(index);
        const FileOutcome& first = outcome(original);
        if (first.status == FileStatus::Imported || first.status == FileStatus::Unchanged) {
            sink_.recordDuplicate(files_[index].path, hash, files_[original].path);
            result.status = FileStatus::Duplicate;
        } else if (first.status == FileStatus::Failed) {
            FileFailure failure{files_[index].path, QString(), hash, lastFailureKind_.value(original),
                                first.error};
            sink_.recordFailure(failure);
            result.status = FileStatus::Failed;
            result.error = first.error;
        } else {
            return; // the original was cancelled: so is this one
        }
        fileDone(index);
    }

    void releaseWaiting(const QString& hash) {
        const QList<qsizetype> waiting = waiting_.take(hash);
        for (qsizetype index : waiting) settleDuplicate(index, hash, hashInRun_.value(hash));
    }

    void store(qsizetype index, const QString& hash, const ParseResult& parsed) {
        const QString& path = files_[index].path;
        FileOutcome& result = outcome(index);
        QStringList containedErrors = parsed.notes;
        std::optional<FileFailure> own;
        for (const FileFailure& failure : parsed.failures) {
            if (failure.path == path)
                own = failure;
            else
                containedErrors.append(failure.message);
        }
        if (own || parsed.documents.isEmpty()) {
            const FileFailure failure =
                own ? *own
                    : FileFailure{
                          path, QString(), hash, FailureKind::Empty,
                          QStringLiteral("\"%1\" yielded no documents.").arg(QFileInfo(path).fileName())};
            sink_.recordFailure(failure);
            lastFailureKind_.insert(index, failure.kind);
            result.status = FileStatus::Failed;
            result.error = failure.message;
            return;
        }
        sink_.beginFile(path, hash);
        for (const Document& document : parsed.documents) {
            if (Result<void> stored = sink_.storeDocument(document); !stored) {
                const FileFailure failure{
                    path, QString(), hash, FailureKind::Unreadable,
                    QStringLiteral("\"%1\" could not be stored: %2")
                        .arg(QFileInfo(path).fileName(), QString::fromStdString(stored.error()))};
                sink_.recordFailure(failure);
                lastFailureKind_.insert(index, failure.kind);
                result.status = FileStatus::Failed;
                result.error = failure.message;
                return;
            }
            result.pages += int(document.pages.size());
            result.passages += int(document.passages.size());
        }
        for (const FileFailure& failure : parsed.failures) {
            if (failure.path != path) sink_.recordFailure(failure);
        }
        sink_.finishFile(path, hash);
        result.status = FileStatus::Imported;
        result.error = containedErrors.join(QLatin1Char(' '));
    }

    void fileDone(qsizetype index) {
        doneInRun_.insert(index);
        ++progressState_.filesDone;
        progressState_.bytesDone += files_[index].size;
        progressState_.currentPath = files_[index].path;
    }

    void reportProgress() {
        if (!progress_) return;
        ImportProgress state = progressState_;
        state.pagesDone = pagesParsed_.load();
        const double elapsed = timer_.elapsed() / 1000.0;
        if (state.bytesDone > 0 && elapsed > 0.5)
            state.etaSeconds = elapsed * double(state.bytesTotal - state.bytesDone) / double(state.bytesDone);
        progress_(state);
    }

    const ImportOptions& options_;
    ImportSink& sink_;
    const ProgressCallback& progress_;
    std::stop_token stop_;
    QThreadPool pool_;
    Mailbox mailbox_;
    QElapsedTimer timer_;
    QList<FoundFile> files_;
    ImportReport report_;
    qsizetype outcomeOffset_ = 0;
    qsizetype inFlight_ = 0;
    QHash<qsizetype, Finished> hashed_;
    qsizetype nextToRoute_ = 0;
    QHash<QString, qsizetype> hashInRun_;
    QHash<QString, QList<qsizetype>> waiting_;
    QHash<qsizetype, FailureKind> lastFailureKind_;
    QSet<qsizetype> doneInRun_;
    ImportProgress progressState_;
    std::atomic<qint64> pagesParsed_{0};
};

} // namespace

ImportReport importPaths(const QStringList& paths, const ImportOptions& options, ImportSink& sink,
                         const ProgressCallback& progress, std::stop_token stop) {
    Coordinator coordinator(options, sink, progress, std::move(stop));
    return coordinator.run(paths);
}

} // namespace lectern::importers
