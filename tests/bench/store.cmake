# store_bench: passage insert rate and search latency (p50/p99) over a large synthetic multilingual corpus.
lectern_add_bench(store_bench SOURCES store_bench.cpp LIBS lectern_core)
