# GGUF block matrices run in place (cpu::linear on WeightFormat::GGUF_BLOCK) against the same weights
# decoded to F32, at a DeepSeek-V4-Flash routed expert's shape.
lectern_add_bench(v4_gguf_in_place_bench SOURCES v4_gguf_in_place_bench.cpp LIBS lectern_kernels)
