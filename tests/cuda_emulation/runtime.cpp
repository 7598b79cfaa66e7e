// The emulation's runtime (README.md). A launch runs its blocks one after another on the calling thread.
// A block's threads are fibers: each runs until it waits at a __syncthreads or a warp operation,
// or exits, in the order LECTERN_CUDA_EMU_ORDER names; then the scheduler lets on whatever may go on and
// runs the next round. One host thread throughout, so runs are reproducible, seeded orders included.
// Device memory lies between guard pages and is open to the host only while a launch or a copy runs.
#include "cuda_emulation.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#if !defined(__x86_64__)
#error "the CUDA emulation switches threads in x86-64 assembly"
#endif

// Saves the callee-saved registers on the current stack and the stack pointer in *save, then switches to
// the stack `load` and restores the registers saved there. About 10 ns a switch, against 320 ns for
// swapcontext, which saves the FPU environment and makes a sigprocmask system call each time: with two or
// more switches per emulated thread, swapcontext made the emulated tests 12 times slower (196 s of CPU
// against 16). The FPU control words are not switched: no kernel changes them, so every thread runs under
// the host's.
extern "C" void lectern_cuda_emulation_switch(void** save, void* load);
asm(R"(
    .text
    .p2align 4
    .globl lectern_cuda_emulation_switch
    .hidden lectern_cuda_emulation_switch
    .type lectern_cuda_emulation_switch, @function
lectern_cuda_emulation_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size lectern_cuda_emulation_switch, .-lectern_cuda_emulation_switch
)");

namespace lectern::cuda_emulation {

Position current;

namespace {

constexpr int kMaxThreads = 1024; // per block, on every GPU the kernels are built for
constexpr int kWarp = 32;
constexpr std::size_t kStackBytes = 256 * 1024; // reserved, not committed: only touched pages cost
constexpr std::size_t kSharedBytes = 48 * 1024; // what a launch gets without cudaFuncSetAttribute
constexpr std::size_t kSharedAlignment = 16;
constexpr unsigned char kPoison = 0xFF; // memory nothing wrote yet: NaN as a float, ~0u as an index

const std::size_t page_bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));

