#include "inference/backend/backend.h"

#include "inference/cache/user_cache.h"
#include "kernels/vulkan/context.h"

#ifdef LECTERN_HAVE_CUDA
#include "kernels/cuda/ops.h"
#endif

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>

namespace lectern::backend {
namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Whether all of `text` is one whole number, which goes to `value`.
template <typename Number>
bool whole_number(std::string_view text, Number& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} && end == text.data() + text.size();
}

std::string mib(std::uint64_t bytes) {
    return std::to_string((bytes + (1u << 19)) >> 20) + " MiB";
}

struct Attempt {
    bool used = false;
    std::string reason;
};

Attempt try_cuda(const GraphSupport& support, Selection& out) {
#ifndef LECTERN_HAVE_CUDA
    (void)support;
    (void)out;
    return {false, "CUDA: not in this build (built without nvcc)"};
#else
    // The runtime this build links asks the driver: it says what is missing (no driver, a driver older
    // than the runtime, no device).
    auto device = kernels::cuda::device_name();
    if (!device) return {false, "CUDA: " + device.error()};
    if (support.cuda_missing) return {false, "CUDA: " + *support.cuda_missing + " (device: " + *device + ")"};
    out.kind = Kind::Cuda;
    out.device = *device;
    return {true, {}};
#endif
}

Attempt try_vulkan(const Request& request, bool automatic, const GraphSupport& support, Selection& out) {
    if (support.vulkan_missing) return {false, "Vulkan: " + *support.vulkan_missing};
    kernels::vulkan::ContextOptions options;
    options.device = request.vulkan_device;
    options.memory_limit = request.device_memory.value_or(0);
    if (const std::filesystem::path cache = cache::user_cache_dir(); !cache.empty())
        options.pipeline_cache_dir = (cache / "vulkan").string();
    auto context = kernels::vulkan::Context::create(options);
    if (!context) {
        const std::string& error = context.error(); // the context's own message may already say "Vulkan:"
        return {false, error.starts_with("Vulkan: ") ? error : "Vulkan: " + error};
    }
    const kernels::vulkan::DeviceInfo& device = (*context)->device();
    const bool named = !request.vulkan_device.empty() || std::getenv("LECTERN_VULKAN_DEVICE") != nullptr;
    if (automatic && !named && device.type == "CPU (software)")
        return {false, "Vulkan: the only device is " + device.name +
                           ", a software renderer slower than the CPU backend (choose vulkan, or name the "
                           "device in LECTERN_VULKAN_DEVICE, to use it anyway)"};
    out.kind = Kind::Vulkan;
    out.device = device.name;
    out.vulkan = std::shared_ptr<kernels::vulkan::Context>(std::move(*context));
    return {true, {}};
}

} // namespace

std::string_view kind_name(Kind kind) {
    switch (kind) {
    case Kind::Vulkan:
        return "vulkan";
    case Kind::Cuda:
        return "cuda";
    case Kind::Cpu:
        break;
    }
    return "cpu";
}

Result<Choice> parse_choice(std::string_view text) {
    const std::string name = lower(text);
    if (name == "auto") return Choice::Auto;
    if (name == "cpu") return Choice::Cpu;
    if (name == "vulkan") return Choice::Vulkan;
    if (name == "cuda") return Choice::Cuda;
    return Error{"backend '" + std::string(text) + "' is not one of auto, cpu, vulkan, cuda"};
}

Result<ExpertPlacement> parse_experts(std::string_view text) {
    const std::string name = lower(text);
    if (name == "device") return ExpertPlacement::Device;
    if (name == "host") return ExpertPlacement::Host;
    return Error{"expert placement '" + std::string(text) + "' is not one of device, host"};
}

