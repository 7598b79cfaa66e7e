// Backend choice and its fallbacks, on the default model: a backend that cannot be used falls back along
// auto's order with the reason said; auto passes over software Vulkan devices unless one is named; the
// environment (LECTERN_BACKEND, LECTERN_GPU_LAYERS, LECTERN_EXPERTS) fills what the caller leaves unset and a
// bad value is an error naming the variable; 0 GPU layers means the CPU. Needs only the model, no GPU
// (skipped, 77, without the model).

#include "inference/backend/backend.h"
#include "inference/cache/user_cache.h"
#include "inference/engine/engine.h"
#include "inference/model/default_model.h"
#include "kernels/vulkan/context.h"
#include "tests/kernels/check.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>

using namespace lectern;

namespace {

backend::Status load(const backend::Request& request) {
    auto engine = inference::Engine::load("default", {}, request);
    if (!CHECK(engine.ok())) {
        std::fprintf(stderr, "load: %s\n", engine.error().c_str());
        return {};
    }
    const backend::Status status = (*engine)->backend();
    std::printf("%s on %s, %lld of %lld layers on the device\n",
                std::string(backend::kind_name(status.kind)).c_str(), status.device.c_str(),
                static_cast<long long>(status.device_layers), static_cast<long long>(status.layers));
    for (const std::string& reason : status.fallbacks) std::printf("  note: %s\n", reason.c_str());
    return status;
}

bool mentions(const backend::Status& status, const std::string& prefix, const std::string& words) {
    for (const std::string& reason : status.fallbacks)
        if (reason.starts_with(prefix) && reason.find(words) != std::string::npos) return true;
    return false;
}

// The user cache folder follows scripts/common.sh (LECTERN_CACHE, XDG_CACHE_HOME, HOME), and a Vulkan
// context the backend opens keeps its pipeline cache in its vulkan/ subfolder.
void pipeline_cache_in_user_cache() {
    const auto get = [](const char* name) { return std::getenv(name) ? std::string(std::getenv(name)) : ""; };
    const auto put = [](const char* name, const std::string& value) {
        value.empty() ? unsetenv(name) : setenv(name, value.c_str(), 1);
    };
    const std::string lectern_cache = get("LECTERN_CACHE"), xdg = get("XDG_CACHE_HOME");
    put("LECTERN_CACHE", "/tmp/lectern-cache-a");
    put("XDG_CACHE_HOME", "/tmp/xdg-b");
    CHECK(cache::user_cache_dir() == "/tmp/lectern-cache-a");
    put("LECTERN_CACHE", "");
    CHECK(cache::user_cache_dir() == "/tmp/xdg-b/lectern");
    put("XDG_CACHE_HOME", "");
    if (!get("HOME").empty())
        CHECK(cache::user_cache_dir() == std::filesystem::path(get("HOME")) / ".cache" / "lectern");

    const std::filesystem::path scratch =
        std::filesystem::temp_directory_path() / ("lectern-user-cache-" + std::to_string(getpid()));
    put("LECTERN_CACHE", scratch.string());
    backend::GraphSupport support;
    support.graph = "a test graph";
    const backend::Selection vulkan = backend::select({backend::Choice::Vulkan, {}, {}, {}, {}}, support);
    if (vulkan.vulkan)
        CHECK(std::filesystem::path(vulkan.vulkan->pipeline_cache_file()).parent_path() ==
              scratch / "vulkan");
    else
        std::printf("no Vulkan device: the pipeline cache's place is not checked\n");
    std::error_code ignored;
    std::filesystem::remove_all(scratch, ignored);
    put("LECTERN_CACHE", lectern_cache);
    put("XDG_CACHE_HOME", xdg);
}

// plan_device: a number of layers is taken as asked (clamped); "all that fit" takes the most of the last
// layers that fit with the rest in the budget less a twentieth, and says so when not all do.
void plans() {
    backend::DeviceFootprint footprint;
    footprint.layer_bytes = {10u << 20, 10u << 20, 10u << 20, 10u << 20};
    footprint.other_bytes = 5u << 20;
    footprint.context = 4096;
    const backend::Selection cpu_only; // no device: only the request's budget counts
    const auto plan = [&](std::optional<std::int64_t> layers, std::optional<std::uint64_t> memory) {
        backend::Request request{backend::Choice::Vulkan, layers, {}, {}, memory};
        return backend::plan_device(request, cpu_only, footprint);
    };
    const backend::DevicePlan all = plan(-1, 100u << 20);
    CHECK(all.layers == 4 && all.note.empty());
    // 45 MiB are needed; 46 MiB less a twentieth is 43.7: three layers (35 MiB) fit.
    const backend::DevicePlan three = plan(-1, 46u << 20);
    CHECK(three.layers == 3 &&
          three.note.find("GPU: 3 of 4 layers fit in the 46 MiB of device memory allowed") == 0);
    CHECK(three.note.find("4096 positions need 48 MiB") != std::string::npos &&
          three.note.find("the first 1 run on the CPU") != std::string::npos);
    CHECK(plan(-1, 48u << 20).layers == 4); // 45.6 MiB usable
    const backend::DevicePlan none = plan({}, 14u << 20);
    CHECK(none.layers == 0 &&
          none.note.find("not even the output head and one layer fit") != std::string::npos);
    CHECK(plan(2, 1u << 20).layers == 2 && plan(2, 1u << 20).note.empty()); // asked for: not fitted
    CHECK(plan(9, {}).layers == 4);
    std::printf("plan: %s\n", three.note.c_str());

    setenv("LECTERN_GPU_MEMORY_MIB", "6144", 1);
    const auto from_env = backend::resolve({});
    CHECK(from_env.ok() && from_env->device_memory == std::optional<std::uint64_t>(6144ull << 20));
    for (const char* bad : {"6GB", "0", "-1", "99999999999999999999"}) {
        setenv("LECTERN_GPU_MEMORY_MIB", bad, 1);
        const auto refused = backend::resolve({});
        CHECK(!refused.ok() && refused.error().find("LECTERN_GPU_MEMORY_MIB") != std::string::npos);
    }
    unsetenv("LECTERN_GPU_MEMORY_MIB");
}

} // namespace

