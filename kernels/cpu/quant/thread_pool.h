#pragma once
// A small fixed pool for splitting one op over cores. The caller's thread takes the first share, so a
// pool of 1 runs inline; workers spin briefly before sleeping, since ops arrive back to back while a
// model runs and waking a sleeping thread costs more than most single-token ops.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lectern::kernels::quant {

class ThreadPool {
public:
    explicit ThreadPool(int threads); // threads in all, the caller's included; at least 1
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return static_cast<int>(workers_.size()) + 1; }

    // Calls work(part, parts) once for each part in [0, size()) and returns when all have returned.
    // Not reentrant: one run at a time per pool.
    void run(const std::function<void(int part, int parts)>& work);

private:
    void worker_loop(int part);

    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* work_ = nullptr;
    std::atomic<std::uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wake_;
};

} // namespace lectern::kernels::quant
