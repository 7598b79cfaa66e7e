#pragma once
// The permanent part of the status bar: context meter ("612,340 / 1,048,576 tokens"), KV-cache size,
// backend and device, tokens/s while generating, and prefill progress with its ETA. Setters only: the
// inference worker's reports are turned into these calls by the main window.

#include <QStringList>
#include <QWidget>

class QLabel;
class QProgressBar;

namespace lectern::ui {

class StatusPanel : public QWidget {
    Q_OBJECT
public:
    explicit StatusPanel(QWidget* parent = nullptr);

    void setContext(qint64 usedTokens, qint64 capacityTokens);
    void setKvCacheBytes(qint64 bytes); // negative: unknown, hidden
    // "CUDA", "NVIDIA H200"; empty hides. `fallbacks`: why faster backends were passed over, one reason
    // each, shown next to it ("also tried") with the full text as its tooltip.
    // `placement`: where the model's parts run when not all on one device ("24 of 43 layers on the GPU").
    void setBackend(const QString& backend, const QString& device, const QStringList& fallbacks = {},
                    const QString& placement = {});
    void setTokensPerSecond(double rate); // negative: not generating, hidden
    // fraction in [0, 1]; etaSeconds and tokensPerSecond negative while unknown. clearPrefill() when done.
    void setPrefill(double fraction, double etaSeconds, double tokensPerSecond = -1);
    void clearPrefill();

    QString contextText() const;
    QString kvCacheText() const;
    QString backendText() const;
    QString fallbackText() const; // why not wholly on the fastest backend; empty when it is
    QString speedText() const;
    QString prefillText() const;

    static QString formatCount(qint64 count);      // 1048576 -> "1,048,576"
    static QString formatBytes(qint64 bytes);      // 3435973837 -> "3.2 GiB"
    static QString formatDuration(double seconds); // 80 -> "1 min 20 s"

private:
    QProgressBar* context_ = nullptr;
    QLabel* kvCache_ = nullptr;
    QLabel* backend_ = nullptr;
    QLabel* fallback_ = nullptr;
    QLabel* speed_ = nullptr;
    QLabel* prefill_ = nullptr;
};

} // namespace lectern::ui
