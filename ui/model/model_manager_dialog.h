#pragma once
// Model ▸ Choose Model…: a checkpoint folder (HF safetensors) or a .gguf file, checked before loading
// against this computer's free memory: weights size (the files' sizes summed), the KV cache at this
// corpus size (model::estimate_memory, from the model's metadata), free host memory (/proc/meminfo
// MemAvailable), and a plain "does not fit": weights and cache against host memory, or against the Vulkan
// device's when all layers go there.
// The backend (Automatic, CUDA, Vulkan, CPU) and GPU layers are chosen here (backend_choice.h); the
// Vulkan device's memory is its device-local heap's size.

#include "kernels/result.h"
#include "ui/model/backend_choice.h"

#include <QDialog>

#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QCheckBox;
class QSpinBox;

namespace lectern::ui {

// Bytes of weights a model path holds: a file's size, or the sum of a folder's *.safetensors files.
Result<qint64> modelWeightsBytes(const QString& path);
// MemAvailable from /proc/meminfo; nullopt where the system does not say.
std::optional<qint64> availableHostMemory();

class ModelManagerDialog : public QDialog {
    Q_OBJECT
public:
    explicit ModelManagerDialog(QWidget* parent = nullptr);
    ~ModelManagerDialog() override;

    void setModelPath(const QString& path);
    QString modelPath() const;
    bool fits() const { return fits_; }
    // What the dialog says, for a reader and for tests.
    QString weightsText() const;
    QString kvCacheText() const;
    QString memoryText() const;
    QString verdictText() const;
    QString backendText() const;
    QString gpuMemoryText() const;

    void setBackendChoice(const BackendChoice& choice);
    BackendChoice backendChoice() const;
    // Tokens in the session's corpus, shown with the KV cache's estimate; 0: none.
    void setCorpusTokens(qint64 tokens);
    QPushButton* loadButton() const { return load_; }

private:
    void check();

    QLineEdit* path_ = nullptr;
    QLabel* weights_ = nullptr;
    QLabel* kvCache_ = nullptr;
    QLabel* memory_ = nullptr;
    QLabel* verdict_ = nullptr;
    QLabel* gpuMemory_ = nullptr;
    QComboBox* backend_ = nullptr;
    QSpinBox* gpuLayers_ = nullptr;
    QCheckBox* expertsOnHost_ = nullptr;
    QLabel* backendNote_ = nullptr;
    QPushButton* load_ = nullptr;
    bool fits_ = false;
    qint64 corpusTokens_ = 0;
    // The Vulkan device is probed once per dialog: creating a context takes a moment.
    bool vulkanProbed_ = false;
    QString vulkanMemory_;
    qint64 vulkanFree_ = -1; // the device memory free for a model, bytes; negative: no device
};

} // namespace lectern::ui
