#include "nimbus/services/lambda/internal/code_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <array>
#include <memory>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/request_id.h"
#include "nimbus/core/strings.h"

namespace nimbus::services::lambda::internal {
namespace fs = std::filesystem;
namespace {

AwsError cannot_unzip() {
  return AwsError(
      "InvalidParameterValueException",
      "Could not unzip uploaded file. Please check your file, then try to upload again.", 400);
}

AwsError too_big_unzipped(std::uint64_t limit) {
  return AwsError("InvalidParameterValueException",
                  fmt::format("Unzipped size must be smaller than {} bytes", limit), 400);
}

struct ZipCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct ZipFileCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// A relative path that stays under the target: no absolute paths, no "..".
std::optional<fs::path> safe_relative(std::string_view name) {
  if (name.empty() || name.starts_with('/')) return std::nullopt;
  fs::path out;
  for (const auto part : split(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    out /= std::string(part);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

Result<void> write_file_durably(const fs::path& path, std::string_view bytes) {
  const fs::path temporary = path.string() + ".tmp-" + new_request_id();
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return AwsError::internal(
        fmt::format("cannot write {}: {}", temporary.string(), strerror(errno)));
  }
  FdCloser closer{fd};
  if (!write_all(fd, bytes.data(), bytes.size()) || ::fsync(fd) != 0) {
    ::unlink(temporary.c_str());
    return AwsError::internal(
        fmt::format("cannot write {}: {}", temporary.string(), strerror(errno)));
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    ::unlink(temporary.c_str());
    return AwsError::internal(fmt::format("cannot write {}: {}", path.string(), error.message()));
  }
  return ok();
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Result<std::uint64_t> unzip_into(std::string_view zip, const fs::path& target,
                                 std::uint64_t max_unzipped_bytes) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return cannot_unzip();
  }
  std::unique_ptr<zip_t, ZipCloser> archive(zip_open_from_source(source, ZIP_RDONLY, &error));
  zip_error_fini(&error);
  if (!archive) {
    zip_source_free(source);
    return cannot_unzip();
  }

  struct Entry {
    zip_uint64_t index;
    fs::path path;
    enum class Kind { kFile, kDirectory, kSymlink } kind;
    mode_t mode;
  };
  std::vector<Entry> entries;
  std::uint64_t declared = 0;
  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME)) {
      return cannot_unzip();
    }
    const std::string_view name(stat.name);
    auto path = safe_relative(name);
    if (!path) {
      if (name == "./" || name == "/") continue;
      return cannot_unzip();
    }
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    zip_file_get_external_attributes(archive.get(), index, 0, &opsys, &attributes);
    const mode_t unix_mode = opsys == ZIP_OPSYS_UNIX ? static_cast<mode_t>(attributes >> 16) : 0;
    Entry entry{index, std::move(*path), Entry::Kind::kFile, unix_mode};
    if (name.ends_with('/') || S_ISDIR(unix_mode)) {
      entry.kind = Entry::Kind::kDirectory;
    } else if (S_ISLNK(unix_mode)) {
      entry.kind = Entry::Kind::kSymlink;
    }
    if (stat.valid & ZIP_STAT_SIZE) declared += stat.size;
    entries.push_back(std::move(entry));
  }
  if (declared > max_unzipped_bytes) return too_big_unzipped(max_unzipped_bytes);
  // A symbolic link may not be the parent of another entry: writing through
  // it could land outside the target. (Each entry's parents against the set
  // of links: linear in the archive, whatever it holds.)
  std::set<fs::path> links;
  for (const auto& entry : entries) {
    if (entry.kind == Entry::Kind::kSymlink) links.insert(entry.path);
  }
  if (!links.empty()) {
    for (const auto& entry : entries) {
      for (auto parent = entry.path.parent_path(); !parent.empty(); parent = parent.parent_path()) {
        if (links.contains(parent)) return cannot_unzip();
      }
    }
  }

  std::error_code fs_error;
  fs::create_directories(target, fs_error);
  if (fs_error)
    return AwsError::internal(
        fmt::format("cannot create {}: {}", target.string(), fs_error.message()));

