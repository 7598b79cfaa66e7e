if(LECTERN_HAVE_CUDA)
  lectern_add_bench(cuda_ops SOURCES cuda_ops.cpp LIBS lectern_kernels_cuda CUDA::cudart_static)
endif()
