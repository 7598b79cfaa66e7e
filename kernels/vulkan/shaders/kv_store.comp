#version 450
// Appends `rows` key and value rows (fp32) to an fp16 cache at the position held in a buffer, so that one
// recording serves every decode step (kernels/vulkan/dense_ops.h kv_store). Each cache word holds two
// halves: dims 2i and 2i+1 of a row.
layout(local_size_x = 64) in;

layout(std430, binding = 0) readonly buffer K { float keys[]; };   // [rows, kv_dim]
layout(std430, binding = 1) readonly buffer V { float values[]; }; // [rows, kv_dim]
layout(std430, binding = 2) buffer KC { uint key_cache[]; };       // [capacity, kv_dim / 2]
layout(std430, binding = 3) buffer VC { uint value_cache[]; };     // [capacity, kv_dim / 2]
layout(std430, binding = 4) readonly buffer F { uint first; };     // the position of row 0
layout(push_constant) uniform Push {
    uint rows;
    uint kv_dim;
    uint capacity;
} p;

void main() {
    const uint pairs = p.kv_dim / 2u;
    const uint index = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
    if (index >= p.rows * pairs) return;
    const uint row = index / pairs, pair = index % pairs, position = first + row;
    if (position >= p.capacity) return; // the host keeps first + rows within capacity
    const uint from = row * p.kv_dim + 2u * pair, to = position * pairs + pair;
    key_cache[to] = packHalf2x16(vec2(keys[from], keys[from + 1u]));
    value_cache[to] = packHalf2x16(vec2(values[from], values[from + 1u]));
}
