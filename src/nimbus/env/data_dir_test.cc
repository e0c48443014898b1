#include "nimbus/env/data_dir.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace nimbus::env {
namespace {

TEST(DataDirectoryTest, CreatesAndLocksExclusively) {
  const auto root = std::filesystem::temp_directory_path() /
                    ("nimbus-data-dir-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(root);
  {
    auto first = DataDirectory::open(root / "nested" / "data");
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_TRUE(std::filesystem::is_directory((*first)->path()));
    EXPECT_TRUE((*first)->path().is_absolute());
    auto second = DataDirectory::open(root / "nested" / "data");
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message().find("in use by another nimbus server"), std::string::npos);
  }
  // Released with the first owner.
  EXPECT_TRUE(DataDirectory::open(root / "nested" / "data"));
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace nimbus::env
