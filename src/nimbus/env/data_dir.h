#pragma once

// The one directory all of a server's state lives under. Opening it creates
// it and takes an exclusive lock, so two servers never share one.

#include <filesystem>
#include <memory>

#include "nimbus/core/result.h"

namespace nimbus::env {

class DataDirectory {
 public:
  static Result<std::unique_ptr<DataDirectory>> open(const std::filesystem::path& path);
  ~DataDirectory();
  DataDirectory(const DataDirectory&) = delete;
  DataDirectory& operator=(const DataDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }  // absolute

 private:
  DataDirectory(std::filesystem::path path, int lock_fd)
      : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::filesystem::path path_;
  int lock_fd_;
};

}  // namespace nimbus::env
