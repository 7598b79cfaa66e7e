#pragma once
// DeepSeek-V4 (Flash, Pro and smaller configurations of the same family) on the CPU backend, from an
// HF checkpoint folder or a GGUF file in llama.cpp's layout (architecture "deepseek4", gguf_layout.h).
// See shared/design/v4-architecture.md for the graph this implements.

#include "inference/model/factory.h"
#include "inference/model/model.h"

#include <memory>
#include <string>

namespace lectern::model::v4 {

// `threads`: the CPU threads the forward pass splits its heavy ops over (0: one per hardware thread). The
// results are bit-identical for any count. `request` (from backend::resolve()) may place the last layers
// and the head on a GPU (v4_device.h: Vulkan or CUDA); without a choice, or with the CPU chosen, the CPU
// runs it all.
Result<std::unique_ptr<Model>> load_v4_model(const std::string& folder, const LoadProgress& progress = {},
                                             int threads = 0, const backend::Request& request = {});
Result<std::unique_ptr<Model>> load_v4_gguf_model(const std::string& path, const LoadProgress& progress = {},
                                                  int threads = 0, const backend::Request& request = {});

} // namespace lectern::model::v4
