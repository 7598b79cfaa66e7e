# DeepSeek-V4 CPU graph tokens/s by thread count (tests/bench/README.md).
lectern_add_bench(v4_threads_bench SOURCES v4_threads_bench.cpp LIBS lectern_inference)
