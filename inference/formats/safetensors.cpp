#include "inference/formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lectern::formats {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxHeaderBytes = 100u << 20; // the format's own limit

} // namespace

std::int64_t TensorView::elements() const {
    std::int64_t count = 1;
    for (const std::int64_t extent : shape) count *= extent;
    return count;
}

std::string TensorView::describe() const {
    std::string text(kernels::dtype_info(dtype).name);
    text += " [";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

Result<SafetensorsCheckpoint> SafetensorsCheckpoint::open_file(const std::string& path) {
    SafetensorsCheckpoint checkpoint;
    if (auto added = checkpoint.add_file(path); !added) return std::move(added).take_error();
    return checkpoint;
}

Result<SafetensorsCheckpoint> SafetensorsCheckpoint::open_folder(const std::string& folder) {
    namespace fs = std::filesystem;
    const fs::path index_path = fs::path(folder) / "model.safetensors.index.json";
    std::error_code error;
    if (!fs::exists(index_path, error)) {
        const fs::path single = fs::path(folder) / "model.safetensors";
        if (fs::exists(single, error)) return open_file(single.string());
        return Error{"checkpoint folder " + folder +
                     " has neither model.safetensors.index.json nor model.safetensors"};
    }
    std::ifstream stream(index_path, std::ios::binary);
    std::ostringstream text;
    text << stream.rdbuf();
    json index;
    try {
        index = json::parse(text.str());
    } catch (const json::parse_error& parse_error) {
        return Error{index_path.string() + " is not valid JSON: " + parse_error.what()};
    }
    if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object())
        return Error{index_path.string() + " has no `weight_map` object"};

    std::map<std::string, std::string> tensor_to_file;
    std::vector<std::string> shard_names;
    for (const auto& [name, file] : index.at("weight_map").items()) {
        if (!file.is_string())
            return Error{index_path.string() + ": the entry for " + name + " is not a file name"};
        const std::string shard = file.get<std::string>();
        if (shard.find('/') != std::string::npos || shard == "..")
            return Error{index_path.string() + ": shard name " + shard + " (for " + name +
                         ") is not a plain file name"};
        tensor_to_file[name] = shard;
        if (std::find(shard_names.begin(), shard_names.end(), shard) == shard_names.end())
            shard_names.push_back(shard);
    }
    std::sort(shard_names.begin(), shard_names.end());

    SafetensorsCheckpoint checkpoint;
    for (const std::string& shard : shard_names) {
        const fs::path shard_path = fs::path(folder) / shard;
        if (!fs::exists(shard_path, error))
            return Error{"shard " + shard_path.string() + " listed in " + index_path.string() +
                         " is missing"};
        if (auto added = checkpoint.add_file(shard_path.string()); !added)
            return std::move(added).take_error();
    }
    for (const auto& [name, shard] : tensor_to_file) {
        const TensorView* view = checkpoint.find(name);
        if (!view)
            return Error{"tensor " + name + " is listed in " + index_path.string() + " but not found in " +
                         shard};
        if (fs::path(view->file).filename() != shard)
            return Error{"tensor " + name + " is listed in " + shard + " but found in " + view->file};
    }
    return checkpoint;
}

