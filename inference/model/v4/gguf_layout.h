#pragma once
// How a DeepSeek-V4 checkpoint is laid out in GGUF, following llama.cpp's DeepSeek-V4 support
// (architecture "deepseek4"; see README.md, "GGUF", for the sources): the GGUF name of every official
// tensor name, and the hyperparameters as `deepseek4.*` metadata, both ways.

#include "inference/formats/gguf.h"
#include "inference/formats/gguf_writer.h"
#include "inference/model/v4/config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lectern::model::v4::gguf {

inline constexpr std::string_view kArchitecture = "deepseek4";

// Lectern's own key (llama.cpp has no FP8 tensor type): true when the dense linears that the official
// checkpoint stores as FP8 e4m3 with E8M0 128x128 scales were written as their exact BF16 values. The
// loader then restores them to FP8 bit for bit, so they run with the reference's FP8 activations.
inline constexpr std::string_view kFp8LinearsKey = "lectern.deepseek4.fp8_linears";

// The GGUF name of an official tensor name (`layers.3.attn.wq_a.weight` -> `blk.3.attn_q_a.weight`; the
// MTP block `mtp.0.*` becomes block n_layers), or nullopt for names GGUF does not hold: FP8/FP4 `.scale`
// tensors and single routed experts, which llama.cpp merges into one tensor per layer and matrix.
std::optional<std::string> tensor_name(std::string_view official, std::int64_t n_layers);

// A routed expert's matrix inside its merged tensor: `layers.3.ffn.experts.5.w1.weight` -> expert 5 of
// `blk.3.ffn_gate_exps.weight` ([n_experts, out, in], outermost first).
struct ExpertSlice {
    std::string merged_name;
    std::int64_t expert = 0;
};
std::optional<ExpertSlice> expert_slice(std::string_view official, std::int64_t n_layers);

// Whether the official checkpoint stores this tensor as FP8 e4m3 with a `.scale` beside it.
bool is_fp8_linear(std::string_view official);

// The hyperparameters from `deepseek4.*` metadata, checked exactly as config.json is. The MTP block counts
// only when the file holds its tensors (llama.cpp's converter exports them only when asked).
Result<Config> read_config(const formats::GgufFile& file);
void write_config(const Config& config, formats::GgufWriter& writer);

} // namespace lectern::model::v4::gguf