std::size_t round_up(std::size_t value, std::size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

struct Settings {
    bool random_order = false; // else forward: threads and blocks by their linear index
    std::uint64_t seed = 1;
};

Settings read_settings() {
    Settings settings;
    if (const char* order = std::getenv("LECTERN_CUDA_EMU_ORDER")) {
        const std::string_view name = order;
        if (name == "random") {
            settings.random_order = true;
        } else if (name != "forward") {
            std::fprintf(stderr, "cuda emulation: LECTERN_CUDA_EMU_ORDER=%s: expected forward or random\n",
                         order);
            std::exit(EXIT_FAILURE);
        }
    }
    if (const char* seed = std::getenv("LECTERN_CUDA_EMU_SEED")) {
        const std::string_view text = seed;
        if (std::from_chars(text.data(), text.data() + text.size(), settings.seed).ptr !=
            text.data() + text.size()) {
            std::fprintf(stderr, "cuda emulation: LECTERN_CUDA_EMU_SEED=%s: expected a whole number\n", seed);
            std::exit(EXIT_FAILURE);
        }
    }
    if (settings.random_order)
        std::fprintf(stderr, "cuda emulation: random thread and block order, seed %llu\n",
                     static_cast<unsigned long long>(settings.seed));
    return settings;
}

const Settings& settings() {
    static const Settings value = read_settings();
    return value;
}

// Device memory: guard page, data pages, guard page. The allocation ends (after rounding up to 16 bytes,
// the alignment the kernels' vector loads need) where the second guard page starts.
struct Allocation {
    char* mapping;
    std::size_t mapping_bytes;
    std::size_t bytes;

    char* data() const { return mapping + page_bytes; }
    std::size_t data_bytes() const { return mapping_bytes - 2 * page_bytes; }
    char* start() const { return data() + data_bytes() - round_up(bytes, 16); }
};

std::map<std::uintptr_t, Allocation> allocations; // by start
cudaError_t last_error = cudaSuccess;

void set_open(const Allocation& allocation, bool open) {
    mprotect(allocation.data(), allocation.data_bytes(), open ? PROT_READ | PROT_WRITE : PROT_NONE);
}

// The allocations a launch has touched so far, opened by the fault handler at their first access (a
// launch touches a few of the many allocations; opening them all cost two system calls per allocation per
// launch). Fixed storage: the handler must not allocate.
constexpr std::size_t kMaxOpened = 4096;
const Allocation* opened[kMaxOpened];
std::size_t opened_count = 0;

void close_opened() {
    for (std::size_t i = 0; i < opened_count; ++i) set_open(*opened[i], false);
    opened_count = 0;
}

const Allocation* find_allocation(const void* pointer, std::size_t bytes) {
    const auto address = reinterpret_cast<std::uintptr_t>(pointer);
    auto it = allocations.upper_bound(address);
    if (it == allocations.begin()) return nullptr;
    --it;
    const bool inside = address - it->first + bytes <= it->second.bytes;
    return inside ? &it->second : nullptr;
}

enum class State { Runnable, AtBarrier, AtWarpOp, Exited };

struct Thread {
    void* stack_pointer; // where lectern_cuda_emulation_switch left it
    uint3 index;
    int lane;
    State state;
    // Where it waits, and what it brings to a warp operation: `value` is replaced by the result.
    const char* file;
    int line;
    WarpOp op;
    unsigned mask;
    int operand;
    std::uint64_t value;
};

// The launch in progress.
const char* kernel_name = nullptr;
void (*kernel_body)(void*) = nullptr;
void* kernel_call = nullptr;
Thread* running = nullptr; // the thread the scheduler resumed, or null while host code runs
void* scheduler_stack_pointer = nullptr;
std::unique_ptr<Thread[]> threads; // kMaxThreads, from the first launch on
char* stacks = nullptr;            // kMaxThreads slots of a guard page and a stack
std::mt19937_64 random_engine;

alignas(kSharedAlignment) unsigned char shared_arena[kSharedBytes];
std::size_t shared_used = 0;
std::size_t dynamic_shared_bytes = 0;
// By variable id: 1 + the variable's offset in this block's shared memory, 0 before its first use.
std::vector<std::size_t> shared_offsets;

// "kernel K, block (x,y,z)[, thread (x,y,z)]" into `text`; snprintf only, for the fault handler too.
void describe(char (&text)[256], const Thread* thread) {
    const int length = std::snprintf(text, sizeof text, "kernel %s, block (%u,%u,%u)", kernel_name,
                                     current.block.x, current.block.y, current.block.z);
    if (thread && length > 0 && length < static_cast<int>(sizeof text))
        std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), ", thread (%u,%u,%u)",
                      thread->index.x, thread->index.y, thread->index.z);
}

std::string site(const Thread& thread) {
    return std::string(thread.file) + ":" + std::to_string(thread.line);
}

[[noreturn]] void fail(const std::string& what, const Thread* thread) {
    std::fflush(stdout);
    std::fprintf(stderr, "cuda emulation: %s\n", what.c_str());
    if (kernel_name) {
        char location[256];
        describe(location, thread);
        std::fprintf(stderr, "  in %s\n", location);
    }
    std::_Exit(EXIT_FAILURE);
}

