#include "ui/conversation/answer_widget.h"

#include <QAbstractTextDocumentLayout>
#include <QFileInfo>
#include <QGridLayout>
#include <QLabel>
#include <QListWidget>
#include <QTextBrowser>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace lectern::ui {
namespace {

constexpr int kChipsPerRow = 10;
const char* const kCiteScheme = "cite";

QTextBrowser* makeBrowser(const QString& name, QWidget* parent) {
    auto* browser = new QTextBrowser(parent);
    browser->setAccessibleName(name);
    browser->setOpenLinks(false);
    browser->setFrameShape(QFrame::NoFrame);
    browser->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    browser->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    browser->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    browser->viewport()->setAutoFillBackground(false);
    return browser;
}

} // namespace

QString describeLocation(const QString& documentTitle, const Location& location) {
    const QString name =
        documentTitle.isEmpty() ? QFileInfo(location.documentPath).fileName() : documentTitle;
    return location.rects.isEmpty() && location.page <= 1
               ? name
               : QStringLiteral("%1, page %2").arg(name).arg(location.page);
}

AnswerWidget::AnswerWidget(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("answerWidget"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 6, 4, 10);
    layout->setSpacing(4);

    question_ = new QLabel(this);
    question_->setObjectName(QStringLiteral("question"));
    question_->setTextFormat(Qt::PlainText);
    question_->setWordWrap(true);
    question_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont bold = question_->font();
    bold.setBold(true);
    question_->setFont(bold);
    layout->addWidget(question_);

    thinkingToggle_ = new QToolButton(this);
    thinkingToggle_->setObjectName(QStringLiteral("thinkingToggle"));
    thinkingToggle_->setAccessibleName(QStringLiteral("Show the model's thinking"));
    thinkingToggle_->setCheckable(true);
    thinkingToggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    thinkingToggle_->setArrowType(Qt::RightArrow);
    thinkingToggle_->setText(QStringLiteral("Thinking"));
    thinkingToggle_->setAutoRaise(true);
    layout->addWidget(thinkingToggle_);
    thinking_ = makeBrowser(QStringLiteral("The model's thinking"), this);
    thinking_->setObjectName(QStringLiteral("thinking"));
    QPalette greyed = thinking_->palette();
    greyed.setColor(QPalette::Text, palette().color(QPalette::PlaceholderText));
    thinking_->setPalette(greyed);
    thinking_->setVisible(false);
    layout->addWidget(thinking_);
    connect(thinkingToggle_, &QToolButton::toggled, this, [this](bool open) {
        thinkingToggle_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        thinking_->setVisible(open);
        fitHeight(thinking_);
    });

    answer_ = makeBrowser(QStringLiteral("Answer"), this);
    answer_->setObjectName(QStringLiteral("answer"));
    layout->addWidget(answer_);
    connect(answer_, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        if (url.scheme() == QLatin1String(kCiteScheme)) activateCitation(url.path().toInt());
    });
    connect(answer_, &QTextBrowser::highlighted, this, [this](const QUrl& url) {
        if (url.scheme() != QLatin1String(kCiteScheme)) return QToolTip::hideText();
        const int number = url.path().toInt();
        for (const CitationChip& citation : model_.citations)
            if (citation.number == number) QToolTip::showText(QCursor::pos(), chipToolTip(citation), answer_);
    });
    for (QTextBrowser* browser : {thinking_, answer_})
        connect(browser->document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged,
                this, [this, browser] { fitHeight(browser); });

    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("answerStatus"));
    status_->setWordWrap(true);
    layout->addWidget(status_);

    chipRow_ = new QWidget(this);
    chipRow_->setObjectName(QStringLiteral("citationChips"));
    chipRow_->setAccessibleName(QStringLiteral("Citations"));
    chipLayout_ = new QGridLayout(chipRow_);
    chipLayout_->setContentsMargins(0, 0, 0, 0);
    chipLayout_->setHorizontalSpacing(4);
    chipLayout_->setColumnStretch(kChipsPerRow, 1);
    layout->addWidget(chipRow_);

    lookedAtToggle_ = new QToolButton(this);
    lookedAtToggle_->setObjectName(QStringLiteral("lookedAtToggle"));
    lookedAtToggle_->setCheckable(true);
    lookedAtToggle_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    lookedAtToggle_->setArrowType(Qt::RightArrow);
    lookedAtToggle_->setAutoRaise(true);
    layout->addWidget(lookedAtToggle_);
    lookedAt_ = new QListWidget(this);
    lookedAt_->setObjectName(QStringLiteral("lookedAt"));
    lookedAt_->setAccessibleName(QStringLiteral("Passages the model looked at"));
    lookedAt_->setVisible(false);
    lookedAt_->setWordWrap(true);
    lookedAt_->setMaximumHeight(160);
    layout->addWidget(lookedAt_);
    connect(lookedAtToggle_, &QToolButton::toggled, this, [this](bool open) {
        lookedAtToggle_->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        lookedAt_->setVisible(open);
    });
    connect(lookedAt_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        const int index = lookedAt_->row(item);
        if (index >= 0 && index < model_.lookedAt.size())
            emit locationActivated(model_.lookedAt[index].location);
    });
    connect(lookedAt_, &QListWidget::itemClicked, lookedAt_, &QListWidget::itemActivated);
}

