#include "inference/formats/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace lectern::formats {

Result<MappedFile> MappedFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{path + ": cannot open: " + std::strerror(errno)};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const std::string reason = std::strerror(errno);
        ::close(fd);
        return Error{path + ": cannot stat: " + reason};
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return Error{path + ": not a regular file"};
    }
    MappedFile file;
    file.path_ = path;
    file.size_ = static_cast<std::uint64_t>(st.st_size);
    if (file.size_ > 0) {
        void* map = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            const std::string reason = std::strerror(errno);
            ::close(fd);
            return Error{path + ": cannot map: " + reason};
        }
        file.data_ = static_cast<const std::byte*>(map);
    }
    ::close(fd); // the mapping keeps the file alive
    return file;
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(const_cast<std::byte*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    std::swap(path_, other.path_);
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
}

Result<std::span<const std::byte>> MappedFile::slice(std::uint64_t offset, std::uint64_t length) const {
    if (offset > size_ || length > size_ - offset)
        return Error{path_ + ": range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                     ") is past the end of the file (" + std::to_string(size_) + " bytes)"};
    return std::span<const std::byte>(data_ + offset, static_cast<std::size_t>(length));
}

} // namespace lectern::formats
