# Engine benchmarks (tests/bench/README.md): per-layer-type DeepSeek-V4 cost and KV bytes per token.
lectern_add_bench(engine_layers SOURCES engine_layers.cpp LIBS lectern_inference)