// During a launch, a kernel's first access to a device allocation opens it, and the access is retried. Any
// other fault is named, the default action restored and the handler returns, so the access faults again
// and the process dies of the signal as it would have. Neither snprintf nor the allocation map is
// async-signal-safe, but the fault is synchronous and on the one thread that changes them.
void on_fault(int signal, siginfo_t* info, void*) {
    const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
    if (kernel_name && running && opened_count < kMaxOpened)
        for (const auto& [start, allocation] : allocations) {
            const auto data = reinterpret_cast<std::uintptr_t>(allocation.data());
            if (address >= data && address < data + allocation.data_bytes()) {
                set_open(allocation, true);
                opened[opened_count++] = &allocation;
                return;
            }
        }
    ::signal(signal, SIG_DFL);
    char text[1024];
    int length = std::snprintf(text, sizeof text, "cuda emulation: %s at address %#llx\n",
                               signal == SIGSEGV ? "segmentation fault" : "bus error",
                               static_cast<unsigned long long>(address));
    auto append = [&](auto... args) {
        if (length < static_cast<int>(sizeof text))
            length += std::snprintf(text + length, sizeof text - static_cast<std::size_t>(length), args...);
    };
    for (const auto& [start, allocation] : allocations) {
        const auto mapping = reinterpret_cast<std::uintptr_t>(allocation.mapping);
        if (address < mapping || address >= mapping + allocation.mapping_bytes) continue;
        const auto offset = static_cast<long long>(address - start);
        if (offset >= 0 && static_cast<std::size_t>(offset) < allocation.bytes)
            append("  byte %lld of a device allocation of %zu bytes, touched by host code\n", offset,
                   allocation.bytes);
        else
            append("  byte %lld of a device allocation of %zu bytes: out of bounds\n", offset,
                   allocation.bytes);
    }
    const auto stack_area = reinterpret_cast<std::uintptr_t>(stacks);
    if (stacks && address >= stack_area && address < stack_area + kMaxThreads * (kStackBytes + page_bytes))
        append("  the guard page of a thread's stack: more than %zu KiB of stack\n", kStackBytes / 1024);
    if (running) {
        char location[256];
        describe(location, running);
        append("  in %s\n", location);
    } else {
        append("  in host code%s\n", kernel_name ? " (the scheduler)" : "");
    }
    if (write(STDERR_FILENO, text, static_cast<std::size_t>(std::min<int>(length, sizeof text - 1))) < 0) {
        // Nothing left to tell it to.
    }
}

void install_fault_handler() {
    static bool installed = false;
    if (installed) return;
    installed = true;
    // Its own stack, so that it also runs when a thread's stack overflows into its guard page.
    static char alternate_stack[64 * 1024];
    stack_t stack{};
    stack.ss_sp = alternate_stack;
    stack.ss_size = sizeof alternate_stack;
    sigaltstack(&stack, nullptr);
    struct sigaction action {};
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &action, nullptr);
    sigaction(SIGBUS, &action, nullptr);
}

void prepare_threads() {
    if (threads) return;
    threads = std::make_unique<Thread[]>(kMaxThreads);
    const std::size_t slot = page_bytes + kStackBytes;
    void* area = mmap(nullptr, kMaxThreads * slot, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) fail("cannot reserve the threads' stacks", nullptr);
    stacks = static_cast<char*>(area);
    for (int i = 0; i < kMaxThreads; ++i) mprotect(stacks + i * slot, page_bytes, PROT_NONE);
    random_engine.seed(settings().seed);
}

[[noreturn]] void thread_main() {
    kernel_body(kernel_call);
    running->state = State::Exited;
    lectern_cuda_emulation_switch(&running->stack_pointer, scheduler_stack_pointer);
    __builtin_unreachable(); // an exited thread is never resumed
}

// A new thread's stack as lectern_cuda_emulation_switch leaves one: six registers, then the return address
// (thread_main), then a slot where thread_main's caller would have left its own, so that thread_main
// starts with the stack aligned as the ABI wants after a call.
void* initial_stack_pointer(char* top) {
    auto* slots = reinterpret_cast<std::uint64_t*>(top);
    slots[-1] = 0;
    slots[-2] = reinterpret_cast<std::uint64_t>(&thread_main);
    std::fill(slots - 8, slots - 2, std::uint64_t{0});
    return slots - 8;
}

void resume(Thread& thread) {
    running = &thread;
    current.thread = thread.index;
    lectern_cuda_emulation_switch(&scheduler_stack_pointer, thread.stack_pointer);
    running = nullptr;
}

// On a thread's stack: back to the scheduler until it lets the thread on.
void wait(Thread& thread, State state, const char* file, int line) {
    thread.state = state;
    thread.file = file;
    thread.line = line;
    lectern_cuda_emulation_switch(&thread.stack_pointer, scheduler_stack_pointer);
}

Thread& running_thread(const char* what) {
    if (!running) fail(std::string(what) + " outside a kernel", nullptr);
    return *running;
}

void start_block(uint3 block, int count) {
    current.block = block;
    const dim3 shape = current.block_dim;
    for (int i = 0; i < count; ++i) {
        Thread& thread = threads[i];
        const auto linear = static_cast<unsigned>(i);
        thread.index = {linear % shape.x, linear / shape.x % shape.y, linear / (shape.x * shape.y)};
        thread.lane = i % kWarp;
        thread.state = State::Runnable;
        thread.stack_pointer =
            initial_stack_pointer(stacks + static_cast<std::size_t>(i + 1) * (page_bytes + kStackBytes));
    }
    std::memset(shared_arena, kPoison, dynamic_shared_bytes);
    shared_used = round_up(dynamic_shared_bytes, kSharedAlignment);
    std::fill(shared_offsets.begin(), shared_offsets.end(), 0);
}

