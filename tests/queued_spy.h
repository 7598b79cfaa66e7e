#pragma once
// A QSignalSpy for signals emitted on another thread (the inference worker's). QSignalSpy records on
// the emitting thread, unguarded, while the test reads the list on its own; and its wait() counts only
// signals recorded after it was entered, so one that came first (a fast load) makes it time out.
// QueuedSpy records through an ordinary connection to itself, on the test's thread: a signal from
// another thread is queued, and recorded in order with the test's other queued deliveries, after the
// emitter's own receivers connected before it (InferenceWorker::model() is already updated). Wait for a
// count, which holds however early the signal came.

#include <QList>
#include <QObject>
#include <QTest>
#include <QVariant>

namespace lectern::test {

class QueuedSpy : public QObject, public QList<QList<QVariant>> {
public:
    template <typename Sender, typename Signal>
    QueuedSpy(const Sender* sender, Signal signal) {
        connect(sender, signal, this, [this](const auto&... arguments) {
            append(QList<QVariant>{QVariant::fromValue(arguments)...});
        });
    }

    // Spins the test's event loop until `count` signals are recorded (taken ones are not counted).
    [[nodiscard]] bool waitFor(qsizetype count, int timeout_ms) {
        return QTest::qWaitFor([&] { return size() >= count; }, timeout_ms);
    }
};

} // namespace lectern::test
