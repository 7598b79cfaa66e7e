#pragma once
// An e-mail message: its headers (From, To, Cc, Date, Subject) above the body text.

#include <QList>
#include <QPair>
#include <QWidget>

class QFormLayout;

namespace lectern::ui {

class TextView;

class MailView : public QWidget {
    Q_OBJECT
public:
    using Headers = QList<QPair<QString, QString>>; // name, value; shown in this order

    explicit MailView(QWidget* parent = nullptr);

    // The body's pages are shown one after another, as in TextView::setPages.
    void setMessage(const Headers& headers, const QStringList& bodyPages);
    const Headers& headers() const { return headers_; }
    TextView* body() const { return body_; }

    // Splits RFC 5322-style header lines ("Subject: ...") off the start of `text`. Returns the headers
    // found and sets `bodyStart` to where the body begins (0 when the text starts with no header).
    static Headers splitHeaders(const QString& text, qsizetype& bodyStart);

private:
    QWidget* headerBox_ = nullptr;
    QFormLayout* headerForm_ = nullptr;
    TextView* body_ = nullptr;
    Headers headers_;
};

} // namespace lectern::ui
