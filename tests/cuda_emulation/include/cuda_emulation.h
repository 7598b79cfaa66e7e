#pragma once
// The CUDA language and runtime as far as kernels/cuda uses them, for host C++ (README.md). Force-included
// into each rewritten kernels/cuda/*.cu; cuda_runtime.h and cuda_fp16.h beside it lead here too. Anything
// missing is a compile error, so a kernel that starts using a new intrinsic fails to build here until the
// intrinsic is added, instead of running with other semantics.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

// The device math library (expf, fmaf, exp, sqrt, ...) is global in CUDA; <cmath> need not declare it so.
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __launch_bounds__(...)

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};

// 16-byte aligned as on the device, so that the kernels' 16-byte loads keep their alignment checks.
struct alignas(16) uint4 {
    unsigned x, y, z, w;
};

struct alignas(16) float4 {
    float x, y, z, w;
};

struct __half {
    unsigned short bits;
};

// The runtime API. Error numbers are CUDA's.
enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
};
using cudaError_t = cudaError;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

cudaError_t cudaMalloc(void** pointer, std::size_t bytes);
cudaError_t cudaFree(void* pointer);
cudaError_t cudaMemcpy(void* destination, const void* source, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaGetLastError();
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDeviceCount(int* count);
// The one field of CUDA's device properties the kernels read.
struct cudaDeviceProp {
    char name[256];
};
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* properties, int device);
cudaError_t cudaMemGetInfo(std::size_t* free, std::size_t* total);
const char* cudaGetErrorString(cudaError_t error);

// __constant__ variables are ordinary globals here.
template <typename T>
cudaError_t cudaMemcpyToSymbol(T& symbol, const void* source, std::size_t bytes) {
    if (bytes > sizeof(T)) return cudaErrorInvalidValue;
    std::memcpy(&symbol, source, bytes);
    return cudaSuccess;
}

namespace lectern::cuda_emulation {

// The running thread's built-in variables, set by the scheduler before it resumes a thread.
struct Position {
    uint3 thread;
    uint3 block;
    dim3 block_dim;
    dim3 grid_dim;
};
extern Position current;

struct LaunchConfig {
    dim3 grid;
    dim3 block;
    std::size_t dynamic_shared;
    LaunchConfig(dim3 g, dim3 b, std::size_t shared = 0) : grid(g), block(b), dynamic_shared(shared) {}
};

// Runs `body(call)` as every thread of every block of the launch and returns when all have finished.
void launch(const char* kernel, const LaunchConfig& config, void (*body)(void*), void* call);

// Copies the arguments with the implicit conversions a kernel call makes (not static_cast's wider set).
template <typename To>
To convert(To value) {
    return value;
}

template <typename... Params>
struct KernelCall {
    void (*kernel)(Params...);
    std::tuple<std::decay_t<Params>...> arguments;

    // The tuple's elements are passed as lvalues, so each thread gets its own copy of the parameters.
    static void run(void* call) {
        auto* self = static_cast<KernelCall*>(call);
        std::apply(self->kernel, self->arguments);
    }
};

// What the rewrite makes of `kernel<<<config>>>(arguments...)`.
template <typename... Params, typename... Args>
void launch_kernel(const char* name, const LaunchConfig& config, void (*kernel)(Params...), Args&&... args) {
    static_assert(sizeof...(Params) == sizeof...(Args), "kernel called with the wrong number of arguments");
    KernelCall<Params...> call{kernel, {convert<std::decay_t<Params>>(std::forward<Args>(args))...}};
    launch(name, config, &KernelCall<Params...>::run, &call);
}

// What the rewrite makes of a `__shared__` declaration: the block's copy of variable `id` of its file.
void* shared_memory(int id, std::size_t bytes, std::size_t alignment);
void* dynamic_shared_memory();

template <typename T>
T& shared(int id) {
    return *static_cast<T*>(shared_memory(id, sizeof(T), alignof(T) < 16 ? 16 : alignof(T)));
}

template <typename T>
T* dynamic_shared() {
    return static_cast<T*>(dynamic_shared_memory());
}

// The points where a thread gives way to the others of its block. The caller's file and line name the
// barrier or warp operation: threads of one block must wait at the same one.
void sync_threads(const char* file, int line);

enum class WarpOp { ShuffleXor, ShuffleDown, Ballot };

// Waits until every lane of `mask` reaches the same warp operation, then returns this lane's result: the
// value of the lane read for a shuffle (`operand` is the lane mask or delta), the lanes whose value is
// nonzero for a ballot.
std::uint64_t warp_operation(WarpOp op, unsigned mask, std::uint64_t value, int operand, const char* file,
                             int line);

template <typename T>
std::uint64_t to_bits(T value) {
    static_assert(sizeof(T) <= sizeof(std::uint64_t) && std::is_trivially_copyable_v<T>);
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof(T));
    return bits;
}

