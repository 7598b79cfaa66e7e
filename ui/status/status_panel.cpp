#include "ui/status/status_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>

#include <cmath>

namespace lectern::ui {
namespace {

QLabel* makeLabel(const QString& name, QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setObjectName(name);
    label->setVisible(false);
    return label;
}

} // namespace

StatusPanel::StatusPanel(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("statusPanel"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(12);
    prefill_ = makeLabel(QStringLiteral("prefillStatus"), this);
    speed_ = makeLabel(QStringLiteral("speedStatus"), this);
    backend_ = makeLabel(QStringLiteral("backendStatus"), this);
    fallback_ = makeLabel(QStringLiteral("backendFallbackStatus"), this);
    fallback_->setAccessibleName(QStringLiteral("Why the model does not run wholly on the fastest backend"));
    // The reasons are long sentences: the status bar shows their start, the tooltip all of them.
    fallback_->setMaximumWidth(fallback_->fontMetrics().averageCharWidth() * 60);
    kvCache_ = makeLabel(QStringLiteral("kvCacheStatus"), this);
    context_ = new QProgressBar(this);
    context_->setObjectName(QStringLiteral("contextMeter"));
    context_->setAccessibleName(QStringLiteral("Context used"));
    context_->setTextVisible(true);
    context_->setMinimumWidth(
        context_->fontMetrics().horizontalAdvance(QStringLiteral("1,048,576 / 1,048,576 tokens")) + 24);
    context_->setMaximumHeight(context_->fontMetrics().height() + 6);
    context_->setVisible(false);
    for (QWidget* widget :
         {static_cast<QWidget*>(prefill_), static_cast<QWidget*>(speed_), static_cast<QWidget*>(backend_),
          static_cast<QWidget*>(fallback_), static_cast<QWidget*>(kvCache_), static_cast<QWidget*>(context_)})
        layout->addWidget(widget);
}

QString StatusPanel::formatCount(qint64 count) {
    QLocale locale;
    locale.setNumberOptions(locale.numberOptions() & ~QLocale::OmitGroupSeparator);
    return locale.toString(count);
}

QString StatusPanel::formatBytes(qint64 bytes) {
    static const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1024 && unit < 4) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? QStringLiteral("%1 bytes").arg(bytes)
                     : QStringLiteral("%1 %2").arg(value, 0, 'f', 1).arg(QLatin1String(units[unit]));
}

QString StatusPanel::formatDuration(double seconds) {
    const qint64 total = qint64(std::llround(std::max(0.0, seconds)));
    if (total < 60) return QStringLiteral("%1 s").arg(total);
    if (total < 3600) return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60);
    return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60);
}

void StatusPanel::setContext(qint64 usedTokens, qint64 capacityTokens) {
    const QString text =
        QStringLiteral("%1 / %2 tokens").arg(formatCount(usedTokens), formatCount(capacityTokens));
    // A QProgressBar counts in int: scale to per-mille so a 1M context fits.
    context_->setRange(0, 1000);
    context_->setValue(capacityTokens > 0 ? int(std::min<qint64>(1000, usedTokens * 1000 / capacityTokens))
                                          : 0);
    context_->setFormat(text);
    context_->setToolTip(
        QStringLiteral("The corpus, conversation and question take %1 of the model's %2-token "
                       "context.")
            .arg(formatCount(usedTokens), formatCount(capacityTokens)));
    context_->setAccessibleDescription(text);
    context_->setVisible(capacityTokens > 0);
}

void StatusPanel::setKvCacheBytes(qint64 bytes) {
    kvCache_->setText(bytes >= 0 ? QStringLiteral("KV cache %1").arg(formatBytes(bytes)) : QString());
    kvCache_->setVisible(bytes >= 0);
}

void StatusPanel::setBackend(const QString& backend, const QString& device, const QStringList& fallbacks,
                             const QString& placement) {
    // The CPU backend's device is the CPU itself: naming it twice says nothing.
    QString text =
        device.isEmpty() || device == backend ? backend : QStringLiteral("%1 · %2").arg(backend, device);
    if (!placement.isEmpty()) text += QStringLiteral(" · ") + placement;
    backend_->setText(text);
    backend_->setVisible(!backend.isEmpty());
    const QString reasons = fallbacks.join(QStringLiteral("\n"));
    fallback_->setText(reasons.isEmpty() ? QString() : fallbacks.join(QStringLiteral("; ")));
    fallback_->setToolTip(reasons);
    backend_->setToolTip(
        reasons.isEmpty() ? QString() : QStringLiteral("Not wholly on the fastest backend:\n") + reasons);
    fallback_->setVisible(!backend.isEmpty() && !reasons.isEmpty());
}

void StatusPanel::setTokensPerSecond(double rate) {
    speed_->setText(rate >= 0 ? QStringLiteral("%1 tokens/s").arg(rate, 0, 'f', 1) : QString());
    speed_->setVisible(rate >= 0);
}

void StatusPanel::setPrefill(double fraction, double etaSeconds, double tokensPerSecond) {
    QString text = QStringLiteral("Reading the corpus %1%").arg(qRound(std::clamp(fraction, 0.0, 1.0) * 100));
    if (tokensPerSecond >= 0) text += QStringLiteral(" at %1 tokens/s").arg(tokensPerSecond, 0, 'f', 0);
    if (etaSeconds >= 0) text += QStringLiteral(" · %1 left").arg(formatDuration(etaSeconds));
    prefill_->setText(text);
    prefill_->setVisible(true);
}

void StatusPanel::clearPrefill() {
    prefill_->clear();
    prefill_->setVisible(false);
}

QString StatusPanel::contextText() const {
    return context_->accessibleDescription();
}
QString StatusPanel::kvCacheText() const {
    return kvCache_->text();
}
QString StatusPanel::backendText() const {
    return backend_->text();
}
QString StatusPanel::fallbackText() const {
    return fallback_->text();
}
QString StatusPanel::speedText() const {
    return speed_->text();
}
QString StatusPanel::prefillText() const {
    return prefill_->text();
}

} // namespace lectern::ui
