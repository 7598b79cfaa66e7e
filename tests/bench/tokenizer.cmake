# Tokenizer encode throughput (tests/bench/tokenizer_bench.cpp); tokenizer_bench.py runs it beside Hugging
# Face tokenizers on the same text and prints the ratio.
if(TARGET lectern_inference)
  lectern_add_bench(tokenizer_bench SOURCES tokenizer_bench.cpp LIBS lectern_inference)
  target_include_directories(tokenizer_bench PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/../tokenizer")
endif()