// What each thread waits at, counted: for the reports of a block that cannot go on.
std::string summary(int count) {
    std::map<std::string, int> waiting;
    for (int i = 0; i < count; ++i) {
        const Thread& thread = threads[i];
        if (thread.state == State::AtBarrier) ++waiting["__syncthreads at " + site(thread)];
        if (thread.state == State::AtWarpOp) ++waiting["a warp operation at " + site(thread)];
        if (thread.state == State::Exited) ++waiting["exited"];
    }
    std::string text;
    for (const auto& [what, threads_there] : waiting)
        text += "\n  " + std::to_string(threads_there) + ": " + what;
    return text;
}

bool same_site(const Thread& a, const Thread& b) {
    return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

// True when every lane that `thread`'s mask names waits at the same warp operation with the same mask.
bool lanes_ready(const Thread& thread, int first, int count) {
    for (int lane = 0; lane < kWarp; ++lane) {
        if (!(thread.mask >> lane & 1u)) continue;
        if (first + lane >= count)
            fail("warp operation at " + site(thread) + ": its mask names lane " + std::to_string(lane) +
                     ", which this block of " + std::to_string(count) + " threads lacks",
                 &thread);
        const Thread& other = threads[first + lane];
        if (other.state == State::Exited)
            fail("warp operation at " + site(thread) + ": its mask names lane " + std::to_string(lane) +
                     ", which has exited",
                 &thread);
        if (other.state != State::AtWarpOp) return false;
        if (other.op != thread.op || other.mask != thread.mask || !same_site(other, thread))
            fail("lanes of one mask at different warp operations: " + site(thread) + " and " + site(other),
                 &thread);
    }
    return true;
}

void finish_warp_operation(unsigned mask, int first) {
    std::uint64_t values[kWarp] = {};
    unsigned ballot = 0;
    for (int lane = 0; lane < kWarp; ++lane) {
        if (!(mask >> lane & 1u)) continue;
        values[lane] = threads[first + lane].value;
        if (values[lane] != 0) ballot |= 1u << lane;
    }
    for (int lane = 0; lane < kWarp; ++lane) {
        if (!(mask >> lane & 1u)) continue;
        Thread& thread = threads[first + lane];
        thread.state = State::Runnable;
        if (thread.op == WarpOp::Ballot) {
            thread.value = ballot;
            continue;
        }
        if (thread.operand < 0 || (thread.op == WarpOp::ShuffleXor && thread.operand >= kWarp))
            fail("shuffle at " + site(thread) + " by " + std::to_string(thread.operand) + " lanes", &thread);
        const int source = thread.op == WarpOp::ShuffleXor ? lane ^ thread.operand : lane + thread.operand;
        if (source >= kWarp) continue; // __shfl_down_sync past the last lane: the lane keeps its value
        if (!(mask >> source & 1u))
            fail("shuffle at " + site(thread) + " reads lane " + std::to_string(source) +
                     ", outside its mask",
                 &thread);
        thread.value = values[source];
    }
}

bool release_warp_operations(int count) {
    bool released = false;
    for (int first = 0; first < count; first += kWarp) {
        // Each waiting lane's mask is checked once, with the first lane of it that waits.
        unsigned unchecked = 0;
        for (int i = first; i < std::min(count, first + kWarp); ++i)
            if (threads[i].state == State::AtWarpOp) unchecked |= 1u << (i - first);
        while (unchecked) {
            const Thread& thread = threads[first + std::countr_zero(unchecked)];
            unchecked &= ~(thread.mask | 1u << thread.lane);
            if (!lanes_ready(thread, first, count)) continue;
            finish_warp_operation(thread.mask, first);
            released = true;
        }
    }
    return released;
}

// True when every thread that has not exited waits at the same __syncthreads. Threads that exited do not
// hold a barrier up, as on sm_70 and later.
bool release_barrier(int count) {
    const Thread* first_waiting = nullptr;
    for (int i = 0; i < count; ++i) {
        const Thread& thread = threads[i];
        if (thread.state == State::Exited) continue;
        if (thread.state != State::AtBarrier) return false;
        if (!first_waiting) first_waiting = &thread;
        if (!same_site(thread, *first_waiting))
            fail("threads of one block wait at different __syncthreads:" + summary(count), &thread);
    }
    for (int i = 0; i < count; ++i)
        if (threads[i].state == State::AtBarrier) threads[i].state = State::Runnable;
    return true;
}

void run_block(int count, std::vector<int>& order) {
    order.resize(static_cast<std::size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    int exited = 0;
    for (;;) {
        if (settings().random_order) std::shuffle(order.begin(), order.end(), random_engine);
        for (const int i : order) {
            Thread& thread = threads[i];
            if (thread.state != State::Runnable) continue;
            resume(thread);
            if (thread.state == State::Exited) ++exited;
        }
        if (exited == count) return;
        if (!release_warp_operations(count) && !release_barrier(count))
            fail("deadlock: the threads of a block wait for each other:" + summary(count), nullptr);
    }
}

bool valid(const dim3& grid, const dim3& block) {
    const unsigned long long threads_per_block = 1ull * block.x * block.y * block.z;
    return grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7FFFFFFFu && grid.y <= 65535 &&
           grid.z <= 65535 && threads_per_block >= 1 && threads_per_block <= kMaxThreads && block.z <= 64;
}

} // namespace

void launch(const char* kernel, const LaunchConfig& config, void (*body)(void*), void* call) {
    if (kernel_name) fail(std::string("launch of ") + kernel + " from a kernel", running);
    const dim3 grid = config.grid, block = config.block;
    if (!valid(grid, block) || config.dynamic_shared > kSharedBytes) {
        std::fprintf(stderr,
                     "cuda emulation: launch of %s with grid (%u,%u,%u), block (%u,%u,%u) and %zu bytes of "
                     "dynamic shared memory: invalid\n",
                     kernel, grid.x, grid.y, grid.z, block.x, block.y, block.z, config.dynamic_shared);
        last_error = valid(grid, block) ? cudaErrorInvalidValue : cudaErrorInvalidConfiguration;
        return;
    }
    install_fault_handler();
    prepare_threads();
    kernel_name = kernel;
    kernel_body = body;
    kernel_call = call;
    dynamic_shared_bytes = config.dynamic_shared;
    current.block_dim = block;
    current.grid_dim = grid;
    const auto count = static_cast<int>(block.x * block.y * block.z);
    const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
    std::vector<unsigned long long> block_order;
    if (settings().random_order) {
        block_order.resize(blocks);
        std::iota(block_order.begin(), block_order.end(), 0ull);
        std::shuffle(block_order.begin(), block_order.end(), random_engine);
    }
    std::vector<int> thread_order;
    for (unsigned long long i = 0; i < blocks; ++i) {
        unsigned long long b = i;
        if (settings().random_order) b = block_order[i];
        start_block({static_cast<unsigned>(b % grid.x), static_cast<unsigned>(b / grid.x % grid.y),
                     static_cast<unsigned>(b / (1ull * grid.x * grid.y))},
                    count);
        run_block(count, thread_order);
    }
    close_opened();
    kernel_name = nullptr;
}

void* shared_memory(int id, std::size_t bytes, std::size_t alignment) {
    Thread& thread = running_thread("__shared__ variable");
    if (alignment > kSharedAlignment) fail("__shared__ variable aligned to more than 16 bytes", &thread);
    const auto slot_index = static_cast<std::size_t>(id);
    if (slot_index >= shared_offsets.size()) shared_offsets.resize(slot_index + 1, 0);
    std::size_t& slot = shared_offsets[slot_index];
    if (slot == 0) {
        const std::size_t at = round_up(shared_used, alignment);
        if (at + bytes > kSharedBytes)
            fail("static and dynamic shared memory over the " + std::to_string(kSharedBytes) +
                     " bytes a launch gets without cudaFuncSetAttribute",
                 &thread);
        std::memset(shared_arena + at, kPoison, bytes);
        shared_used = at + bytes;
        slot = at + 1;
    }
    return shared_arena + slot - 1;
}

void* dynamic_shared_memory() {
    Thread& thread = running_thread("extern __shared__ array");
    if (dynamic_shared_bytes == 0)
        fail("extern __shared__ array in a launch without dynamic shared memory", &thread);
    return shared_arena;
}

void sync_threads(const char* file, int line) {
    wait(running_thread("__syncthreads"), State::AtBarrier, file, line);
}

std::uint64_t warp_operation(WarpOp op, unsigned mask, std::uint64_t value, int operand, const char* file,
                             int line) {
    Thread& thread = running_thread("warp operation");
    if (!(mask >> thread.lane & 1u))
        fail(std::string("warp operation at ") + file + ":" + std::to_string(line) +
                 " by a lane its mask leaves out",
             &thread);
    thread.op = op;
    thread.mask = mask;
    thread.operand = operand;
    thread.value = value;
    wait(thread, State::AtWarpOp, file, line);
    return thread.value;
}

} // namespace lectern::cuda_emulation

