#include "nimbus/services/lambda/internal/code_store.h"

#include <sys/stat.h>
#include <zip.h>

#include <fstream>
#include <list>

#include <gtest/gtest.h>

#include "nimbus/aws/encoding.h"
#include "nimbus/core/strings.h"

namespace nimbus::services::lambda::internal {
namespace {
namespace fs = std::filesystem;

// Builds a zip in memory with libzip, the way a packaging tool would.
class ZipBuilder {
 public:
  ZipBuilder() {
    zip_error_t error;
    zip_error_init(&error);
    source_ = zip_source_buffer_create(nullptr, 0, 0, &error);
    zip_source_keep(source_);
    archive_ = zip_open_from_source(source_, ZIP_TRUNCATE, &error);
    zip_error_fini(&error);
  }
  ~ZipBuilder() { zip_source_free(source_); }

  ZipBuilder& file(const std::string& name, const std::string& content, mode_t mode = 0644) {
    contents_.push_back(content);
    auto* data = zip_source_buffer(archive_, contents_.back().data(), contents_.back().size(), 0);
    const auto index = zip_file_add(archive_, name.c_str(), data, ZIP_FL_OVERWRITE);
    zip_file_set_external_attributes(archive_, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                     static_cast<zip_uint32_t>(S_IFREG | mode) << 16);
    return *this;
  }
  ZipBuilder& symlink(const std::string& name, const std::string& target) {
    contents_.push_back(target);
    auto* data = zip_source_buffer(archive_, contents_.back().data(), contents_.back().size(), 0);
    const auto index = zip_file_add(archive_, name.c_str(), data, ZIP_FL_OVERWRITE);
    zip_file_set_external_attributes(archive_, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                     static_cast<zip_uint32_t>(S_IFLNK | 0777) << 16);
    return *this;
  }

  std::string bytes() {
    zip_close(archive_);
    zip_source_open(source_);
    zip_source_seek(source_, 0, SEEK_END);
    const auto size = zip_source_tell(source_);
    zip_source_seek(source_, 0, SEEK_SET);
    std::string out(static_cast<std::size_t>(size), '\0');
    zip_source_read(source_, out.data(), static_cast<zip_uint64_t>(size));
    zip_source_close(source_);
    return out;
  }

 private:
  zip_source_t* source_;
  zip_t* archive_;
  std::list<std::string> contents_;
};

class CodeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("nimbus-code-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path root_;
};

TEST_F(CodeStoreTest, UnpacksFilesKeepingTheExecuteBit) {
  const auto zip = ZipBuilder()
                       .file("bootstrap", "#!/bin/sh\n", 0755)
                       .file("lib/handler.js", "exports.handler = 1;\n")
                       .bytes();
  CodeStore store(root_);
  ASSERT_TRUE(store.open());
  auto code = store.put(zip);
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(code->size, zip.size());
  // CodeSha256 is the base64 (not hex) SHA-256 of the zip, as Lambda reports it.
  EXPECT_EQ(code->sha256_base64, aws::base64_encode(aws::sha256(zip)));
  EXPECT_EQ(code->sha256_hex, hex_encode(aws::sha256(zip)));
  const auto dir = store.dir(code->sha256_hex);
  EXPECT_EQ(read(dir / "lib/handler.js"), "exports.handler = 1;\n");
  EXPECT_EQ(fs::status(dir / "bootstrap").permissions() & fs::perms::owner_exec,
            fs::perms::owner_exec);
  EXPECT_EQ(fs::status(dir / "lib/handler.js").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_EQ(read(store.zip(code->sha256_hex)), zip);
}

TEST_F(CodeStoreTest, RefusesWhatIsNotAZip) {
  CodeStore store(root_);
  ASSERT_TRUE(store.open());
  auto code = store.put("this is not a zip file");
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().code(), "InvalidParameterValueException");
  EXPECT_EQ(code.error().message(),
            "Could not unzip uploaded file. Please check your file, then try to upload again.");
  store.collect({});
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(CodeStoreTest, RefusesEntriesThatEscapeTheTarget) {
  for (const auto& name : {std::string("../escape.txt"), std::string("a/../../escape.txt"),
                           std::string("/etc/escape.txt")}) {
    const auto zip = ZipBuilder().file(name, "x").bytes();
    auto unpacked = unzip_into(zip, root_ / "target");
    EXPECT_FALSE(unpacked) << name;
    EXPECT_FALSE(fs::exists(root_ / "escape.txt"));
    fs::remove_all(root_ / "target");
  }
}

TEST_F(CodeStoreTest, KeepsSymlinksButNeverWritesThroughOne) {
  auto fine = unzip_into(ZipBuilder().file("real.txt", "r").symlink("link.txt", "real.txt").bytes(),
                         root_ / "ok");
  ASSERT_TRUE(fine) << fine.error().message();
  EXPECT_EQ(fs::read_symlink(root_ / "ok/link.txt"), "real.txt");

  fs::create_directories(root_ / "outside");
  const auto zip =
      ZipBuilder().symlink("dir", (root_ / "outside").string()).file("dir/evil.txt", "x").bytes();
  EXPECT_FALSE(unzip_into(zip, root_ / "bad"));
  EXPECT_FALSE(fs::exists(root_ / "outside/evil.txt"));
}

TEST_F(CodeStoreTest, RefusesArchivesThatUnpackPastTheLimit) {
  const auto zip = ZipBuilder().file("big.bin", std::string(4096, 'a')).bytes();
  auto unpacked = unzip_into(zip, root_ / "target", 1000);
  ASSERT_FALSE(unpacked);
  EXPECT_EQ(unpacked.error().message(), "Unzipped size must be smaller than 1000 bytes");
}

TEST_F(CodeStoreTest, CollectKeepsReferencedCodeAndRestoresALostDirectory) {
  CodeStore store(root_);
  ASSERT_TRUE(store.open());
  auto kept = store.put(ZipBuilder().file("a.txt", "a").bytes());
  auto dropped = store.put(ZipBuilder().file("b.txt", "b").bytes());
  ASSERT_TRUE(kept && dropped);
  store.release(kept->sha256_hex);
  store.release(dropped->sha256_hex);
  store.collect({kept->sha256_hex});
  EXPECT_TRUE(fs::exists(store.zip(kept->sha256_hex)));
  EXPECT_FALSE(fs::exists(store.zip(dropped->sha256_hex)));
  EXPECT_FALSE(fs::exists(store.dir(dropped->sha256_hex)));

  fs::remove_all(store.dir(kept->sha256_hex));
  ASSERT_TRUE(store.ensure_unpacked(kept->sha256_hex));
  EXPECT_EQ(read(store.dir(kept->sha256_hex) / "a.txt"), "a");
}

}  // namespace
}  // namespace nimbus::services::lambda::internal
