#include "nimbus/env/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace nimbus::env {

Result<std::unique_ptr<DataDirectory>> DataDirectory::open(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return AwsError::internal(
        fmt::format("cannot create data directory {}: {}", path.string(), ec.message()));
  }
  auto absolute = std::filesystem::canonical(path, ec);
  if (ec) {
    return AwsError::internal(
        fmt::format("cannot resolve data directory {}: {}", path.string(), ec.message()));
  }
  const auto lock_path = absolute / "nimbus.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return AwsError::internal(
        fmt::format("cannot open {}: {}", lock_path.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return AwsError::internal(
        fmt::format("data directory {} is in use by another nimbus server", absolute.string()));
  }
  return std::unique_ptr<DataDirectory>(new DataDirectory(std::move(absolute), fd));
}

DataDirectory::~DataDirectory() { ::close(lock_fd_); }

}  // namespace nimbus::env
