#include "ui/compare/compare_documents_dialog.h"

#include "app/compare/word_diff.h"
#include "app/store/store.h"
#include "ui/compare/redline_view.h"

#include <QComboBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace lectern::ui {

CompareDocumentsDialog::CompareDocumentsDialog(store::Store* store, qint64 session, QWidget* parent)
    : QDialog(parent), store_(store) {
    setWindowTitle(QStringLiteral("Compare two documents"));
    setObjectName(QStringLiteral("compareDocumentsDialog"));
    resize(1100, 750);
    left_ = new QComboBox(this);
    left_->setAccessibleName(QStringLiteral("Older document"));
    right_ = new QComboBox(this);
    right_->setAccessibleName(QStringLiteral("Newer document"));
    auto* compare = new QPushButton(QStringLiteral("&Compare"), this);
    compare->setAccessibleName(QStringLiteral("Compare the chosen documents"));
    compare->setDefault(true);
    connect(compare, &QPushButton::clicked, this, [this] { compareChosen(); });

    auto* pickers = new QFormLayout;
    pickers->addRow(QStringLiteral("&Older:"), left_);
    pickers->addRow(QStringLiteral("&Newer:"), right_);
    message_ = new QLabel(this);
    message_->setWordWrap(true);
    message_->setAccessibleName(QStringLiteral("Comparison message"));
    message_->hide();
    redline_ = new RedlineView(this);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(pickers);
    layout->addWidget(compare, 0, Qt::AlignRight);
    layout->addWidget(message_);
    layout->addWidget(redline_, 1);
    setSession(session);
}

void CompareDocumentsDialog::setSession(qint64 session) {
    session_ = session;
    const QSignalBlocker block_left(left_);
    const QSignalBlocker block_right(right_);
    left_->clear();
    right_->clear();
    message_->hide();
    if (store_ == nullptr || session_ == 0) return;
    auto documents = store_->documents({session_, std::nullopt});
    if (!documents) {
        message_->setText(QString::fromStdString(documents.error()));
        message_->show();
        return;
    }
    for (const store::DocumentInfo& document : *documents) {
        if (document.state != store::ImportState::Imported) continue;
        const QString name =
            document.title.isEmpty()
                ? QFileInfo(document.path).fileName()
                : QStringLiteral("%1 (%2)").arg(document.title, QFileInfo(document.path).fileName());
        left_->addItem(name, document.id);
        right_->addItem(name, document.id);
    }
    if (right_->count() > 1) right_->setCurrentIndex(1);
}

bool CompareDocumentsDialog::compareDocuments(qint64 left, qint64 right) {
    const int left_index = left_->findData(left);
    const int right_index = right_->findData(right);
    if (left_index < 0 || right_index < 0) {
        message_->setText(
            QStringLiteral("That document is not an imported document of this session; import it first."));
        message_->show();
        return false;
    }
    left_->setCurrentIndex(left_index);
    right_->setCurrentIndex(right_index);
    return compareChosen();
}

QString CompareDocumentsDialog::message() const {
    return message_->isVisible() ? message_->text() : QString();
}

bool CompareDocumentsDialog::compareChosen() {
    message_->hide();
    if (left_->currentIndex() < 0 || right_->currentIndex() < 0) {
        message_->setText(QStringLiteral("This session has no imported documents to compare yet."));
        message_->show();
        return false;
    }
    QString texts[2];
    const QComboBox* pickers[2] = {left_, right_};
    for (int side = 0; side < 2; ++side) {
        auto document = store_->loadDocument(pickers[side]->currentData().toLongLong());
        if (!document) {
            message_->setText(
                QStringLiteral("Could not load “%1”: %2")
                    .arg(pickers[side]->currentText(), QString::fromStdString(document.error())));
            message_->show();
            return false;
        }
        texts[side] = compare::joinPages(document->pages).text;
    }
    return redline_->compare(left_->currentText(), texts[0], right_->currentText(), texts[1]);
}

} // namespace lectern::ui
