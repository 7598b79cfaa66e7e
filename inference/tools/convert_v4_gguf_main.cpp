// lectern-convert-v4-gguf CHECKPOINT_DIR OUT.gguf: a DeepSeek-V4 safetensors checkpoint as one GGUF file
// in llama.cpp's DeepSeek-V4 layout (convert_v4_gguf.h says how each tensor type is stored).
#include "inference/tools/convert_v4_gguf.h"

#include <cstdio>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s CHECKPOINT_DIR OUT.gguf\n", argv[0]);
        return 2;
    }
    auto summary = lectern::tools::convert_v4_to_gguf(argv[1], argv[2]);
    if (!summary) {
        std::fprintf(stderr, "error: %s\n", summary.error().c_str());
        return 1;
    }
    std::printf(
        "wrote %s: %lld tensors (%lld FP8 linears as exact BF16, %lld merged MXFP4 expert tensors)%s\n",
        argv[2], static_cast<long long>(summary->tensors), static_cast<long long>(summary->fp8_linears),
        static_cast<long long>(summary->expert_tensors),
        summary->tokenizer ? ", with the tokenizer" : ", without a tokenizer (no tokenizer.json)");
    return 0;
}