Result<Request> resolve(Request request) {
    if (!request.choice) {
        const char* env = std::getenv("LECTERN_BACKEND");
        if (env && *env) {
            auto choice = parse_choice(env);
            if (!choice) return Error{"LECTERN_BACKEND: " + choice.error()};
            request.choice = *choice;
        } else {
            request.choice = Choice::Auto;
        }
    }
    if (!request.gpu_layers) {
        const char* env = std::getenv("LECTERN_GPU_LAYERS");
        std::int64_t layers = -1;
        if (env && *env && !whole_number(env, layers))
            return Error{"LECTERN_GPU_LAYERS='" + std::string(env) +
                         "' is not a whole number (the layers to run on the GPU; -1 for all that fit)"};
        request.gpu_layers = layers;
    }
    if (!request.device_memory) {
        const char* env = std::getenv("LECTERN_GPU_MEMORY_MIB");
        if (env && *env) {
            std::uint64_t mebibytes = 0;
            if (!whole_number(env, mebibytes) || mebibytes == 0 ||
                mebibytes > (std::numeric_limits<std::uint64_t>::max() >> 20))
                return Error{
                    "LECTERN_GPU_MEMORY_MIB='" + std::string(env) +
                    "' is not a positive whole number (the most device memory a model may take, in MiB)"};
            request.device_memory = mebibytes << 20;
        }
    }
    if (!request.experts) {
        const char* env = std::getenv("LECTERN_EXPERTS");
        request.experts = ExpertPlacement::Device;
        if (env && *env) {
            auto placement = parse_experts(env);
            if (!placement) return Error{"LECTERN_EXPERTS: " + placement.error()};
            request.experts = *placement;
        }
    }
    return request;
}

DevicePlan plan_device(const Request& request, const Selection& selection, const DeviceFootprint& footprint) {
    const auto layers = static_cast<std::int64_t>(footprint.layer_bytes.size());
    const std::int64_t wanted = request.gpu_layers.value_or(-1);
    if (wanted >= 0) return {std::min(wanted, layers), {}};
    std::uint64_t budget = request.device_memory.value_or(std::numeric_limits<std::uint64_t>::max());
    bool allowed = request.device_memory.has_value(); // the request's cap, not the device, sets the budget
    std::uint64_t free = std::numeric_limits<std::uint64_t>::max();
    if (selection.vulkan) free = selection.vulkan->free_device_memory();
#ifdef LECTERN_HAVE_CUDA
    if (selection.kind == Kind::Cuda) free = kernels::cuda::free_device_memory();
#endif
    if (free < budget) {
        budget = free;
        allowed = false;
    }
    DevicePlan plan;
    const std::uint64_t usable = budget - budget / 20;
    std::uint64_t need = footprint.other_bytes;
    while (plan.layers < layers) {
        const std::uint64_t layer = footprint.layer_bytes[static_cast<std::size_t>(layers - 1 - plan.layers)];
        if (need + layer > usable) break;
        need += layer;
        ++plan.layers;
    }
    if (plan.layers == layers) return plan;
    std::uint64_t all = footprint.other_bytes;
    for (const std::uint64_t layer : footprint.layer_bytes) all += layer;
    // What a budget must be for all of them, the twentieth kept free included, rounded up.
    const std::uint64_t needed = all + (all + 18) / 19 + (1u << 20) - 1;
    const std::string room = mib(budget) + " of device memory " +
                             (allowed ? "allowed" : "free on " + selection.device) +
                             " (all layers with their caches for " + std::to_string(footprint.context) +
                             " positions need " + std::to_string(needed >> 20) + " MiB)";
    plan.note = plan.layers == 0 ? "GPU: not even the output head and one layer fit in the " + room +
                                       ", so the CPU runs the whole graph"
                                 : "GPU: " + std::to_string(plan.layers) + " of " + std::to_string(layers) +
                                       " layers fit in the " + room + "; the first " +
                                       std::to_string(layers - plan.layers) + " run on the CPU";
    return plan;
}

Selection select(const Request& request, const GraphSupport& support) {
    Selection selection;
    const Choice choice = request.choice.value_or(Choice::Auto);
    const bool automatic = choice == Choice::Auto;
    if (choice == Choice::Cpu) return selection;
    if (request.gpu_layers && *request.gpu_layers == 0) {
        selection.fallbacks.push_back("GPU: 0 GPU layers were asked for, so the CPU runs the whole graph");
        return selection;
    }
    // An explicit choice that cannot be used falls back along auto's order after it.
    if (choice == Choice::Auto || choice == Choice::Cuda) {
        const Attempt cuda = try_cuda(support, selection);
        if (cuda.used) return selection;
        selection.fallbacks.push_back(cuda.reason);
    }
    const Attempt vulkan = try_vulkan(request, automatic, support, selection);
    if (vulkan.used) return selection;
    selection.fallbacks.push_back(vulkan.reason);
    return selection;
}

void record_device(Status& status, const Selection& selection, std::int64_t device_layers,
                   std::uint64_t weight_bytes_on_device) {
    status.kind = selection.kind;
    status.device = selection.device;
    status.device_layers = device_layers;
    status.weight_bytes_on_device = weight_bytes_on_device;
}

} // namespace lectern::backend
