#include "kernels/cpu/quant/thread_pool.h"

#include <algorithm>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace lectern::kernels::quant {
namespace {
// Between two ops of a decode step the caller runs short single-threaded steps (norms, RoPE, attention
// bookkeeping). A worker that went to sleep there makes the next op pay a futex wake: with a few
// microseconds of spinning, decode at 2 threads ran at 0.95 of llama.cpp's speed, 1.10 with the workers
// awake (tests/bench/gguf_bench.py on an idle machine). So a worker first spins on pause for a moment,
// then keeps yielding its core for a few milliseconds (which costs nothing when the machine is idle and
// hands the core to the caller or to another process when it is oversubscribed), and only then sleeps.
constexpr int kPauseSpins = 2000;
constexpr auto kYieldFor = std::chrono::milliseconds(3);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}
} // namespace

ThreadPool::ThreadPool(int threads) {
    for (int part = 1; part < std::max(threads, 1); ++part)
        workers_.emplace_back([this, part] { worker_loop(part); });
}

ThreadPool::~ThreadPool() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::run(const std::function<void(int, int)>& work) {
    if (workers_.empty()) return work(0, 1);
    {
        const std::lock_guard lock(mutex_);
        work_ = &work;
        pending_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(0, size());
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void ThreadPool::worker_loop(int part) {
    std::uint64_t seen = 0;
    while (true) {
        for (int spins = 0; spins < kPauseSpins && generation_.load(std::memory_order_acquire) == seen;
             ++spins)
            cpu_relax();
        const auto yield_until = std::chrono::steady_clock::now() + kYieldFor;
        while (generation_.load(std::memory_order_acquire) == seen &&
               std::chrono::steady_clock::now() < yield_until)
            std::this_thread::yield();
        if (generation_.load(std::memory_order_acquire) == seen) {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stopping_) return;
        (*work_)(part, size());
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

} // namespace lectern::kernels::quant
