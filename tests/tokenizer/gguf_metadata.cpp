#include "gguf_metadata.h"

#include <cstring>
#include <fstream>

namespace lectern::test {
namespace {

enum : std::uint32_t {
    kUint8 = 0,
    kInt8,
    kUint16,
    kInt16,
    kUint32,
    kInt32,
    kFloat32,
    kBool,
    kString,
    kArray,
    kUint64,
    kInt64,
    kFloat64
};

class Reader {
public:
    explicit Reader(const std::string& path) : file_(path, std::ios::binary) {}
    bool ok() const { return static_cast<bool>(file_); }
    template <typename T>
    T read() {
        T value{};
        file_.read(reinterpret_cast<char*>(&value), sizeof value);
        return value;
    }
    std::string read_string() {
        const auto length = read<std::uint64_t>();
        if (length > (1u << 24)) {
            file_.setstate(std::ios::failbit);
            return {};
        }
        std::string text(length, '\0');
        file_.read(text.data(), static_cast<std::streamsize>(length));
        return text;
    }
    void skip(std::uint64_t bytes) { file_.seekg(static_cast<std::streamoff>(bytes), std::ios::cur); }
    void skip_value(std::uint32_t type) {
        switch (type) {
        case kUint8:
        case kInt8:
        case kBool:
            skip(1);
            break;
        case kUint16:
        case kInt16:
            skip(2);
            break;
        case kUint32:
        case kInt32:
        case kFloat32:
            skip(4);
            break;
        case kUint64:
        case kInt64:
        case kFloat64:
            skip(8);
            break;
        case kString:
            read_string();
            break;
        case kArray: {
            const auto element = read<std::uint32_t>();
            const auto count = read<std::uint64_t>();
            for (std::uint64_t i = 0; i < count && ok(); ++i) skip_value(element);
            break;
        }
        default:
            file_.setstate(std::ios::failbit);
        }
    }

private:
    std::ifstream file_;
};

} // namespace

std::optional<GgufTokenizerMetadata> read_gguf_tokenizer_metadata(const std::string& path,
                                                                  std::string& error) {
    Reader reader(path);
    if (!reader.ok()) {
        error = "cannot open " + path;
        return std::nullopt;
    }
    char magic[4];
    for (char& ch : magic) ch = reader.read<char>();
    const auto version = reader.read<std::uint32_t>();
    if (std::memcmp(magic, "GGUF", 4) != 0 || (version != 2 && version != 3)) {
        error = path + " is not GGUF v2/v3";
        return std::nullopt;
    }
    reader.read<std::uint64_t>(); // tensor count
    const auto kv_count = reader.read<std::uint64_t>();
    GgufTokenizerMetadata metadata;
    for (std::uint64_t i = 0; i < kv_count && reader.ok(); ++i) {
        const std::string key = reader.read_string();
        const auto type = reader.read<std::uint32_t>();
        const bool wanted = key.rfind("tokenizer.", 0) == 0;
        if (wanted && type == kString) {
            metadata.strings[key] = reader.read_string();
        } else if (wanted && type == kUint32) {
            metadata.integers[key] = reader.read<std::uint32_t>();
        } else if (wanted && type == kArray) {
            const auto element = reader.read<std::uint32_t>();
            const auto count = reader.read<std::uint64_t>();
            for (std::uint64_t j = 0; j < count && reader.ok(); ++j) {
                if (element == kString)
                    metadata.string_arrays[key].push_back(reader.read_string());
                else if (element == kInt32)
                    metadata.int_arrays[key].push_back(reader.read<std::int32_t>());
                else
                    reader.skip_value(element);
            }
        } else {
            reader.skip_value(type);
        }
    }
    if (!reader.ok()) {
        error = path + ": truncated metadata";
        return std::nullopt;
    }
    return metadata;
}

} // namespace lectern::test
