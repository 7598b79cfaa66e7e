#include "app/worker/inference_worker.h"

#include "app/answers/answer_stream.h"
#include "inference/tokenizer/streaming_decoder.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>

#include <algorithm>

namespace lectern::worker {
namespace {

// Progress signals at most this often: a prefill reports after every slice.
constexpr qint64 kProgressIntervalMs = 100;

QString stopReasonName(inference::StopReason reason) {
    switch (reason) {
    case inference::StopReason::MaxTokens:
        return QStringLiteral("max-tokens");
    case inference::StopReason::StopToken:
        return QStringLiteral("stop-token");
    case inference::StopReason::Caller:
        return QStringLiteral("caller");
    case inference::StopReason::Cancelled:
        return QStringLiteral("cancelled");
    case inference::StopReason::ContextFull:
        return QStringLiteral("context-full");
    }
    return {};
}

QStringList fallbackLines(const backend::Status& status) {
    QStringList lines;
    for (const std::string& reason : status.fallbacks) lines << QString::fromStdString(reason);
    return lines;
}

QString backendName(backend::Kind kind) {
    switch (kind) {
    case backend::Kind::Cpu:
        return QStringLiteral("CPU");
    case backend::Kind::Vulkan:
        return QStringLiteral("Vulkan");
    case backend::Kind::Cuda:
        return QStringLiteral("CUDA");
    }
    return {};
}

} // namespace

struct InferenceWorker::State {
    std::unique_ptr<inference::Engine> engine;
    // The last corpus prefix, when it is kept in memory rather than in a cache file.
    std::vector<model::Token> memory_prefix;
    std::vector<std::byte> memory_snapshot;
    QStringList fallbacks; // the engine's backend notes as last reported
};

InferenceWorker::InferenceWorker(QObject* parent)
    : QObject(parent), context_(new QObject), state_(new State) {
    static const bool registered = [] {
        qRegisterMetaType<ModelSummary>();
        qRegisterMetaType<AnswerOutcome>();
        qRegisterMetaType<answers::VerifiedCitation>();
        return true;
    }();
    (void)registered;
    // Connected before any client, so that clients see model() and isLoading() already updated.
    connect(this, &InferenceWorker::loaded, this, [this](const ModelSummary& model) {
        --loads_pending_;
        model_ = model;
    });
    const auto noModel = [this] {
        --loads_pending_;
        model_.reset();
    };
    connect(this, &InferenceWorker::loadFailed, this, noModel);
    connect(this, &InferenceWorker::loadCancelled, this, noModel);
    connect(this, &InferenceWorker::unloaded, this, [this] { model_.reset(); });
    connect(this, &InferenceWorker::fallbacksChanged, this, [this](const QStringList& fallbacks) {
        if (model_) model_->fallbacks = fallbacks;
    });
    context_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, context_, &QObject::deleteLater);
    thread_.setObjectName(QStringLiteral("inference"));
    thread_.start();
}

InferenceWorker::~InferenceWorker() {
    cancel();
    thread_.quit();
    thread_.wait();
}

void InferenceWorker::post(std::function<void()> job) {
    QMetaObject::invokeMethod(context_, std::move(job), Qt::QueuedConnection);
}

RequestId InferenceWorker::load(const QString& model_path, backend::Request backend) {
    const std::uint64_t sequence = ++submitted_;
    ++loads_pending_;
    model_.reset();
    post([this, model_path, backend = std::move(backend), sequence] {
        running_ = sequence;
        runLoad(model_path, backend, sequence);
    });
    return sequence;
}

void InferenceWorker::unload() {
    post([this] {
        {
            const std::lock_guard lock(engine_mutex_);
            engine_ = nullptr;
        }
        state_->engine.reset();
        state_->memory_prefix.clear();
        state_->memory_snapshot.clear();
        emit unloaded();
    });
}

RequestId InferenceWorker::ask(AskRequest request) {
    const std::uint64_t sequence = ++submitted_;
    post([this, request = std::move(request), sequence] {
        running_ = sequence;
        runAsk(request, sequence);
    });
    return sequence;
}

void InferenceWorker::cancel() {
    cancelled_through_ = submitted_.load();
    const std::lock_guard lock(engine_mutex_);
    if (engine_ && busy_) engine_->cancel();
}