int main() {
    if (auto path = model::default_model_path(); !path) {
        std::printf("backend_fallback: skipped: %s\n", path.error().c_str());
        return 77;
    }
    unsetenv("LECTERN_BACKEND");
    unsetenv("LECTERN_GPU_LAYERS");
    unsetenv("LECTERN_VULKAN_DEVICE");
    unsetenv("LECTERN_EXPERTS");
    pipeline_cache_in_user_cache();
    plans();

    // CUDA asked for: no CUDA path for this graph (and no driver here), so Vulkan or the CPU, with the
    // reason.
    const backend::Status cuda = load({backend::Choice::Cuda, {}, {}, {}, {}});
    CHECK(cuda.kind != backend::Kind::Cuda);
    CHECK(!cuda.fallbacks.empty() && cuda.fallbacks.front().starts_with("CUDA: "));

    // A Vulkan device that does not exist: the CPU, and the reason names what was asked for.
    const backend::Status missing = load({backend::Choice::Vulkan, {}, {}, "no-such-gpu-4711", {}});
    CHECK(missing.kind == backend::Kind::Cpu && missing.device == "CPU");
    CHECK(mentions(missing, "Vulkan: ", "no-such-gpu-4711"));
    CHECK(missing.weight_bytes_on_device == 0 && missing.weight_bytes_on_host > 50u << 20);

    // auto: every backend before the one used left its reason; a software Vulkan device is passed over.
    const backend::Status automatic = load({});
    CHECK(automatic.fallbacks.size() >= 1 && automatic.fallbacks.front().starts_with("CUDA: "));
    if (automatic.kind == backend::Kind::Cpu) CHECK(mentions(automatic, "Vulkan: ", ""));

    // All that fit in a budget: the default model's footprint (weights, its 8192 positions' cache twice,
    // working buffers) takes some 470 MiB; in 200 MiB the last layers go to the device and the rest stay.
    const backend::Status fitted = load({backend::Choice::Vulkan, -1, {}, {}, 200ull << 20});
    if (fitted.kind == backend::Kind::Vulkan) {
        CHECK(fitted.device_layers > 0 && fitted.device_layers < fitted.layers);
        CHECK(mentions(fitted, "GPU: ",
                       std::to_string(fitted.device_layers) + " of " + std::to_string(fitted.layers) +
                           " layers fit in the 200 MiB"));
        CHECK(fitted.device_bytes_in_use > fitted.weight_bytes_on_device &&
              fitted.device_bytes_in_use < 190ull << 20);
    }

    // 0 GPU layers: the CPU, said plainly.
    const backend::Status none = load({backend::Choice::Vulkan, 0, {}, {}, {}});
    CHECK(none.kind == backend::Kind::Cpu && mentions(none, "GPU: ", "0 GPU layers"));

    // The environment: LECTERN_BACKEND=cpu is obeyed; nonsense is refused with the variable's name.
    setenv("LECTERN_BACKEND", "cpu", 1);
    const backend::Status from_env = load({});
    CHECK(from_env.kind == backend::Kind::Cpu && from_env.fallbacks.empty());
    setenv("LECTERN_BACKEND", "tpu", 1);
    auto refused = inference::Engine::load("default", {}, {});
    CHECK(!refused.ok() && refused.error().find("LECTERN_BACKEND") != std::string::npos);
    if (!refused.ok()) std::printf("LECTERN_BACKEND=tpu: %s\n", refused.error().c_str());
    unsetenv("LECTERN_BACKEND");
    setenv("LECTERN_GPU_LAYERS", "many", 1);
    auto bad_layers = inference::Engine::load("default", {}, {});
    CHECK(!bad_layers.ok() && bad_layers.error().find("LECTERN_GPU_LAYERS") != std::string::npos);
    unsetenv("LECTERN_GPU_LAYERS");
    setenv("LECTERN_EXPERTS", "gpu", 1);
    auto bad_experts = inference::Engine::load("default", {}, {});
    CHECK(!bad_experts.ok() && bad_experts.error().find("LECTERN_EXPERTS") != std::string::npos);
    setenv("LECTERN_EXPERTS", "Host", 1);
    const auto host = backend::resolve({});
    CHECK(host.ok() && host->experts == backend::ExpertPlacement::Host);
    const auto asked = backend::resolve({{}, {}, backend::ExpertPlacement::Device, {}, {}});
    CHECK(asked.ok() && asked->experts == backend::ExpertPlacement::Device); // the caller's choice wins
    unsetenv("LECTERN_EXPERTS");
    const auto unset = backend::resolve({});
    CHECK(unset.ok() && unset->experts == backend::ExpertPlacement::Device);

    CHECK(!backend::parse_choice("gpu").ok() && backend::parse_choice("VULKAN").ok());
    return lectern::test::finish("backend_fallback");
}