using namespace lectern::cuda_emulation;

cudaError_t cudaMalloc(void** pointer, std::size_t bytes) {
    install_fault_handler();
    const std::size_t data_bytes = round_up(round_up(std::max<std::size_t>(bytes, 1), 16), page_bytes);
    const std::size_t mapping_bytes = data_bytes + 2 * page_bytes;
    void* mapping = mmap(nullptr, mapping_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return last_error = cudaErrorMemoryAllocation;
    const Allocation allocation{static_cast<char*>(mapping), mapping_bytes, bytes};
    // cudaMalloc's memory holds whatever was there: here the poison, never a convenient zero.
    set_open(allocation, true);
    std::memset(allocation.data(), kPoison, allocation.data_bytes());
    set_open(allocation, false);
    allocations.emplace(reinterpret_cast<std::uintptr_t>(allocation.start()), allocation);
    *pointer = allocation.start();
    return cudaSuccess;
}

cudaError_t cudaFree(void* pointer) {
    if (!pointer) return cudaSuccess;
    const auto it = allocations.find(reinterpret_cast<std::uintptr_t>(pointer));
    if (it == allocations.end()) {
        std::fprintf(stderr, "cuda emulation: cudaFree of %p, which cudaMalloc did not return\n", pointer);
        return last_error = cudaErrorInvalidValue;
    }
    munmap(it->second.mapping, it->second.mapping_bytes);
    allocations.erase(it);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* destination, const void* source, std::size_t bytes, cudaMemcpyKind kind) {
    const bool to_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    const bool from_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    const Allocation* device_destination = find_allocation(destination, to_device ? bytes : 1);
    const Allocation* device_source = find_allocation(source, from_device ? bytes : 1);
    if ((!to_device && !from_device) || to_device != (device_destination != nullptr) ||
        from_device != (device_source != nullptr)) {
        std::fprintf(
            stderr,
            "cuda emulation: cudaMemcpy (kind %d) of %zu bytes from %p to %p: the pointers are not where "
            "the kind says (a device side inside one allocation, a host side outside all)\n",
            static_cast<int>(kind), bytes, source, destination);
        return last_error = cudaErrorInvalidValue;
    }
    for (const Allocation* allocation : {device_destination, device_source})
        if (allocation) set_open(*allocation, true);
    std::memmove(destination, source, bytes);
    for (const Allocation* allocation : {device_destination, device_source})
        if (allocation) set_open(*allocation, false);
    return cudaSuccess;
}

cudaError_t cudaGetLastError() {
    return std::exchange(last_error, cudaSuccess);
}

// Launches finish before they return.
cudaError_t cudaDeviceSynchronize() {
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device) {
    if (device != 0) return last_error = cudaErrorInvalidValue;
    std::snprintf(properties->name, sizeof properties->name, "the host emulation of CUDA");
    return cudaSuccess;
}

// Device memory is host memory here.
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total) {
    *free = static_cast<std::size_t>(sysconf(_SC_AVPHYS_PAGES)) * page_bytes;
    *total = static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) * page_bytes;
    return cudaSuccess;
}

const char* cudaGetErrorString(cudaError_t error) {
    switch (error) {
    case cudaSuccess:
        return "no error";
    case cudaErrorInvalidValue:
        return "invalid argument";
    case cudaErrorMemoryAllocation:
        return "out of memory";
    case cudaErrorInvalidConfiguration:
        return "invalid configuration argument";
    }
    return "unknown error";
}
