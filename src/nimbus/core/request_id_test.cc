#include "nimbus/core/request_id.h"

#include <set>

#include <gtest/gtest.h>

namespace nimbus {
namespace {

// xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx, lower-case hex.
bool is_uuid_v4(const std::string& id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash != (c == '-')) return false;
    if (!dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return id[14] == '4' && std::string_view("89ab").find(id[19]) != std::string_view::npos;
}

TEST(RequestIdTest, IsAVersion4Uuid) {
  EXPECT_FALSE(is_uuid_v4("c6104cbe-af31-11e0-8154-cbc7ccf896c7"));  // version 1
  for (int i = 0; i < 100; ++i) {
    const auto id = new_request_id();
    EXPECT_TRUE(is_uuid_v4(id)) << id;
  }
}

TEST(RequestIdTest, IdsAreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(new_request_id());
  EXPECT_EQ(ids.size(), 10000u);
}

}  // namespace
}  // namespace nimbus
