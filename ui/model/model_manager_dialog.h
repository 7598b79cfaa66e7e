#pragma once
// Model ▸ Choose Model…: a checkpoint folder (HF safetensors) or a .gguf file, checked before loading
// against this computer's free memory: weights size (the files' sizes summed), the KV cache at this
// corpus size when known, free host memory (/proc/meminfo MemAvailable), and a plain "does not fit".
// Only the CPU backend exists in the engine so far, and the dialog says so.

#include "kernels/result.h"

#include <QDialog>

#include <optional>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace lectern::ui {

// Bytes of weights a model path holds: a file's size, or the sum of a folder's *.safetensors files.
Result<qint64> modelWeightsBytes(const QString& path);
// MemAvailable from /proc/meminfo; nullopt where the system does not say.
std::optional<qint64> availableHostMemory();

class ModelManagerDialog : public QDialog {
    Q_OBJECT
public:
    explicit ModelManagerDialog(QWidget* parent = nullptr);

    void setModelPath(const QString& path);
    QString modelPath() const;
    bool fits() const { return fits_; }
    // What the dialog says, for a reader and for tests.
    QString weightsText() const;
    QString kvCacheText() const;
    QString memoryText() const;
    QString verdictText() const;
    QString backendText() const;
    QPushButton* loadButton() const { return load_; }

private:
    void check();

    QLineEdit* path_ = nullptr;
    QLabel* weights_ = nullptr;
    QLabel* kvCache_ = nullptr;
    QLabel* memory_ = nullptr;
    QLabel* verdict_ = nullptr;
    QComboBox* backend_ = nullptr;
    QLabel* backendNote_ = nullptr;
    QPushButton* load_ = nullptr;
    bool fits_ = false;
};

} // namespace lectern::ui
