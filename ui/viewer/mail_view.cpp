#include "ui/viewer/mail_view.h"

#include "ui/viewer/text_view.h"

#include <QFormLayout>
#include <QFrame>
#include <QLabel>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace lectern::ui {

MailView::MailView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("mailView"));
    setAccessibleName(QStringLiteral("E-mail message"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    headerBox_ = new QFrame(this);
    headerBox_->setObjectName(QStringLiteral("mailHeaders"));
    static_cast<QFrame*>(headerBox_)->setFrameShape(QFrame::StyledPanel);
    headerForm_ = new QFormLayout(headerBox_);
    headerForm_->setLabelAlignment(Qt::AlignRight);
    body_ = new TextView(this);
    body_->setAccessibleName(QStringLiteral("Message body"));
    layout->addWidget(headerBox_);
    layout->addWidget(body_, 1);
}

void MailView::setMessage(const Headers& headers, const QStringList& bodyPages) {
    headers_ = headers;
    while (headerForm_->rowCount() > 0) headerForm_->removeRow(0);
    for (const auto& [name, value] : headers) {
        auto* label = new QLabel(value, headerBox_);
        label->setTextFormat(Qt::PlainText);
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        label->setAccessibleName(name);
        if (name == QLatin1String("Subject")) {
            QFont font = label->font();
            font.setBold(true);
            label->setFont(font);
        }
        headerForm_->addRow(QStringLiteral("<b>%1:</b>").arg(name.toHtmlEscaped()), label);
    }
    headerBox_->setVisible(!headers.isEmpty());
    body_->setPages(bodyPages, QString());
}

MailView::Headers MailView::splitHeaders(const QString& text, qsizetype& bodyStart) {
    static const QRegularExpression line(
        QStringLiteral("(From|To|Cc|Bcc|Reply-To|Date|Subject):[ \\t]*([^\\n]*)\\n"),
        QRegularExpression::CaseInsensitiveOption);
    Headers headers;
    qsizetype at = 0;
    for (;;) {
        const QRegularExpressionMatch match = line.match(text, at, QRegularExpression::NormalMatch,
                                                         QRegularExpression::AnchorAtOffsetMatchOption);
        if (!match.hasMatch()) break;
        QString name = match.captured(1).toLower();
        name[0] = name[0].toUpper();
        if (name == QLatin1String("Reply-to")) name = QStringLiteral("Reply-To");
        headers.append({name, match.captured(2).trimmed()});
        at = match.capturedEnd(0);
    }
    if (headers.isEmpty()) {
        bodyStart = 0;
        return {};
    }
    while (at < text.size() && (text[at] == QLatin1Char('\n') || text[at] == QLatin1Char('\r'))) ++at;
    bodyStart = at;
    return headers;
}

} // namespace lectern::ui
