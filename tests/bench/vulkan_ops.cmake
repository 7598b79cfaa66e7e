# Vulkan ops against the CPU backend (tests/bench/vulkan_ops.cpp); vulkan_ops_gpu.sh runs it on a real GPU.
if(TARGET lectern_kernels_vulkan)
  lectern_add_bench(vulkan_ops SOURCES vulkan_ops.cpp LIBS lectern_kernels_vulkan)
endif()
