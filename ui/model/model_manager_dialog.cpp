#include "ui/model/model_manager_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace lectern::ui {
namespace {

QString bytesText(qint64 bytes) {
    return QLocale::system().formattedDataSize(bytes, 1, QLocale::DataSizeSIFormat);
}

} // namespace

Result<qint64> modelWeightsBytes(const QString& path) {
    const QFileInfo info(path);
    if (!info.exists())
        return Error{QStringLiteral("There is no file or folder at %1. Choose a .gguf file or a folder of "
                                    ".safetensors files.")
                         .arg(path)
                         .toStdString()};
    if (info.isFile()) return info.size();
    qint64 total = 0;
    const QFileInfoList files =
        QDir(path).entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files | QDir::Readable);
    for (const QFileInfo& file : files) total += file.size();
    if (files.isEmpty())
        return Error{QStringLiteral("The folder %1 holds no .safetensors files. Choose the folder of a "
                                    "Hugging Face checkpoint or a .gguf file.")
                         .arg(path)
                         .toStdString()};
    return total;
}

std::optional<qint64> availableHostMemory() {
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    if (!meminfo.open(QIODevice::ReadOnly)) return std::nullopt;
    static const QRegularExpression available(QStringLiteral("^MemAvailable:\\s+(\\d+) kB"),
                                              QRegularExpression::MultilineOption);
    const QRegularExpressionMatch match = available.match(QString::fromLatin1(meminfo.readAll()));
    if (!match.hasMatch()) return std::nullopt;
    return match.captured(1).toLongLong() * 1024;
}

ModelManagerDialog::ModelManagerDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(QStringLiteral("Choose a model"));
    setObjectName(QStringLiteral("modelManagerDialog"));
    path_ = new QLineEdit(this);
    path_->setAccessibleName(QStringLiteral("Model path"));
    path_->setPlaceholderText(QStringLiteral("A .gguf file or a folder of .safetensors files"));
    connect(path_, &QLineEdit::editingFinished, this, &ModelManagerDialog::check);
    auto* chooseFile = new QPushButton(QStringLiteral("&File…"), this);
    chooseFile->setAccessibleName(QStringLiteral("Choose a .gguf file"));
    connect(chooseFile, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, QStringLiteral("Choose a .gguf model"), {},
                                                          QStringLiteral("GGUF models (*.gguf)"));
        if (!path.isEmpty()) setModelPath(path);
    });
    auto* chooseFolder = new QPushButton(QStringLiteral("F&older…"), this);
    chooseFolder->setAccessibleName(QStringLiteral("Choose a checkpoint folder"));
    connect(chooseFolder, &QPushButton::clicked, this, [this] {
        const QString path =
            QFileDialog::getExistingDirectory(this, QStringLiteral("Choose a checkpoint folder"));
        if (!path.isEmpty()) setModelPath(path);
    });
    auto* pathRow = new QHBoxLayout;
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(chooseFile);
    pathRow->addWidget(chooseFolder);

    auto label = [this](const QString& name) {
        auto* shown = new QLabel(this);
        shown->setWordWrap(true);
        shown->setAccessibleName(name);
        shown->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return shown;
    };
    weights_ = label(QStringLiteral("Weights size"));
    kvCache_ = label(QStringLiteral("KV cache"));
    memory_ = label(QStringLiteral("Free memory"));
    verdict_ = label(QStringLiteral("Whether the model fits"));
    backend_ = new QComboBox(this);
    backend_->setAccessibleName(QStringLiteral("Backend"));
    backend_->addItem(QStringLiteral("CPU"));
    backendNote_ = label(QStringLiteral("Backend note"));
    backendNote_->setText(QStringLiteral("GPU backends (CUDA, Vulkan) are not wired into the engine yet: "
                                         "models run on the CPU."));

    auto* form = new QFormLayout;
    form->addRow(QStringLiteral("&Model:"), pathRow);
    form->addRow(QStringLiteral("Weights:"), weights_);
    form->addRow(QStringLiteral("KV cache:"), kvCache_);
    form->addRow(QStringLiteral("Free memory:"), memory_);
    form->addRow(QStringLiteral("&Backend:"), backend_);
    form->addRow(QString(), backendNote_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    load_ = buttons->addButton(QStringLiteral("&Load"), QDialogButtonBox::AcceptRole);
    load_->setAccessibleName(QStringLiteral("Load the model"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(verdict_);
    layout->addWidget(buttons);
    check();
}

void ModelManagerDialog::setModelPath(const QString& path) {
    path_->setText(path);
    check();
}

QString ModelManagerDialog::modelPath() const {
    return path_->text().trimmed();
}
QString ModelManagerDialog::weightsText() const {
    return weights_->text();
}
QString ModelManagerDialog::kvCacheText() const {
    return kvCache_->text();
}
QString ModelManagerDialog::memoryText() const {
    return memory_->text();
}
QString ModelManagerDialog::verdictText() const {
    return verdict_->text();
}
QString ModelManagerDialog::backendText() const {
    return backend_->currentText() + QStringLiteral(". ") + backendNote_->text();
}

void ModelManagerDialog::check() {
    fits_ = false;
    load_->setEnabled(false);
    // The engine exposes no per-token cache size before a model is loaded.
    kvCache_->setText(QStringLiteral("unknown before loading: the model information does not give the "
                                     "cache size per token yet"));
    const std::optional<qint64> available = availableHostMemory();
    memory_->setText(available ? QStringLiteral("%1 of host memory available").arg(bytesText(*available))
                               : QStringLiteral("unknown (/proc/meminfo gives no MemAvailable)"));
    if (modelPath().isEmpty()) {
        weights_->setText(QStringLiteral("no model chosen"));
        verdict_->setText(QStringLiteral("Choose a .gguf file or a checkpoint folder."));
        return;
    }
    const Result<qint64> weights = modelWeightsBytes(modelPath());
    if (!weights) {
        weights_->setText(QStringLiteral("unknown"));
        verdict_->setText(QString::fromStdString(weights.error()));
        return;
    }
    weights_->setText(bytesText(*weights));
    if (!available) {
        verdict_->setText(QStringLiteral("Cannot tell whether it fits: free memory is unknown."));
        load_->setEnabled(true);
        return;
    }
    fits_ = *weights <= *available;
    verdict_->setText(fits_ ? QStringLiteral("The weights fit in the available host memory (%1 of %2).")
                                  .arg(bytesText(*weights), bytesText(*available))
                            : QStringLiteral("Does not fit: the weights need %1 but only %2 of host memory "
                                             "is available. Close other programs or choose a smaller model.")
                                  .arg(bytesText(*weights), bytesText(*available)));
    load_->setEnabled(fits_);
}

} // namespace lectern::ui