QString AnswerWidget::markdownWithLinks(const AnswerViewModel& model) {
    QList<const CitationChip*> inline_;
    for (const CitationChip& citation : model.citations)
        if (citation.answerOffset >= 0 && citation.answerOffset <= model.markdown.size())
            inline_.append(&citation);
    // From the end, so earlier offsets stay valid.
    std::stable_sort(inline_.begin(), inline_.end(), [](const CitationChip* a, const CitationChip* b) {
        return a->answerOffset > b->answerOffset;
    });
    QString markdown = model.markdown;
    for (const CitationChip* citation : inline_)
        markdown.insert(
            citation->answerOffset,
            QStringLiteral("[\\[%1\\]](%2:%1)").arg(citation->number).arg(QLatin1String(kCiteScheme)));
    return markdown;
}

QString AnswerWidget::chipToolTip(const CitationChip& citation) {
    QString tip = QStringLiteral("<p>“%1”</p><p><i>%2</i></p>")
                      .arg(citation.quote.toHtmlEscaped(),
                           describeLocation(citation.documentTitle, citation.location).toHtmlEscaped());
    if (citation.flagged)
        tip +=
            QStringLiteral("<p><b>Not verified:</b> %1</p>")
                .arg((citation.flagReason.isEmpty() ? QStringLiteral("the quote was not found in the source")
                                                    : citation.flagReason)
                         .toHtmlEscaped());
    return tip;
}

void AnswerWidget::setModel(const AnswerViewModel& model) {
    model_ = model;
    question_->setText(model.question);
    question_->setVisible(!model.question.isEmpty());

    const bool hasThinking = !model.thinking.isEmpty();
    thinkingToggle_->setVisible(hasThinking);
    thinking_->setVisible(hasThinking && thinkingToggle_->isChecked());
    if (thinking_->toPlainText() != model.thinking) thinking_->setPlainText(model.thinking);
    thinkingToggle_->setText(model.streaming && model.markdown.isEmpty() ? QStringLiteral("Thinking…")
                                                                         : QStringLiteral("Thinking"));

    answer_->setMarkdown(markdownWithLinks(model));
    answer_->setVisible(!model.markdown.isEmpty());

    if (!model.error.isEmpty()) {
        status_->setText(
            QStringLiteral("<span style='color:#b00020'>%1</span>").arg(model.error.toHtmlEscaped()));
    } else if (model.streaming) {
        status_->setText(model.markdown.isEmpty() && model.thinking.isEmpty()
                             ? QStringLiteral("<i>Reading…</i>")
                             : QStringLiteral("<i>Writing…</i>"));
    } else {
        status_->clear();
    }
    status_->setVisible(!status_->text().isEmpty());

    qDeleteAll(chips_);
    chips_.clear();
    for (const CitationChip& citation : model.citations) {
        auto* chip = new QToolButton(chipRow_);
        chip->setObjectName(QStringLiteral("citation%1").arg(citation.number));
        chip->setText(citation.flagged ? QStringLiteral("%1 ⚠").arg(citation.number)
                                       : QString::number(citation.number));
        chip->setAccessibleName(QStringLiteral("Citation %1: %2%3")
                                    .arg(citation.number)
                                    .arg(describeLocation(citation.documentTitle, citation.location),
                                         citation.flagged ? QStringLiteral(", not verified") : QString()));
        chip->setToolTip(chipToolTip(citation));
        chip->setProperty("flagged", citation.flagged);
        chip->setCursor(Qt::PointingHandCursor);
        chip->setStyleSheet(
            citation.flagged ? QStringLiteral("QToolButton { border: 1px dashed #b00020; border-radius: 9px;"
                                              " padding: 1px 7px; color: #b00020; background: #fdecee; }")
                             : QStringLiteral("QToolButton { border: 1px solid #5577aa; border-radius: 9px;"
                                              " padding: 1px 7px; color: #1d3f73; background: #e8f0fb; }"));
        const int number = citation.number;
        connect(chip, &QToolButton::clicked, this, [this, number] { activateCitation(number); });
        const int index = int(chips_.size());
        chipLayout_->addWidget(chip, index / kChipsPerRow, index % kChipsPerRow);
        chip->show();
        chips_.append(chip);
    }
    chipRow_->setVisible(!chips_.isEmpty());

    lookedAt_->clear();
    for (const LookedAtPassage& passage : model.lookedAt) {
        auto* item = new QListWidgetItem(QStringLiteral("%1% · %2%3 — %4")
                                             .arg(passage.weight * 100.0, 0, 'f', 1)
                                             .arg(describeLocation(passage.documentTitle, passage.location),
                                                  passage.cited ? QStringLiteral(" (cited)") : QString(),
                                                  passage.excerpt.simplified()));
        item->setToolTip(passage.excerpt);
        lookedAt_->addItem(item);
    }
    lookedAtToggle_->setText(QStringLiteral("Looked at %1 passage%2")
                                 .arg(model.lookedAt.size())
                                 .arg(model.lookedAt.size() == 1 ? QString() : QStringLiteral("s")));
    lookedAtToggle_->setAccessibleName(lookedAtToggle_->text());
    lookedAtToggle_->setVisible(!model.lookedAt.isEmpty());
    lookedAt_->setVisible(!model.lookedAt.isEmpty() && lookedAtToggle_->isChecked());
}

QToolButton* AnswerWidget::chip(int number) const {
    for (QToolButton* chip : chips_)
        if (chip->objectName() == QStringLiteral("citation%1").arg(number)) return chip;
    return nullptr;
}

void AnswerWidget::activateCitation(int number) {
    for (const CitationChip& citation : model_.citations)
        if (citation.number == number) return emit locationActivated(citation.location);
}

void AnswerWidget::fitHeight(QTextBrowser* browser) {
    const int height = int(std::ceil(browser->document()->size().height())) + 2 * browser->frameWidth() + 2;
    browser->setFixedHeight(std::max(height, browser->fontMetrics().height() + 4));
}

} // namespace lectern::ui
