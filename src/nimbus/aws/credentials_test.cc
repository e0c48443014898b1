#include "nimbus/aws/credentials.h"

#include <gtest/gtest.h>

namespace nimbus::aws {
namespace {

TEST(CredentialStoreTest, ParsesSharedCredentialsFormat) {
  const auto store = CredentialStore::parse(R"(
# comment
[alice]
aws_access_key_id = AKIAALICE
aws_secret_access_key = alice/secret+key

[bob]
aws_access_key_id=AKIABOB
aws_secret_access_key=bobsecret
)");
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(store->size(), 2u);
  const auto* alice = store->find("AKIAALICE");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->secret_access_key, "alice/secret+key");
  EXPECT_EQ(alice->user_name, "alice");
  EXPECT_EQ(store->find("AKIAMALLORY"), nullptr);
}

TEST(CredentialStoreTest, RejectsIncompleteOrDuplicateKeys) {
  EXPECT_FALSE(CredentialStore::parse("[a]\naws_access_key_id = X\n"));
  EXPECT_FALSE(CredentialStore::parse(
      "[a]\naws_access_key_id = X\naws_secret_access_key = s\n[b]\naws_access_key_id = X\n"
      "aws_secret_access_key = t\n"));
  EXPECT_FALSE(CredentialStore::parse("aws_access_key_id = X\n"));
  EXPECT_FALSE(CredentialStore::parse("[unclosed\n"));
}

TEST(CredentialStoreTest, MissingFileIsAnError) {
  const auto store = CredentialStore::load_file("/nonexistent/credentials");
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message().find("/nonexistent/credentials"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::aws
