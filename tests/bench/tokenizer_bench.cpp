// Encode throughput of Lectern's tokenizer on a text file.
//   tokenizer_bench deepseek-v4|smollm2 TEXT_FILE [--repeat N] [--ids-out FILE]
//   tokenizer_bench deepseek-v4|smollm2 --hex-lines FILE   (each line: hex bytes; prints each one's ids)
// Prints bytes, tokens and the best of N timed runs, in CPU time of the encoding thread (these machines are
// shared, so wall time mostly measures the neighbours) and in wall time; --ids-out writes the ids (one
// per line) so that tokenizer_bench.py can check them against Hugging Face on the same text.

#include "tokenizer_fixtures.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>

using namespace lectern;

namespace {

double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s deepseek-v4|smollm2 TEXT_FILE [--repeat N] [--ids-out FILE]\n",
                     argv[0]);
        return 2;
    }
    const std::string which = argv[1];
    int repeat = 3;
    std::string ids_out;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
        if (std::strcmp(argv[i], "--ids-out") == 0) ids_out = argv[i + 1];
    }
    const auto load_start = std::chrono::steady_clock::now();
    auto tokenizer = which == "smollm2" ? test::load_smollm2() : test::load_deepseek_v4();
    if (!tokenizer.ok()) {
        std::fprintf(stderr, "%s\n", tokenizer.error().c_str());
        return 1;
    }
    if (std::strcmp(argv[2], "--hex-lines") == 0 && argc > 3) {
        // For differential tests against HF (tokenizer_compare_random.py): one encode per case.
        std::ifstream cases(argv[3]);
        for (std::string line; std::getline(cases, line);) {
            for (const auto id : tokenizer->encode(test::from_hex(line))) std::printf("%d ", id);
            std::printf("\n");
        }
        return 0;
    }
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const std::string text = test::read_file(argv[2]);
    if (text.empty()) {
        std::fprintf(stderr, "cannot read %s (or it is empty)\n", argv[2]);
        return 1;
    }

    double best_cpu = 1e30;
    double best_wall = 1e30;
    std::vector<tokenizer::TokenId> ids;
    for (int run = 0; run < repeat; ++run) {
        const double cpu_start = thread_cpu_seconds();
        const auto wall_start = std::chrono::steady_clock::now();
        ids = tokenizer->encode(text);
        best_wall = std::min(
            best_wall, std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count());
        best_cpu = std::min(best_cpu, thread_cpu_seconds() - cpu_start);
    }
    const double megabytes = static_cast<double>(text.size()) / 1e6;
    std::printf("lectern %s: loaded in %.2f s; %zu bytes -> %zu tokens; best of %d: %.3f s CPU = %.2f MB/s "
                "(%.3f s wall), %.0f tokens/s\n",
                which.c_str(), load_seconds, text.size(), ids.size(), repeat, best_cpu, megabytes / best_cpu,
                best_wall, static_cast<double>(ids.size()) / best_cpu);
    std::printf("RESULT cpu_seconds=%.6f wall_seconds=%.6f tokens=%zu\n", best_cpu, best_wall, ids.size());
    if (!ids_out.empty()) {
        std::ofstream out(ids_out);
        for (const auto id : ids) out << id << '\n';
    }
    return 0;
}
