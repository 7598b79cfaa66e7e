# Evidence from attention (inference/engine/attention_evidence.h): decode time with and without recording.
lectern_add_bench(attention_evidence SOURCES attention_evidence_bench.cpp LIBS lectern_inference)
