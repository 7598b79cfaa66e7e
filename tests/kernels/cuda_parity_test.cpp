// Every CUDA op against the CPU reference on random inputs. Without a device it exits 77 (skipped).

#include "kernels/cpu/ops.h"
#include "kernels/cuda/ops.h"
#include "tests/kernels/check.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

using namespace lectern::kernels;

static std::vector<float> random_vector(std::size_t n, std::mt19937& rng) {
    std::normal_distribution<float> dist(0.0f, 2.0f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

static void rms_norm_parity(std::mt19937& rng) {
    for (const auto& [rows, n] : {std::pair<int, int>{1, 1}, {3, 255}, {7, 4096}, {2, 10000}}) {
        const auto x = random_vector(static_cast<std::size_t>(rows) * n, rng);
        const auto w = random_vector(static_cast<std::size_t>(n), rng);
        std::vector<float> expected(x.size()), actual(x.size(), std::nanf(""));
        cpu::rms_norm(x.data(), w.data(), expected.data(), rows, n, 1e-6f);

        cuda::DeviceBuffer dx(x.size() * sizeof(float)), dw(w.size() * sizeof(float)),
            dy(x.size() * sizeof(float));
        CHECK(dx.upload(x.data(), x.size() * sizeof(float)).empty());
        CHECK(dw.upload(w.data(), w.size() * sizeof(float)).empty());
        const std::string err =
            cuda::rms_norm(static_cast<const float*>(dx.data()), static_cast<const float*>(dw.data()),
                           static_cast<float*>(dy.data()), rows, n, 1e-6f);
        CHECK(err.empty());
        CHECK(dy.download(actual.data(), actual.size() * sizeof(float)).empty());
        // fp32 sums in a different order: relative error well under 1e-5 of the row's scale.
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!CHECK_CLOSE(actual[i], expected[i], 1e-5 * (1.0 + std::fabs(expected[i])))) break;
    }
}

int main() {
    std::string why;
    if (!cuda::device_available(&why)) {
        std::printf("kernels_cuda_parity: skipped: %s\n", why.c_str());
        return 77;
    }
    std::mt19937 rng(1234);
    rms_norm_parity(rng);
    return lectern::test::finish("kernels_cuda_parity");
}
