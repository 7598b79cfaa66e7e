#include "ui/model/model_manager_dialog.h"

#include "inference/model/memory_estimate.h"
#include "kernels/vulkan/context.h"

#include <QCheckBox>
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
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace lectern::ui {
namespace {

QString bytesText(qint64 bytes) {
    return QLocale::system().formattedDataSize(bytes, 1, QLocale::DataSizeSIFormat);
}

QString probeVulkanMemory(qint64* deviceFreeBytes) {
    *deviceFreeBytes = -1;
    auto context = kernels::vulkan::Context::create();
    if (!context) return QStringLiteral("Vulkan: %1").arg(QString::fromStdString(context.error()));
    const kernels::vulkan::DeviceInfo& device = (*context)->device();
    *deviceFreeBytes = qint64((*context)->free_device_memory());
    const QString name = QStringLiteral("Vulkan: %1 (%2), ")
                             .arg(QString::fromStdString(device.name), QString::fromStdString(device.type));
    if ((*context)->reports_memory_budget())
        return name + QStringLiteral("%1 free").arg(bytesText(*deviceFreeBytes));
    return name + QStringLiteral("%1 device-local heap (the driver reports no memory budget, so memory other "
                                 "programs use is not counted)")
                      .arg(bytesText(*deviceFreeBytes));
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
    gpuMemory_ = label(QStringLiteral("Free GPU memory"));
    backend_ = new QComboBox(this);
    backend_->setAccessibleName(QStringLiteral("Backend"));
    for (backend::Choice choice :
         {backend::Choice::Auto, backend::Choice::Cuda, backend::Choice::Vulkan, backend::Choice::Cpu})
        backend_->addItem(choiceLabel(choice), int(choice));
    backend_->setToolTip(QStringLiteral("Automatic tries CUDA, then Vulkan, then the CPU. A backend that "
                                        "cannot run the model falls back towards the CPU, and the status "
                                        "bar says why."));
    connect(backend_, &QComboBox::currentIndexChanged, this, &ModelManagerDialog::check);
    gpuLayers_ = new QSpinBox(this);
    gpuLayers_->setAccessibleName(QStringLiteral("GPU layers"));
    gpuLayers_->setRange(-1, 999);
    gpuLayers_->setSpecialValueText(QStringLiteral("All that fit"));
    gpuLayers_->setValue(-1);
    gpuLayers_->setToolTip(QStringLiteral("How many layers run on the GPU (the last ones, with the output "
                                          "head); the rest run on the CPU. All that fit: as many as the "
                                          "GPU's free memory holds with their KV cache for the model's "
                                          "whole context"));
    expertsOnHost_ = new QCheckBox(QStringLiteral("Keep MoE &experts in host memory"), this);
    expertsOnHost_->setAccessibleName(QStringLiteral("Keep MoE experts in host memory"));
    expertsOnHost_->setToolTip(
        QStringLiteral("DeepSeek-V4: the routed experts stay in the model file and run on "
                       "the CPU while attention and the rest run on the GPU, so a model "
                       "larger than the GPU's memory still uses it"));
    backendNote_ = label(QStringLiteral("Backend note"));

    auto* form = new QFormLayout;
    form->addRow(QStringLiteral("&Model:"), pathRow);
    form->addRow(QStringLiteral("Weights:"), weights_);
    form->addRow(QStringLiteral("KV cache:"), kvCache_);
    form->addRow(QStringLiteral("Free memory:"), memory_);
    form->addRow(QStringLiteral("GPU memory:"), gpuMemory_);
    form->addRow(QStringLiteral("&Backend:"), backend_);
    form->addRow(QStringLiteral("&GPU layers:"), gpuLayers_);
    form->addRow(QString(), expertsOnHost_);
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

ModelManagerDialog::~ModelManagerDialog() {
    // Closing takes the focus from the path field, and its editingFinished would reach check() while
    // ~QWidget runs, after this dialog's own members are gone.
    disconnect(path_, &QLineEdit::editingFinished, this, &ModelManagerDialog::check);
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
QString ModelManagerDialog::gpuMemoryText() const {
    return gpuMemory_->text();
}

void ModelManagerDialog::setBackendChoice(const BackendChoice& choice) {
    backend_->setCurrentIndex(std::max(0, backend_->findData(int(choice.choice))));
    gpuLayers_->setValue(std::max(-1, choice.gpuLayers));
    expertsOnHost_->setChecked(choice.expertsOnHost);
    check();
}

BackendChoice ModelManagerDialog::backendChoice() const {
    return BackendChoice{backend::Choice(backend_->currentData().toInt()), gpuLayers_->value(),
                         expertsOnHost_->isChecked()};
}

void ModelManagerDialog::setCorpusTokens(qint64 tokens) {
    corpusTokens_ = tokens;
    check();
}

void ModelManagerDialog::check() {
    fits_ = false;
    load_->setEnabled(false);
    const backend::Choice choice = backendChoice().choice;
    const bool checkpointFolder = QFileInfo(modelPath()).isDir();
    gpuLayers_->setEnabled(choice != backend::Choice::Cpu);
    expertsOnHost_->setEnabled(choice != backend::Choice::Cpu);
    if (choice == backend::Choice::Cpu) {
        backendNote_->setText(QStringLiteral("The model runs on the CPU."));
        gpuMemory_->setText(QStringLiteral("not used"));
    } else {
        backendNote_->setText(
            checkpointFolder
                ? QStringLiteral("A checkpoint folder is DeepSeek-V4, which runs on Vulkan or the CPU (CUDA "
                                 "does not run it yet): if the GPU cannot run it, it falls back to the CPU "
                                 "and the status bar says why.")
                : QStringLiteral("If %1 cannot run the model, it falls back towards the CPU (CUDA, then "
                                 "Vulkan, then the CPU) and the status bar says why.")
                      .arg(choice == backend::Choice::Auto ? QStringLiteral("no GPU") : choiceLabel(choice)));
        if (!vulkanProbed_) {
            vulkanMemory_ = probeVulkanMemory(&vulkanFree_);
            vulkanProbed_ = true;
        }
        gpuMemory_->setText(vulkanMemory_ + QStringLiteral(". CUDA: free memory is not read before loading "
                                                           "(the engine probes CUDA when it loads)."));
    }
    const std::optional<qint64> available = availableHostMemory();
    memory_->setText(available ? QStringLiteral("%1 of host memory available").arg(bytesText(*available))
                               : QStringLiteral("unknown (/proc/meminfo gives no MemAvailable)"));
    if (modelPath().isEmpty()) {
        weights_->setText(QStringLiteral("no model chosen"));
        kvCache_->setText(QStringLiteral("no model chosen"));
        verdict_->setText(QStringLiteral("Choose a .gguf file or a checkpoint folder."));
        return;
    }
    const Result<qint64> weights = modelWeightsBytes(modelPath());
    if (!weights) {
        weights_->setText(QStringLiteral("unknown"));
        kvCache_->setText(QStringLiteral("unknown"));
        verdict_->setText(QString::fromStdString(weights.error()));
        return;
    }
    weights_->setText(bytesText(*weights));
    const QLocale locale = QLocale::system();
    const auto estimate = model::estimate_memory(modelPath().toStdString(), corpusTokens_);
    // Without an estimate (a file the estimate cannot read) the weights alone are checked; loading then
    // says what is wrong with the file.
    const qint64 cache = estimate ? qint64(estimate->kv_cache_bytes) : 0;
    if (estimate) {
        QString kv = QStringLiteral("KV cache at this corpus (%1 tokens): %2")
                         .arg(locale.toString(corpusTokens_), bytesText(cache));
        if (estimate->context_length > 0 && corpusTokens_ > estimate->context_length)
            kv += QStringLiteral("; the corpus is longer than the model's context of %1 tokens, so a "
                                 "question reads a part of it")
                      .arg(locale.toString(qint64(estimate->context_length)));
        kvCache_->setText(kv);
    } else {
        kvCache_->setText(QStringLiteral("unknown: %1").arg(QString::fromStdString(estimate.error())));
    }
    if (!available) {
        verdict_->setText(QStringLiteral("Cannot tell whether it fits: free memory is unknown."));
        load_->setEnabled(true);
        return;
    }
    // All layers on a Vulkan device put every weight and the whole cache in its memory; otherwise the
    // cache is counted in host memory with the weights.
    const bool allOnVulkan = choice == backend::Choice::Vulkan && gpuLayers_->value() < 0 && vulkanFree_ >= 0;
    const qint64 hostNeed = allOnVulkan ? *weights : *weights + cache;
    const QString hostParts =
        allOnVulkan || !estimate ? QStringLiteral("the weights") : QStringLiteral("the weights and KV cache");
    fits_ = hostNeed <= *available;
    QString verdict = fits_ ? QStringLiteral("It fits: %1 need %2 of the %3 of host memory available.")
                                  .arg(hostParts, bytesText(hostNeed), bytesText(*available))
                            : QStringLiteral("Does not fit: %1 need %2 but only %3 of host memory is "
                                             "available. Close other programs, choose a smaller model or "
                                             "a smaller corpus.")
                                  .arg(hostParts, bytesText(hostNeed), bytesText(*available));
    if (fits_ && !estimate) verdict += QStringLiteral(" The KV cache's size is unknown.");
    if (fits_ && allOnVulkan && *weights + cache > vulkanFree_)
        verdict += QStringLiteral(" Not all of it fits on the GPU: the weights and KV cache need %1 and the "
                                  "Vulkan device has %2, so the last layers that fit run there and the rest "
                                  "on the CPU.")
                       .arg(bytesText(*weights + cache), bytesText(vulkanFree_));
    verdict_->setText(verdict);
    load_->setEnabled(fits_);
}

} // namespace lectern::ui
