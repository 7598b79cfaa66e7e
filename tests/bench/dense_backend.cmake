# The default model end to end on the CPU and on a GPU backend in the same run (dense_backend_bench.cpp).
if(TARGET lectern_inference)
  lectern_add_bench(dense_backend_bench SOURCES dense_backend_bench.cpp LIBS lectern_inference)
endif()
