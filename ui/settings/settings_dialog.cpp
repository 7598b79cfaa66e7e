#include "ui/settings/settings_dialog.h"

#include "app/answers/corpus_cache.h"
#include "ui/status/status_panel.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace lectern::ui {
namespace {

constexpr qint64 kGiB = qint64(1) << 30;

} // namespace

SettingsDialog::SettingsDialog(const CacheSettings& current, store::Store* store, QWidget* parent)
    : QDialog(parent), current_(current), store_(store) {
    setWindowTitle(QStringLiteral("Settings"));
    setObjectName(QStringLiteral("settingsDialog"));
    auto* layout = new QVBoxLayout(this);
    auto* intro = new QLabel(
        QStringLiteral("<b>Corpus cache</b><br>After a corpus is read once, the model's state is kept here, "
                       "so that later questions and reopened sessions start without reading it again. "
                       "The least recently used files go first when the cache outgrows its limit."),
        this);
    intro->setWordWrap(true);
    layout->addWidget(intro);

    auto* form = new QFormLayout;
    location_ = new QLineEdit(current_.directory, this);
    location_->setObjectName(QStringLiteral("cacheLocation"));
    location_->setAccessibleName(QStringLiteral("Corpus cache location"));
    location_->setToolTip(
        QStringLiteral("New cache files are written here; files already cached stay where they are"));
    auto* browse = new QPushButton(QStringLiteral("&Browse…"), this);
    browse->setObjectName(QStringLiteral("browseCacheLocation"));
    browse->setAccessibleName(QStringLiteral("Choose the corpus cache location"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString chosen = QFileDialog::getExistingDirectory(
            this, QStringLiteral("Corpus cache location"), location_->text());
        if (!chosen.isEmpty()) location_->setText(chosen);
    });
    auto* locationRow = new QHBoxLayout;
    locationRow->addWidget(location_, 1);
    locationRow->addWidget(browse);
    auto* locationLabel = new QLabel(QStringLiteral("&Location:"), this);
    locationLabel->setBuddy(location_);
    form->addRow(locationLabel, locationRow);

    size_ = new QLabel(this);
    size_->setObjectName(QStringLiteral("cacheSize"));
    size_->setAccessibleName(QStringLiteral("Corpus cache size"));
    size_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    clear_ = new QPushButton(QStringLiteral("&Clear Cache"), this);
    clear_->setObjectName(QStringLiteral("clearCache"));
    clear_->setAccessibleName(QStringLiteral("Clear the corpus cache"));
    clear_->setToolTip(
        QStringLiteral("Remove every cached corpus state; the next question reads its corpus again"));
    clear_->setEnabled(store_ != nullptr);
    connect(clear_, &QPushButton::clicked, this, &SettingsDialog::clearCache);
    auto* sizeRow = new QHBoxLayout;
    sizeRow->addWidget(size_, 1);
    sizeRow->addWidget(clear_);
    form->addRow(QStringLiteral("Size:"), sizeRow);

    limit_ = new QSpinBox(this);
    limit_->setObjectName(QStringLiteral("cacheLimit"));
    limit_->setAccessibleName(QStringLiteral("Corpus cache limit in GiB"));
    limit_->setRange(1, 1 << 20);
    limit_->setSuffix(QStringLiteral(" GiB"));
    limit_->setValue(int(std::clamp<qint64>((current_.limitBytes + kGiB - 1) / kGiB, 1, 1 << 20)));
    auto* limitLabel = new QLabel(QStringLiteral("&Limit:"), this);
    limitLabel->setBuddy(limit_);
    form->addRow(limitLabel, limit_);
    layout->addLayout(form);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);
    showSize();
}

CacheSettings SettingsDialog::settings() const {
    CacheSettings edited = current_;
    const QString directory = location_->text().trimmed();
    if (!directory.isEmpty()) edited.directory = directory;
    // The limit is shown in whole GiB: an unchanged field keeps a limit that was not a whole number.
    if (qint64(limit_->value()) * kGiB != (current_.limitBytes + kGiB - 1) / kGiB * kGiB)
        edited.limitBytes = qint64(limit_->value()) * kGiB;
    return edited;
}

void SettingsDialog::showSize() {
    // Only the bytes matter here: no store is needed to count them.
    qint64 bytes = 0;
    if (store_) bytes = answers::CorpusCache(*store_, current_.directory).totalBytes();
    size_->setText(QStringLiteral("%1 in %2").arg(StatusPanel::formatBytes(bytes), current_.directory));
}

void SettingsDialog::clearCache() {
    if (!store_) return;
    answers::CorpusCache(*store_, current_.directory).clear();
    showSize();
}

} // namespace lectern::ui
