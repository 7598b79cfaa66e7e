#pragma once
// The scalar reference for every weight type a model file may hold: decode rows to float, and the dot
// product the fast kernels (matmul.h) are tested against. Decoding is bit-exact with ggml's (and the
// `gguf` Python package's) reference dequantization: tests/gguf/dequantize_test.cpp checks that.

#include "kernels/dtype.h"

#include <cstdint>

namespace lectern::kernels::quant {

// Whether dequantize_row and the matmul kernels accept `type` as a weight type.
bool is_weight_type(DType type);

// Decodes `n` elements of `type` (a whole number of its blocks) from `src` into `dst`.
void dequantize_row(DType type, const void* src, float* dst, std::int64_t n);

// sum(w[i] * x[i]) over one row of `n` elements of `type`, decoded exactly and summed in double.
double dot_reference(DType type, const void* row, const float* x, std::int64_t n);

} // namespace lectern::kernels::quant
