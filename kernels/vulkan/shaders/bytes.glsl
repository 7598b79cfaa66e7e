// Byte and 16-bit reads from storage buffers. With USE_8BIT / USE_16BIT the buffers are declared with
// 8/16-bit element types (needs storageBuffer8BitAccess / storageBuffer16BitAccess); the portable
// fallback reads 32-bit words and shifts. BYTES_BUFFER(name, binding) declares `name` and a reader
// `name_byte(index)`; HALVES_BUFFER(name, binding) a reader `name_half(index)` returning the raw 16 bits.
#ifdef USE_8BIT
#extension GL_EXT_shader_8bit_storage : require
#define BYTES_BUFFER(name, binding_index)                                                                  \
    layout(std430, binding = binding_index) readonly buffer name##_block { uint8_t name[]; };              \
    uint name##_byte(uint index) { return uint(name[index]); }
#else
#define BYTES_BUFFER(name, binding_index)                                                                  \
    layout(std430, binding = binding_index) readonly buffer name##_block { uint name[]; };                 \
    uint name##_byte(uint index) { return (name[index >> 2] >> ((index & 3u) * 8u)) & 0xFFu; }
#endif

#ifdef USE_16BIT
#extension GL_EXT_shader_16bit_storage : require
#define HALVES_BUFFER(name, binding_index)                                                                 \
    layout(std430, binding = binding_index) readonly buffer name##_block { uint16_t name[]; };             \
    uint name##_half(uint index) { return uint(name[index]); }
#else
#define HALVES_BUFFER(name, binding_index)                                                                 \
    layout(std430, binding = binding_index) readonly buffer name##_block { uint name[]; };                 \
    uint name##_half(uint index) { return (name[index >> 1] >> ((index & 1u) * 16u)) & 0xFFFFu; }
#endif
