#pragma once
// A thin RAII layer over the SQLite C API: one connection, prepared statements, transactions.
// Inside app/store, SQL failures are thrown as SqlFailure and turned into lectern::Error (a plain-language
// message) at the Store's public boundary, so that the queries read straight through.

#include <QByteArray>
#include <QString>
#include <sqlite3.h>

#include <stdexcept>
#include <string>

namespace lectern::store {

// A failed SQLite call, already phrased for a person (what failed, why, what to do).
class SqlFailure : public std::runtime_error {
public:
    SqlFailure(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
    int code() const { return code_; }

private:
    int code_;
};

class Statement;

class Database {
public:
    // Opens (creating if needed) the database file with WAL, foreign keys and a busy timeout.
    // Throws SqlFailure with a message naming the file when it cannot be opened or written.
    explicit Database(const QString& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(const char* sql);
    Statement prepare(const char* sql);
    sqlite3* handle() const { return db_; }
    const QString& path() const { return path_; }
    qint64 lastInsertId() const;
    qint64 changes() const;

    // Throws the failure for `code`, the connection's last error, phrased for `what` was being done.
    [[noreturn]] void fail(int code, const char* what) const;

private:
    sqlite3* db_ = nullptr;
    QString path_;
};

class Statement {
public:
    Statement(const Database& db, const char* sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    // 1-based parameter indices, as SQLite counts them.
    Statement& bind(int index, qint64 value);
    Statement& bind(int index, int value) { return bind(index, static_cast<qint64>(value)); }
    Statement& bind(int index, double value);
    Statement& bind(int index, const QString& value); // a null QString binds NULL
    Statement& bindBlob(int index, const QByteArray& value);
    Statement& bindNull(int index);

    // True while a row is available; false when done. Throws on failure.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    void reset();

    qint64 int64(int column) const;
    double real(int column) const;
    QString text(int column) const;
    QByteArray blob(int column) const;
    bool isNull(int column) const;

private:
    const Database* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back when destroyed uncommitted (an exception unwinding through it).
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& db_;
    bool open_ = true;
};

} // namespace lectern::store
