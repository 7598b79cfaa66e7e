#include "ui/search/search_panel.h"

#include "app/store/store.h"

#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QVBoxLayout>

namespace lectern::ui {
namespace {

// Markers that never occur in document text, swapped for <b></b> after HTML-escaping the snippet.
const QString kMarkStart = QStringLiteral("\u0002");
const QString kMarkEnd = QStringLiteral("\u0003");

} // namespace

SearchPanel::SearchPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("searchPanel"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    query_ = new QLineEdit(this);
    query_->setObjectName(QStringLiteral("searchField"));
    query_->setAccessibleName(QStringLiteral("Search the session"));
    query_->setPlaceholderText(QStringLiteral("Search all documents (Ctrl+Shift+F)"));
    query_->setClearButtonEnabled(true);
    summary_ = new QLabel(this);
    summary_->setObjectName(QStringLiteral("searchSummary"));
    summary_->setWordWrap(true);
    results_ = new QListWidget(this);
    results_->setObjectName(QStringLiteral("searchResults"));
    results_->setAccessibleName(QStringLiteral("Search results"));
    results_->setWordWrap(true);
    results_->setSpacing(2);
    layout->addWidget(query_);
    layout->addWidget(summary_);
    layout->addWidget(results_, 1);
    connect(query_, &QLineEdit::returnPressed, this, [this] { search(query_->text()); });
    connect(results_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const int row = results_->row(item);
        if (row >= 0 && row < locations_.size()) emit locationActivated(locations_[row]);
    });
    connect(results_, &QListWidget::itemClicked, results_, &QListWidget::itemActivated);
}

void SearchPanel::setStore(store::Store* store, qint64 session) {
    store_ = store;
    session_ = session;
    results_->clear();
    locations_.clear();
    summary_->clear();
}

Location SearchPanel::locationOf(int row) const {
    return locations_.value(row);
}

void SearchPanel::search(const QString& text) {
    results_->clear();
    locations_.clear();
    if (!store_ || session_ == 0 || text.trimmed().isEmpty()) {
        summary_->clear();
        return;
    }
    store::SearchQuery query;
    query.session = session_;
    query.text = text;
    query.limit = 50;
    query.highlightStart = kMarkStart;
    query.highlightEnd = kMarkEnd;
    auto found = store_->search(query);
    if (!found) {
        summary_->setText(QString::fromStdString(found.error()));
        return;
    }
    summary_->setText(found->hits.isEmpty() ? QStringLiteral("No passage contains these words.")
                      : found->more         ? QStringLiteral("The best %1 matches").arg(found->hits.size())
                                            : QStringLiteral("%1 matches").arg(found->hits.size()));
    for (const store::SearchHit& hit : found->hits) {
        Location location{hit.documentPath, hit.page, {}, hit.range};
        if (auto passage = store_->passage(hit.passage); passage && *passage)
            location.rects = (*passage)->boxes;
        locations_.append(location);

        const QString snippet = hit.snippet.simplified()
                                    .toHtmlEscaped()
                                    .replace(kMarkStart, QStringLiteral("<b>"))
                                    .replace(kMarkEnd, QStringLiteral("</b>"));
        auto* item = new QListWidgetItem(results_);
        auto* label = new QLabel(
            QStringLiteral("<span style='color:palette(placeholder-text)'>%1, page %2</span><br>%3")
                .arg(QFileInfo(hit.documentPath).fileName().toHtmlEscaped())
                .arg(hit.page)
                .arg(snippet),
            results_);
        label->setWordWrap(true);
        label->setTextFormat(Qt::RichText);
        label->setContentsMargins(4, 2, 4, 2);
        label->setAttribute(Qt::WA_TransparentForMouseEvents);
        item->setSizeHint(QSize(0, label->heightForWidth(results_->viewport()->width() - 8) + 6));
        item->setData(Qt::AccessibleTextRole,
                      QStringLiteral("%1, page %2: %3")
                          .arg(QFileInfo(hit.documentPath).fileName())
                          .arg(hit.page)
                          .arg(QString(hit.snippet).remove(kMarkStart).remove(kMarkEnd)));
        results_->setItemWidget(item, label);
    }
}

} // namespace lectern::ui
