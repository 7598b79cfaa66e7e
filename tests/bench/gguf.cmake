# Default-model speed (gguf_bench.cpp); gguf_bench.py runs it beside llama.cpp (llama-cpp-python) with the
# same prompt and threads and prints the ratios.
if(TARGET lectern_inference)
  lectern_add_bench(gguf_bench SOURCES gguf_bench.cpp LIBS lectern_inference)
endif()