Result<void> SafetensorsCheckpoint::add_file(const std::string& path) {
    auto mapped = MappedFile::open(path);
    if (!mapped) return std::move(mapped).take_error();
    MappedFile file = std::move(*mapped);
    auto length_bytes = file.slice(0, 8);
    if (!length_bytes) return Error{path + " is too short to be a safetensors file (truncated?)"};
    std::uint64_t header_length = 0;
    std::memcpy(&header_length, length_bytes->data(), 8); // little-endian on every platform we build for
    if (header_length > kMaxHeaderBytes)
        return Error{path + ": safetensors header length " + std::to_string(header_length) +
                     " is implausible (corrupt file?)"};
    auto header_bytes = file.slice(8, header_length);
    if (!header_bytes)
        return Error{path + ": the safetensors header runs past the end of the file (truncated?)"};
    json header;
    try {
        header = json::parse(reinterpret_cast<const char*>(header_bytes->data()),
                             reinterpret_cast<const char*>(header_bytes->data()) + header_bytes->size());
    } catch (const json::parse_error& parse_error) {
        return Error{path + ": the safetensors header is not valid JSON: " + parse_error.what()};
    }
    if (!header.is_object()) return Error{path + ": the safetensors header is not a JSON object"};

    const std::uint64_t data_start = 8 + header_length;
    const std::uint64_t data_size = file.size() - data_start;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    std::vector<TensorView> views;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") continue;
        const std::string where = "tensor " + name + " in " + path;
        if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
            !entry.contains("data_offsets"))
            return Error{where + ": header entry needs dtype, shape and data_offsets"};
        if (!entry.at("dtype").is_string()) return Error{where + ": dtype is not a string"};
        const std::string dtype_name = entry.at("dtype").get<std::string>();
        const auto dtype = kernels::dtype_from_name(dtype_name);
        if (!dtype) return Error{where + ": unsupported dtype " + dtype_name};
        TensorView view;
        view.name = name;
        view.dtype = *dtype;
        view.file = path;
        const json& shape = entry.at("shape");
        if (!shape.is_array()) return Error{where + ": shape is not a list"};
        std::int64_t elements = 1;
        for (const json& extent : shape) {
            if (!extent.is_number_unsigned())
                return Error{where + ": shape has a non-integer or negative extent"};
            const std::uint64_t value = extent.get<std::uint64_t>();
            if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() /
                                                   std::max<std::int64_t>(elements, 1)))
                return Error{where + ": shape is too large"};
            view.shape.push_back(static_cast<std::int64_t>(value));
            elements *= static_cast<std::int64_t>(value);
        }
        const json& offsets = entry.at("data_offsets");
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            return Error{where + ": data_offsets must be two non-negative integers"};
        const std::uint64_t begin = offsets[0].get<std::uint64_t>();
        const std::uint64_t end = offsets[1].get<std::uint64_t>();
        if (end < begin) return Error{where + ": data_offsets end before they begin"};
        const auto expected = kernels::dtype_bytes(*dtype, elements);
        if (!expected || static_cast<std::uint64_t>(*expected) != end - begin)
            return Error{where + ": " + view.describe() + " needs " +
                         (expected ? std::to_string(*expected) : "?") + " bytes but data_offsets cover " +
                         std::to_string(end - begin)};
        if (end > data_size)
            return Error{where + ": its bytes end at " + std::to_string(end) + " but the file holds only " +
                         std::to_string(data_size) + " data bytes (truncated shard?)"};
        auto bytes = file.slice(data_start + begin, end - begin);
        if (!bytes) return std::move(bytes).take_error();
        view.data = *bytes;
        if (tensors_.count(name)) return Error{where + ": the same tensor name appears in another shard too"};
        ranges.emplace_back(begin, end);
        views.push_back(std::move(view));
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second)
            return Error{path + ": two tensors' data_offsets overlap (corrupt header)"};
    for (TensorView& view : views) tensors_.emplace(view.name, std::move(view));
    files_.push_back(std::move(file));
    return {};
}

const TensorView* SafetensorsCheckpoint::find(const std::string& name) const {
    const auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
}

std::uint64_t SafetensorsCheckpoint::total_bytes() const {
    std::uint64_t total = 0;
    for (const MappedFile& file : files_) total += file.size();
    return total;
}

Result<void> write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors) {
    json header = json::object();
    std::uint64_t offset = 0;
    for (const TensorToWrite& tensor : tensors) {
        std::int64_t elements = 1;
        for (const std::int64_t extent : tensor.shape) elements *= extent;
        const auto expected = kernels::dtype_bytes(tensor.dtype, elements);
        if (!expected || static_cast<std::size_t>(*expected) != tensor.bytes.size())
            return Error{"write_safetensors: tensor " + tensor.name + " has " +
                         std::to_string(tensor.bytes.size()) +
                         " bytes, which does not match its dtype and shape"};
        header[tensor.name] = {{"dtype", std::string(kernels::dtype_info(tensor.dtype).name)},
                               {"shape", tensor.shape},
                               {"data_offsets", {offset, offset + tensor.bytes.size()}}};
        offset += tensor.bytes.size();
    }
    std::string header_text = header.dump();
    header_text.append((8 - header_text.size() % 8) % 8, ' ');
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return Error{"cannot create " + path};
    const std::uint64_t header_length = header_text.size();
    out.write(reinterpret_cast<const char*>(&header_length), 8);
    out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
    for (const TensorToWrite& tensor : tensors)
        out.write(reinterpret_cast<const char*>(tensor.bytes.data()),
                  static_cast<std::streamsize>(tensor.bytes.size()));
    if (!out) return Error{"failed writing " + path + " (disk full?)"};
    return {};
}

} // namespace lectern::formats