  std::uint64_t written = 0;
  std::array<char, 64 * 1024> buffer;
  auto read_entry = [&](const Entry& entry, auto&& sink) -> Result<void> {
    std::unique_ptr<zip_file_t, ZipFileCloser> file(zip_fopen_index(archive.get(), entry.index, 0));
    if (!file) return cannot_unzip();
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buffer.data(), buffer.size());
      if (n < 0) return cannot_unzip();
      if (n == 0) break;
      written += static_cast<std::uint64_t>(n);
      if (written > max_unzipped_bytes) return too_big_unzipped(max_unzipped_bytes);
      if (!sink(buffer.data(), static_cast<std::size_t>(n))) {
        return AwsError::internal(fmt::format("cannot write code: {}", strerror(errno)));
      }
    }
    return ok();
  };

  // Directories and files first; links last, so nothing is written through one.
  for (const auto& entry : entries) {
    const fs::path path = target / entry.path;
    if (entry.kind == Entry::Kind::kDirectory) {
      fs::create_directories(path, fs_error);
      if (fs_error) return cannot_unzip();
      continue;
    }
    if (entry.kind != Entry::Kind::kFile) continue;
    fs::create_directories(path.parent_path(), fs_error);
    if (fs_error) return cannot_unzip();
    // Lambda runs code as read-only files; the execute bits are what matter.
    const mode_t mode = (entry.mode & 0111) != 0 ? 0755 : 0644;
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return cannot_unzip();
    FdCloser closer{fd};
    auto copied = read_entry(
        entry, [fd](const char* data, std::size_t size) { return write_all(fd, data, size); });
    if (!copied) return copied.error();
    ::fchmod(fd, mode);
  }
  for (const auto& entry : entries) {
    if (entry.kind != Entry::Kind::kSymlink) continue;
    std::string link_target;
    auto read = read_entry(entry, [&link_target](const char* data, std::size_t size) {
      link_target.append(data, size);
      return true;
    });
    if (!read) return read.error();
    const fs::path path = target / entry.path;
    fs::create_directories(path.parent_path(), fs_error);
    if (fs_error || ::symlink(link_target.c_str(), path.c_str()) != 0) return cannot_unzip();
  }
  // Directories readable by the sandbox's user.
  for (auto it = fs::recursive_directory_iterator(target, fs_error);
       !fs_error && it != fs::recursive_directory_iterator(); it.increment(fs_error)) {
    if (it->is_directory(fs_error) && !it->is_symlink(fs_error)) ::chmod(it->path().c_str(), 0755);
  }
  ::chmod(target.c_str(), 0755);
  return written;
}

Result<void> CodeStore::open() {
  std::error_code error;
  fs::create_directories(root_, error);
  if (error) {
    return AwsError::internal(fmt::format("cannot create {}: {}", root_.string(), error.message()));
  }
  // What an interrupted put() left behind.
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) {
      fs::remove_all(entry.path(), error);
    }
  }
  return ok();
}

Result<void> CodeStore::unpack(std::string_view zip_bytes, const std::string& sha256_hex) {
  const fs::path final_dir = dir(sha256_hex);
  std::error_code error;
  if (fs::is_directory(final_dir, error)) return ok();
  const fs::path temporary = root_ / (sha256_hex + ".tmp-" + new_request_id());
  auto unpacked = unzip_into(zip_bytes, temporary);
  if (!unpacked) {
    fs::remove_all(temporary, error);
    return unpacked.error();
  }
  fs::rename(temporary, final_dir, error);
  if (error) {
    fs::remove_all(temporary, error);
    // Another put() of the same zip got there first.
    if (fs::is_directory(final_dir, error)) return ok();
    return AwsError::internal(fmt::format("cannot place code at {}", final_dir.string()));
  }
  return ok();
}

Result<StoredCode> CodeStore::put(std::string_view zip_bytes) {
  StoredCode code;
  const std::string digest = aws::sha256(zip_bytes);
  code.sha256_base64 = aws::base64_encode(digest);
  code.sha256_hex = hex_encode(digest);
  code.size = zip_bytes.size();
  {
    std::lock_guard lock(mutex_);
    held_.insert(code.sha256_hex);
  }
  auto release_on_error = [&](AwsError error) -> Result<StoredCode> {
    release(code.sha256_hex);
    return error;
  };
  // Unpack first: a zip that does not unpack is refused before anything is kept.
  if (auto unpacked = unpack(zip_bytes, code.sha256_hex); !unpacked) {
    return release_on_error(unpacked.error());
  }
  std::error_code error;
  if (!fs::exists(zip(code.sha256_hex), error)) {
    // The zip is the durable copy; the directory can be rebuilt from it.
    if (auto stored = write_file_durably(zip(code.sha256_hex), zip_bytes); !stored) {
      return release_on_error(stored.error());
    }
    sync_directory(root_);
  }
  return code;
}

void CodeStore::release(const std::string& sha256_hex) {
  std::lock_guard lock(mutex_);
  if (auto it = held_.find(sha256_hex); it != held_.end()) held_.erase(it);
}

Result<std::optional<std::string>> CodeStore::read_zip(const std::string& sha256_hex) const {
  const fs::path zip_path = zip(sha256_hex);
  const int fd = ::open(zip_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::optional<std::string>();
  FdCloser closer{fd};
  std::string bytes;
  std::array<char, 64 * 1024> buffer;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return AwsError::internal(fmt::format("cannot read {}", zip_path.string()));
    if (n == 0) break;
    bytes.append(buffer.data(), static_cast<std::size_t>(n));
  }
  return std::optional<std::string>(std::move(bytes));
}

Result<void> CodeStore::ensure_unpacked(const std::string& sha256_hex) {
  std::error_code error;
  if (fs::is_directory(dir(sha256_hex), error)) return ok();
  auto bytes = read_zip(sha256_hex);
  if (!bytes) return bytes.error();
  if (!*bytes) {
    return AwsError::internal(fmt::format("the code {} is missing", zip(sha256_hex).string()));
  }
  return unpack(**bytes, sha256_hex);
}

void CodeStore::collect(const std::set<std::string>& referenced_hex) {
  std::set<std::string> keep = referenced_hex;
  {
    std::lock_guard lock(mutex_);
    keep.insert(held_.begin(), held_.end());
  }
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root_, error)) {
    std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) continue;  // a put() in progress
    if (name.ends_with(".zip")) name.resize(name.size() - 4);
    if (keep.contains(name)) continue;
    spdlog::debug("lambda: removing unreferenced code {}", entry.path().string());
    fs::remove_all(entry.path(), error);
  }
}

}  // namespace nimbus::services::lambda::internal
