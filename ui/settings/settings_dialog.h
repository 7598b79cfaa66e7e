#pragma once
// Edit ▸ Settings (Ctrl+,): the corpus cache's location, its current size and its limit, and a button
// that clears it. The dialog edits a CacheSettings (app/profile/cache_settings.h); whoever opens it saves
// the result and hands it to the asking side, which evicts down to a lower limit at once.

#include "app/profile/cache_settings.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    // `store` registers the cache's files; without one the cache cannot be cleared from here.
    SettingsDialog(const CacheSettings& current, store::Store* store, QWidget* parent = nullptr);

    CacheSettings settings() const; // as edited

    QLineEdit* locationField() const { return location_; }
    QSpinBox* limitField() const { return limit_; } // GiB
    QLabel* sizeLabel() const { return size_; }
    QPushButton* clearButton() const { return clear_; }

    // Removes every corpus snapshot in the cache's current location (not an edited, unsaved one).
    void clearCache();

private:
    void showSize();

    CacheSettings current_;
    store::Store* store_;
    QLineEdit* location_ = nullptr;
    QSpinBox* limit_ = nullptr;
    QLabel* size_ = nullptr;
    QPushButton* clear_ = nullptr;
};

} // namespace lectern::ui
