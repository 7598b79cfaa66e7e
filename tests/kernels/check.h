#pragma once
// Minimal checks for the plain (non-Qt) kernel tests: print what failed and where, count failures.

#include <cmath>
#include <cstdio>

namespace lectern::test {

inline int& failures() {
    static int count = 0;
    return count;
}

inline bool check(bool condition, const char* what, const char* file, int line) {
    if (!condition) {
        std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
        ++failures();
    }
    return condition;
}

inline bool check_close(double actual, double expected, double tolerance, const char* what, const char* file,
                        int line) {
    const bool ok = std::isfinite(actual) && std::fabs(actual - expected) <= tolerance;
    if (!ok) {
        std::fprintf(stderr, "%s:%d: %s: got %.9g, expected %.9g (tolerance %.3g)\n", file, line, what,
                     actual, expected, tolerance);
        ++failures();
    }
    return ok;
}

inline int finish(const char* name) {
    if (failures() == 0) {
        std::printf("%s: all checks passed\n", name);
        return 0;
    }
    std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures());
    return 1;
}

} // namespace lectern::test

#define CHECK(cond) ::lectern::test::check((cond), #cond, __FILE__, __LINE__)
#define CHECK_CLOSE(actual, expected, tol)                                                                   \
    ::lectern::test::check_close((actual), (expected), (tol), #actual, __FILE__, __LINE__)