template <typename T>
T from_bits(std::uint64_t bits) {
    T value;
    std::memcpy(&value, &bits, sizeof(T));
    return value;
}

} // namespace lectern::cuda_emulation

#define threadIdx (::lectern::cuda_emulation::current.thread)
#define blockIdx (::lectern::cuda_emulation::current.block)
#define blockDim (::lectern::cuda_emulation::current.block_dim)
#define gridDim (::lectern::cuda_emulation::current.grid_dim)

inline void __syncthreads(const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    lectern::cuda_emulation::sync_threads(file, line);
}

template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, const char* file = __builtin_FILE(),
                  int line = __builtin_LINE()) {
    namespace emu = lectern::cuda_emulation;
    return emu::from_bits<T>(
        emu::warp_operation(emu::WarpOp::ShuffleXor, mask, emu::to_bits(value), lane_mask, file, line));
}

template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, const char* file = __builtin_FILE(),
                   int line = __builtin_LINE()) {
    namespace emu = lectern::cuda_emulation;
    return emu::from_bits<T>(emu::warp_operation(emu::WarpOp::ShuffleDown, mask, emu::to_bits(value),
                                                 static_cast<int>(delta), file, line));
}

inline unsigned __ballot_sync(unsigned mask, int predicate, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
    namespace emu = lectern::cuda_emulation;
    return static_cast<unsigned>(
        emu::warp_operation(emu::WarpOp::Ballot, mask, predicate != 0, 0, file, line));
}

inline int __popc(unsigned value) {
    return __builtin_popcount(value);
}

// A block's threads run one at a time on one host thread, so a plain read-modify-write is atomic.
template <typename T>
T atomicAdd(T* address, std::type_identity_t<T> value) {
    const T old = *address;
    *address = old + value;
    return old;
}

inline float __int_as_float(int value) {
    return lectern::cuda_emulation::from_bits<float>(static_cast<std::uint32_t>(value));
}
inline int __float_as_int(float value) {
    return static_cast<int>(static_cast<std::uint32_t>(lectern::cuda_emulation::to_bits(value)));
}
inline float __uint_as_float(unsigned value) {
    return lectern::cuda_emulation::from_bits<float>(value);
}
inline unsigned __float_as_uint(float value) {
    return static_cast<unsigned>(lectern::cuda_emulation::to_bits(value));
}

// Correctly rounded, each on its own, as nvcc never fuses these into a multiply-add. The FMA build
// (lectern_kernels_cuda_emulated_fma, which fuses plain a * b + c as nvcc does) must not fuse them either:
// an empty asm that claims to change the value makes a product's rounding, or an operand's, final.
namespace lectern::cuda_emulation {
template <typename T>
inline T rounded(T value) {
    asm("" : "+x"(value));
    return value;
}
} // namespace lectern::cuda_emulation
inline float __fadd_rn(float a, float b) {
    return lectern::cuda_emulation::rounded(a) + lectern::cuda_emulation::rounded(b);
}
inline float __fsub_rn(float a, float b) {
    return lectern::cuda_emulation::rounded(a) - lectern::cuda_emulation::rounded(b);
}
inline float __fmul_rn(float a, float b) {
    return lectern::cuda_emulation::rounded(a * b);
}
inline float __fdiv_rn(float a, float b) {
    return a / b;
}
inline double __dadd_rn(double a, double b) {
    return lectern::cuda_emulation::rounded(a) + lectern::cuda_emulation::rounded(b);
}
inline double __dmul_rn(double a, double b) {
    return lectern::cuda_emulation::rounded(a * b);
}

// The device's is approximate (2 ulp); this one is the host's division of a correctly rounded root.
inline float rsqrtf(float value) {
    return 1.0f / sqrtf(value);
}

// CUDA's min and max overloads: the common type of the two arguments.
template <typename A, typename B>
std::common_type_t<A, B> min(A a, B b) {
    static_assert(std::is_arithmetic_v<A> && std::is_arithmetic_v<B>);
    using C = std::common_type_t<A, B>;
    return static_cast<C>(b) < static_cast<C>(a) ? static_cast<C>(b) : static_cast<C>(a);
}

template <typename A, typename B>
std::common_type_t<A, B> max(A a, B b) {
    static_assert(std::is_arithmetic_v<A> && std::is_arithmetic_v<B>);
    using C = std::common_type_t<A, B>;
    return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(b) : static_cast<C>(a);
}

inline __half __ushort_as_half(unsigned short bits) {
    return __half{bits};
}

// Exact: every fp16 value, NaN payloads included, is a float.
inline float __half2float(__half value) {
    const unsigned sign = (value.bits & 0x8000u) << 16;
    const unsigned exponent = (value.bits >> 10) & 0x1Fu;
    const unsigned mantissa = value.bits & 0x3FFu;
    if (exponent == 0x1F) return __uint_as_float(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0) return __uint_as_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f; // a subnormal: exact in a float
    return sign ? -magnitude : magnitude;
}
