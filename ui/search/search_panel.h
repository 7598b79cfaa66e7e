#pragma once
// Full-text search over the session (the store's FTS5 index): ranked hits with the matched words
// highlighted in a snippet; activating a hit opens its passage in the viewer.

#include "ui/viewer/location.h"

#include <QWidget>

class QLabel;
class QLineEdit;
class QListWidget;

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class SearchPanel : public QWidget {
    Q_OBJECT
public:
    explicit SearchPanel(QWidget* parent = nullptr);

    void setStore(store::Store* store, qint64 session);
    void search(const QString& text);
    QLineEdit* queryField() const { return query_; }
    QListWidget* results() const { return results_; }
    // The viewer location of result `row`: its passage's page, boxes and range.
    Location locationOf(int row) const;

signals:
    void locationActivated(const lectern::ui::Location& location);

private:
    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    QLineEdit* query_ = nullptr;
    QLabel* summary_ = nullptr;
    QListWidget* results_ = nullptr;
    QList<Location> locations_;
};

} // namespace lectern::ui