void InferenceWorker::cancel(RequestId request) {
    {
        const std::lock_guard lock(cancelled_mutex_);
        cancelled_requests_.insert(request);
    }
    const std::lock_guard lock(engine_mutex_);
    if (engine_ && busy_ && running_ == request) engine_->cancel();
}

bool InferenceWorker::cancelled(std::uint64_t sequence) const {
    if (sequence <= cancelled_through_.load()) return true;
    const std::lock_guard lock(cancelled_mutex_);
    return cancelled_requests_.count(sequence) != 0;
}

qint64 InferenceWorker::estimateMemory(const QString& model_path) {
    const QFileInfo info(model_path);
    if (info.isFile()) return info.size();
    if (!info.isDir()) return 0;
    qint64 bytes = 0;
    for (const QFileInfo& file :
         QDir(model_path).entryInfoList({QStringLiteral("*.safetensors")}, QDir::Files))
        bytes += file.size();
    return bytes;
}

void InferenceWorker::runLoad(const QString& model_path, const backend::Request& backend,
                              std::uint64_t sequence) {
    {
        const std::lock_guard lock(engine_mutex_);
        engine_ = nullptr;
    }
    state_->engine.reset();
    state_->memory_prefix.clear();
    state_->memory_snapshot.clear();
    if (cancelled(sequence)) {
        emit loadCancelled();
        return;
    }
    emit memoryEstimated(estimateMemory(model_path));
    QElapsedTimer since_report;
    bool reported = false;
    auto engine = inference::Engine::load(
        model_path.toStdString(),
        [&](double fraction, std::string_view what) {
            if (!reported || since_report.elapsed() >= kProgressIntervalMs || fraction >= 1.0) {
                reported = true;
                since_report.start();
                emit loadProgress(fraction, QString::fromUtf8(what.data(), qsizetype(what.size())));
            }
            return !cancelled(sequence);
        },
        backend);
    if (cancelled(sequence)) { // whatever the loader made of it, nothing half-loaded is kept
        emit loadCancelled();
        return;
    }
    if (!engine) {
        emit loadFailed(QString::fromStdString(engine.error()));
        return;
    }
    state_->engine = std::move(*engine);
    {
        const std::lock_guard lock(engine_mutex_);
        engine_ = state_->engine.get();
    }
    const model::ModelInfo& info = state_->engine->info();
    const backend::Status placed = state_->engine->backend();
    ModelSummary summary;
    summary.path = model_path;
    summary.name = QString::fromStdString(info.name);
    summary.family = QString::fromStdString(info.family);
    summary.context_tokens = qint64(info.context_length);
    summary.state_bytes = qint64(state_->engine->stats().state_bytes);
    summary.backend = backendName(placed.kind);
    summary.device = QString::fromStdString(placed.device);
    summary.fallbacks = fallbackLines(placed);
    state_->fallbacks = summary.fallbacks;
    summary.layers = qint64(placed.layers);
    summary.device_layers = qint64(placed.device_layers);
    summary.experts_on_host =
        placed.kind != backend::Kind::Cpu && placed.experts == backend::ExpertPlacement::Host;
    summary.tokenizer = state_->engine->tokenizer();
    emit loaded(summary);
}

