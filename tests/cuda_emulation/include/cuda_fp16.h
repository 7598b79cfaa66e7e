#pragma once
// The emulation's stand-in for CUDA's header (README.md): the rewritten kernels include it as they are.
#include "cuda_emulation.h"
