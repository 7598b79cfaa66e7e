#pragma once
// Which compute backend runs a model, and where its weights and caches live. A graph asks select() once at
// load time with what it supports; select() tries the request (auto: CUDA, then Vulkan, then CPU), falls
// back along that order when a backend is missing or cannot run the graph, and records why for each
// fallback, so that the app can say it plainly. See README.md.

#include "kernels/result.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lectern::kernels::vulkan {
class Context;
} // namespace lectern::kernels::vulkan

namespace lectern::backend {

enum class Kind { Cpu, Vulkan, Cuda };
std::string_view kind_name(Kind kind); // "cpu", "vulkan", "cuda"

enum class Choice { Auto, Cpu, Vulkan, Cuda };
// "auto", "cpu", "vulkan" or "cuda" (any case); the error lists them.
Result<Choice> parse_choice(std::string_view text);

// Where a mixture-of-experts graph keeps its routed experts: on the device with the rest of their layer,
// or in host memory (read in place from the mapped file) and computed on the CPU, while attention, the
// shared expert and the router run on the device. Host experts are how a model far larger than the
// GPU's memory runs: only the experts' activations cross the bus. Dense graphs have no experts.
enum class ExpertPlacement { Device, Host };
// "device" or "host" (any case); the error lists them.
Result<ExpertPlacement> parse_experts(std::string_view text);

struct Request {
    // Empty: LECTERN_BACKEND from the environment, or auto when it is unset.
    std::optional<Choice> choice;
    // How many layers run on the GPU: the last ones, with the output head. Negative: all that fit in
    // device_memory with their caches for the model's whole context; 0: none (the CPU runs the whole
    // graph). Empty: LECTERN_GPU_LAYERS, or all that fit.
    std::optional<std::int64_t> gpu_layers;
    // Empty: LECTERN_EXPERTS (device|host) from the environment, or Device when it is unset.
    std::optional<ExpertPlacement> experts;
    // The Vulkan device: its index or part of its name (as LECTERN_VULKAN_DEVICE, which applies when this
    // is empty). Naming a device lets auto use a software one (lavapipe), which it otherwise passes over.
    std::string vulkan_device;
    // The most device memory a model may take when gpu_layers asks for all that fit. Empty:
    // LECTERN_GPU_MEMORY_MIB (in MiB), else the device's free memory (Vulkan: Context::free_device_memory).
    std::optional<std::uint64_t> device_memory;

    bool operator==(const Request&) const = default;
};

// The request with the environment's choices filled in; an unknown LECTERN_BACKEND or LECTERN_EXPERTS or a
// malformed LECTERN_GPU_LAYERS or LECTERN_GPU_MEMORY_MIB is an error naming the variable.
Result<Request> resolve(Request request);

// What a graph can run on. A reason is set where the graph cannot use that backend at all.
struct GraphSupport {
    std::string graph; // "the dense GGUF graph", shown in reasons
    std::optional<std::string> cuda_missing;
    std::optional<std::string> vulkan_missing;
};

// What runs a loaded model; the app shows it (backend, device, memory, and why not the faster one).
struct Status {
    Kind kind = Kind::Cpu;
    std::string device = "CPU";
    std::vector<std::string> fallbacks; // one line per backend passed over, in the order tried
    std::int64_t layers = 0;            // the graph's layers, and how many of them run on the device
    std::int64_t device_layers = 0;
    ExpertPlacement experts = ExpertPlacement::Device;
    std::uint64_t weight_bytes_on_device = 0; // uploaded once at load
    std::uint64_t weight_bytes_on_host = 0;   // read in place from the mapped file
    std::uint64_t kv_bytes_on_device = 0;     // the current sequence's caches (Engine::backend())
    std::uint64_t kv_bytes_on_host = 0;
    // All the device memory the model holds now: weights, every sequence's caches, working buffers.
    std::uint64_t device_bytes_in_use = 0;
};

struct Selection {
    Kind kind = Kind::Cpu;
    std::shared_ptr<kernels::vulkan::Context> vulkan; // set when kind is Vulkan
    std::vector<std::string> fallbacks;
    std::string device = "CPU";
};

// Never fails: the CPU is the last resort. `request` should come from resolve().
Selection select(const Request& request, const GraphSupport& support);

// Records in `status` that a graph now runs `device_layers` layers on the selected device.
void record_device(Status& status, const Selection& selection, std::int64_t device_layers,
                   std::uint64_t weight_bytes_on_device);

// Whether the layer runs on the device when `device_layers` of `layers` do (the last ones).
inline bool layer_on_device(std::int64_t layer, std::int64_t layers, std::int64_t device_layers) {
    return layer >= layers - device_layers;
}

// What a graph would hold in device memory: each layer's weights and caches, and the rest (output head,
// working buffers), with the caches grown to `context` positions.
struct DeviceFootprint {
    std::vector<std::uint64_t> layer_bytes;
    std::uint64_t other_bytes = 0;
    std::int64_t context = 0;
};

struct DevicePlan {
    std::int64_t layers = 0; // the last ones; 0: none fit, the CPU runs the whole graph
    std::string note;        // why not all of them, for Status::fallbacks; empty when all run there
};

// How many layers a graph runs on the selected device: the request's number (clamped to the graph's),
// or, when it asks for all that fit, the most of the last layers whose footprint fits with other_bytes in
// the budget (Request::device_memory, or the device's free memory), less a twentieth for what the
// footprint leaves out (pipelines, descriptor pools, allocation rounding).
DevicePlan plan_device(const Request& request, const Selection& selection, const DeviceFootprint& footprint);

} // namespace lectern::backend
