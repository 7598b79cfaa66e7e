# A model (the default unless named) end to end on the CPU and on a GPU backend in the same run (backend_bench.cpp).
if(TARGET lectern_inference)
  lectern_add_bench(backend_bench SOURCES backend_bench.cpp LIBS lectern_inference)
endif()
