#include "app/store/database.h"

#include <QDir>
#include <QFileInfo>

namespace lectern::store {
namespace {

std::string phrase(int code, const char* what, const QString& path, const char* detail) {
    const std::string file = QDir::toNativeSeparators(path).toStdString();
    const std::string reason = detail ? detail : sqlite3_errstr(code);
    switch (code & 0xff) {
    case SQLITE_FULL:
        return "the disk holding " + file + " is full (while " + what +
               "): free some space and try again; nothing from this step was saved";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return "cannot write the database " + file + " (while " + what + ": " + reason +
               "): check that the file and its folder are writable, or choose another profile with "
               "--profile";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return "the database " + file + " is damaged or is not a Lectern database (while " + what + ": " +
               reason + "): move it away to start afresh, or restore it from a backup";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "the database " + file + " is busy in another Lectern process (while " + what +
               "): close the other process and try again";
    case SQLITE_IOERR:
        return "reading or writing " + file + " failed (while " + what + ": " + reason +
               "): check the disk and try again";
    default:
        return "database error while " + std::string(what) + " in " + file + ": " + reason;
    }
}

} // namespace

Database::Database(const QString& path) : path_(path) {
    const QFileInfo info(path);
    const QFileInfo folder(info.absolutePath());
    if (!folder.isDir())
        throw SqlFailure(SQLITE_CANTOPEN, "the folder " + folder.absoluteFilePath().toStdString() +
                                              " for the database does not exist");
    // SQLite needs to create the -wal and -shm files beside the database, so the folder must be writable
    // even when the file already exists; saying so up front beats a cryptic failure on the first write.
    if (!folder.isWritable())
        throw SqlFailure(SQLITE_READONLY,
                         "cannot write the database " + QDir::toNativeSeparators(path).toStdString() +
                             ": its folder " + folder.absoluteFilePath().toStdString() +
                             " is read-only; make it writable or choose another profile with --profile");
    if (info.exists() && !info.isWritable())
        throw SqlFailure(SQLITE_READONLY, "cannot write the database " +
                                              QDir::toNativeSeparators(path).toStdString() +
                                              ": the file is read-only; make it writable or choose another "
                                              "profile with --profile");
    const QByteArray file = QFile::encodeName(path);
    const int code = sqlite3_open_v2(
        file.constData(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (code != SQLITE_OK) {
        const std::string message = phrase(code, "opening it", path_, db_ ? sqlite3_errmsg(db_) : nullptr);
        sqlite3_close(db_);
        db_ = nullptr;
        throw SqlFailure(code, message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 5000);
    try {
        // WAL lets readers (the UI) run beside the writer (an import); FULL syncs each commit so a
        // committed answer survives a power cut as well as a crash.
        Statement mode(*this, "PRAGMA journal_mode=WAL");
        if (!mode.step() || mode.text(0).compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
            throw SqlFailure(SQLITE_CANTOPEN, phrase(SQLITE_CANTOPEN, "switching it to write-ahead logging",
                                                     path_, "the journal mode could not be changed"));
        exec("PRAGMA foreign_keys=ON");
        exec("PRAGMA synchronous=FULL");
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

Database::~Database() {
    if (db_) sqlite3_close(db_);
}

void Database::exec(const char* sql) {
    char* message = nullptr;
    const int code = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (code != SQLITE_OK) {
        const std::string detail = message ? message : sqlite3_errstr(code);
        sqlite3_free(message);
        throw SqlFailure(code, phrase(code, "updating it", path_, detail.c_str()));
    }
}

Statement Database::prepare(const char* sql) {
    return Statement(*this, sql);
}

qint64 Database::lastInsertId() const {
    return sqlite3_last_insert_rowid(db_);
}

qint64 Database::changes() const {
    return sqlite3_changes64(db_);
}

void Database::fail(int code, const char* what) const {
    throw SqlFailure(code, phrase(code, what, path_, sqlite3_errmsg(db_)));
}

Statement::Statement(const Database& db, const char* sql) : db_(&db) {
    const int code = sqlite3_prepare_v3(db.handle(), sql, -1, 0, &stmt_, nullptr);
    if (code != SQLITE_OK) db.fail(code, "preparing a query");
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

Statement& Statement::bind(int index, qint64 value) {
    if (const int code = sqlite3_bind_int64(stmt_, index, value); code != SQLITE_OK)
        db_->fail(code, "binding a value");
    return *this;
}

Statement& Statement::bind(int index, double value) {
    if (const int code = sqlite3_bind_double(stmt_, index, value); code != SQLITE_OK)
        db_->fail(code, "binding a value");
    return *this;
}

Statement& Statement::bind(int index, const QString& value) {
    if (value.isNull()) return bindNull(index);
    const QByteArray utf8 = value.toUtf8();
    if (const int code =
            sqlite3_bind_text64(stmt_, index, utf8.constData(), static_cast<sqlite3_uint64>(utf8.size()),
                                SQLITE_TRANSIENT, SQLITE_UTF8);
        code != SQLITE_OK)
        db_->fail(code, "binding a value");
    return *this;
}

Statement& Statement::bindBlob(int index, const QByteArray& value) {
    if (value.isNull()) return bindNull(index);
    if (const int code = sqlite3_bind_blob64(stmt_, index, value.constData(),
                                             static_cast<sqlite3_uint64>(value.size()), SQLITE_TRANSIENT);
        code != SQLITE_OK)
        db_->fail(code, "binding a value");
    return *this;
}

Statement& Statement::bindNull(int index) {
    if (const int code = sqlite3_bind_null(stmt_, index); code != SQLITE_OK)
        db_->fail(code, "binding a value");
    return *this;
}

bool Statement::step() {
    const int code = sqlite3_step(stmt_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    db_->fail(code, "running a query");
}

void Statement::run() {
    while (step()) {
    }
    reset();
}

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

qint64 Statement::int64(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
    return sqlite3_column_double(stmt_, column);
}

QString Statement::text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (!data) return {};
    return QString::fromUtf8(data, sqlite3_column_bytes(stmt_, column));
}

QByteArray Statement::blob(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    if (!data) return {};
    return QByteArray(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, column));
}

bool Statement::isNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : db_(db) {
    db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT");
    open_ = false;
}

} // namespace lectern::store