void InferenceWorker::runAsk(const AskRequest& request, std::uint64_t sequence) {
    AnswerOutcome outcome;
    outcome.prompt_tokens = qint64(request.tokens.size());
    inference::Engine* engine = state_->engine.get();
    if (!engine) {
        outcome.error = QStringLiteral("No model is loaded: load one before asking.");
        emit answered(outcome, sequence);
        return;
    }
    const tokenizer::BpeTokenizer* model_tokenizer =
        request.tokenizer ? request.tokenizer.get() : engine->tokenizer();
    if (request.prefix_tokens > request.tokens.size() || request.tokens.empty() || !model_tokenizer) {
        outcome.error = QStringLiteral("The prompt is empty or malformed; nothing was asked.");
        emit answered(outcome, sequence);
        return;
    }
    busy_ = true;
    const inference::EngineStats before = engine->stats();
    const auto finish = [&](bool was_cancelled) {
        const inference::EngineStats after = engine->stats();
        outcome.cancelled = was_cancelled;
        outcome.prefilled_tokens = after.prefill_tokens - before.prefill_tokens;
        outcome.prefill_seconds = after.prefill_seconds - before.prefill_seconds;
        outcome.decode_seconds = after.decode_seconds - before.decode_seconds;
        outcome.state_bytes = qint64(after.state_bytes);
        if (was_cancelled) {
            outcome.stop_reason = QStringLiteral("cancelled");
            engine->reset(); // a half-prefilled sequence must not leak into the next question
        }
        busy_ = false;
        emit stateBytes(outcome.state_bytes, sequence);
        // A sequence that outgrew the GPU continued on the CPU: the status bar should say so.
        if (const QStringList fallbacks = fallbackLines(engine->backend()); fallbacks != state_->fallbacks) {
            state_->fallbacks = fallbacks;
            emit fallbacksChanged(fallbacks);
        }
        emit answered(outcome, sequence);
    };
    const std::span<const model::Token> tokens(request.tokens);
    const std::span<const model::Token> prefix = tokens.first(request.prefix_tokens);

    // A cancel from cancel() that raced with the end of an engine call leaves the engine's flag set for
    // the next call, which then returns at once; such a call is simply repeated.
    const auto prefill = [&](std::span<const model::Token> part, qint64 base, qint64 total) -> Result<bool> {
        QElapsedTimer clock, since_report;
        clock.start();
        since_report.start();
        std::int64_t consumed = 0;
        while (consumed < std::int64_t(part.size())) {
            auto result = engine->prefill(part.subspan(std::size_t(consumed)), [&](std::int64_t done,
                                                                                   std::int64_t) {
                if (since_report.elapsed() < kProgressIntervalMs) return;
                since_report.restart();
                const double seconds = std::max(1e-3, double(clock.elapsed()) / 1000.0);
                const double rate = double(consumed + done) / seconds;
                const qint64 at = base + consumed + done;
                emit prefillProgress(at, total, rate, rate > 0 ? double(total - at) / rate : 0.0, sequence);
            });
            if (!result) return Error{result.error()};
            consumed += result->consumed;
            if (result->cancelled && cancelled(sequence)) return false;
        }
        const double seconds = std::max(1e-3, double(clock.elapsed()) / 1000.0);
        emit prefillProgress(base + consumed, total, double(consumed) / seconds, 0.0, sequence);
        return true;
    };

    if (cancelled(sequence)) return finish(true);
    // The corpus prefix: from the cache file, from memory, or prefilled (and then kept).
    bool restored = false;
    if (!request.snapshot_path.isEmpty() && QFileInfo::exists(request.snapshot_path)) {
        const Result<void> loaded = engine->load_snapshot(request.snapshot_path.toStdString());
        QString reason;
        if (!loaded)
            reason = QString::fromStdString(loaded.error());
        else if (engine->stats().position != std::int64_t(prefix.size()))
            reason = QStringLiteral("it holds %1 tokens, the corpus has %2")
                         .arg(engine->stats().position)
                         .arg(prefix.size());
        restored = reason.isEmpty();
        if (!restored) {
            QFile::remove(request.snapshot_path);
            emit cacheDiscarded(request.snapshot_path, reason, sequence);
        }
    } else if (request.snapshot_path.isEmpty() && !state_->memory_snapshot.empty() &&
               std::equal(prefix.begin(), prefix.end(), state_->memory_prefix.begin(),
                          state_->memory_prefix.end())) {
        restored = engine->restore(state_->memory_snapshot).ok();
    }
    const qint64 to_prefill = qint64(tokens.size()) - (restored ? qint64(prefix.size()) : 0);
    if (restored) {
        outcome.cached_tokens = qint64(prefix.size());
    } else {
        engine->reset();
        state_->memory_snapshot.clear();
        auto done = prefill(prefix, 0, to_prefill);
        if (!done) {
            outcome.error = QString::fromStdString(done.error());
            return finish(false);
        }
        if (!*done) return finish(true);
        if (request.snapshot_path.isEmpty()) {
            state_->memory_snapshot = engine->snapshot();
            state_->memory_prefix.assign(prefix.begin(), prefix.end());
        } else if (const Result<void> saved = engine->save_snapshot(request.snapshot_path.toStdString());
                   saved) {
            emit cacheSaved(request.snapshot_path, QFileInfo(request.snapshot_path).size(),
                            qint64(prefix.size()), sequence);
        } else {
            emit cacheDiscarded(
                request.snapshot_path,
                QStringLiteral("it could not be written: %1").arg(QString::fromStdString(saved.error())),
                sequence);
        }
    }
    emit stateBytes(qint64(engine->stats().state_bytes), sequence);
    auto question = prefill(tokens.subspan(prefix.size()), to_prefill - qint64(tokens.size() - prefix.size()),
                            to_prefill);
    if (!question) {
        outcome.error = QString::fromStdString(question.error());
        return finish(false);
    }
    if (!*question) return finish(true);

    // The answer, streamed.
    tokenizer::StreamingDecoder decoder(*model_tokenizer);
    answers::AnswerStream stream(request.thinking);
    std::unique_ptr<answers::CitationVerifier> verifier;
    if (request.corpus) verifier = std::make_unique<answers::CitationVerifier>(*request.corpus);
    const std::vector<model::Token>& stops = engine->info().stop_tokens;
    const auto deliver = [&](const std::vector<answers::AnswerPiece>& pieces) {
        for (const answers::AnswerPiece& piece : pieces) {
            switch (piece.kind) {
            case answers::AnswerPiece::Kind::Thinking:
                emit thinkingText(piece.text, sequence);
                break;
            case answers::AnswerPiece::Kind::Text:
                emit answerText(piece.text, sequence);
                break;
            case answers::AnswerPiece::Kind::Citation: {
                answers::VerifiedCitation verified;
                if (verifier) {
                    verified = verifier->verify(piece.citation);
                } else {
                    verified.citation = piece.citation;
                    verified.verification = answers::Verification::UnknownPassage;
                }
                outcome.citations.append(verified);
                emit citation(verified, sequence);
                break;
            }
            }
        }
    };
    QString decode_error;
    QElapsedTimer decode_clock, since_report;
    decode_clock.start();
    since_report.start();
    const auto on_token = [&](model::Token token) {
        if (cancelled(sequence)) return false;
        if (std::find(stops.begin(), stops.end(), token) != stops.end()) return true;
        ++outcome.answer_tokens;
        if (since_report.elapsed() >= kProgressIntervalMs) {
            since_report.restart();
            emit decodeProgress(outcome.answer_tokens,
                                double(outcome.answer_tokens) * 1000.0 /
                                    double(std::max<qint64>(1, decode_clock.elapsed())),
                                sequence);
        }
        auto text = decoder.push(token);
        if (!text) {
            decode_error = QString::fromStdString(text.error());
            return false;
        }
        deliver(stream.feed(*text));
        return true;
    };
    engine->set_record_attention_evidence(!request.passages.empty() && request.corpus);
    auto generated = engine->generate(request.generate, on_token);
    if (generated && generated->reason == inference::StopReason::Cancelled && generated->tokens.empty() &&
        !cancelled(sequence))
        generated = engine->generate(request.generate, on_token); // a stale cancel flag, see prefill
    deliver(stream.feed(decoder.finish()));
    deliver(stream.finish());
    outcome.answer = stream.answerText();
    outcome.thinking = stream.thinkingText();
    if (!generated) {
        outcome.error = QString::fromStdString(generated.error());
        return finish(false);
    }
    if (const inference::AttentionEvidence evidence = engine->attention_evidence();
        evidence.available && !request.passages.empty() && request.corpus) {
        std::vector<int> cited;
        for (const answers::VerifiedCitation& c : outcome.citations) cited.push_back(c.citation.marker);
        outcome.looked_at = answers::lookedAtPassages(evidence, request.passages, *request.corpus, cited);
        emit lookedAt(outcome.looked_at, sequence);
    }
    if (!decode_error.isEmpty()) outcome.error = decode_error;
    outcome.stop_reason = stopReasonName(generated->reason);
    finish(cancelled(sequence));
}

} // namespace lectern::worker
