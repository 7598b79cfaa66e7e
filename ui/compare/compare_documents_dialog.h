#pragma once
// "Compare two documents…": two pickers over the documents of the current session (from the store) and
// the redline of the chosen pair. Paged documents are compared as compare::joinPages() text.

#include <QDialog>

class QComboBox;
class QLabel;

namespace lectern::store {
class Store;
}

namespace lectern::ui {

class RedlineView;

class CompareDocumentsDialog : public QDialog {
    Q_OBJECT
public:
    CompareDocumentsDialog(store::Store* store, qint64 session, QWidget* parent = nullptr);

    // Lists the imported documents of `session` again (after an import or a session change).
    void setSession(qint64 session);
    // Chooses the pair and shows its redline; false (the reason shown in the dialog) when either
    // document cannot be loaded or the texts cannot be compared.
    bool compareDocuments(qint64 left, qint64 right);

    QComboBox* leftPicker() const { return left_; }
    QComboBox* rightPicker() const { return right_; }
    RedlineView* redline() const { return redline_; }
    QString message() const;

private:
    bool compareChosen();

    store::Store* store_ = nullptr;
    qint64 session_ = 0;
    QComboBox* left_ = nullptr;
    QComboBox* right_ = nullptr;
    QLabel* message_ = nullptr;
    RedlineView* redline_ = nullptr;
};

} // namespace lectern::ui
