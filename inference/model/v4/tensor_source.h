#pragma once
// Where the V4 weights come from: HF safetensors shards (the official names and dtypes, mapped in place) or
// a GGUF file in llama.cpp's DeepSeek-V4 layout (gguf_layout.h). Either way the binder (weights.h) asks for
// tensors by their official name and gets safetensors-style views (shape outermost first), so the same
// dtype and shape checks apply to both. GGUF tensors are viewed in place in the mapped file (F32, BF16, F16
// and the GGUF block types Q8_0, Q4_K, IQ2_XXS, ..., which the CPU kernels run as they are stored), except
// these, converted once, at load, into memory the source owns:
//   - MXFP4 routed experts -> packed FP4 e2m1 + E8M0 1x32 scales (a lossless re-arrangement of nibbles,
//     the same bytes in number),
//   - BF16 dense linears of a file marked with gguf::kFp8LinearsKey -> FP8 e4m3 + E8M0 128x128 (exact),
//   - I32 tid2eid -> I64.

#include "inference/formats/gguf.h"
#include "inference/formats/safetensors.h"
#include "inference/model/v4/config.h"
#include "kernels/result.h"

#include <cstdint>
#include <memory>
#include <string>

namespace lectern::model::v4 {

class TensorSource {
public:
    virtual ~TensorSource() = default;
    // The tensor with this official name, or nullptr when the source does not hold it. The view stays
    // valid as long as the source.
    virtual const formats::TensorView* find(const std::string& official_name) = 0;
    // The name errors should use for the tensor: the official one, or the GGUF one with the official beside.
    virtual std::string label(const std::string& official_name) const = 0;
    // What "the checkpoint" is in errors: a folder of shards or a .gguf file.
    virtual std::string description() const = 0;
    // A conversion find() could not do (the first one), or empty.
    virtual const std::string& problem() const = 0;
    // Bytes of the tensors converted so far and held in memory (the rest is read in place from the files).
    virtual std::uint64_t converted_bytes() const = 0;
};

std::unique_ptr<TensorSource> safetensors_source(formats::SafetensorsCheckpoint checkpoint,
                                                 std::string folder);
std::unique_ptr<TensorSource> gguf_source(formats::GgufFile file, const Config& config);

} // namespace lectern::model::v4
