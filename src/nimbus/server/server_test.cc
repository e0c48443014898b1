#include "nimbus/server/server.h"

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

namespace nimbus::server {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = std::filesystem::temp_directory_path() /
                ("nimbus-server-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(data_dir_);
    config_.port = 0;
    config_.io_threads = 1;
    config_.data_dir = data_dir_;
  }
  void TearDown() override { std::filesystem::remove_all(data_dir_); }

  static http::response<http::string_body> get(const Server& server, const std::string& target) {
    asio::io_context context;
    asio::ip::tcp::socket socket(context);
    const auto endpoint = server.endpoint();
    const auto port =
        static_cast<unsigned short>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::string_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response;
  }

  std::filesystem::path data_dir_;
  ServerConfig config_;
};

TEST_F(ServerTest, HealthReportsVersionUptimeAndServices) {
  auto server = Server::start(config_);
  ASSERT_TRUE(server) << server.error().message();
  const auto response = get(**server, "/_nimbus/health");
  EXPECT_EQ(response.result_int(), 200);
  const auto body = boost::json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("status").as_string(), "running");
  EXPECT_EQ(body.at("version").as_string(), NIMBUS_VERSION);
  EXPECT_GE(body.at("uptime_seconds").as_double(), 0.0);
  EXPECT_EQ(body.at("services").as_object().at("sts").as_string(), "running");
  EXPECT_EQ(body.at("auth").as_string(), "off");
  EXPECT_EQ(body.at("durability").as_string(), "wal");
  EXPECT_TRUE(std::filesystem::is_directory(data_dir_ / "store"));
  EXPECT_EQ(body.at("data_dir").as_string(), std::filesystem::canonical(data_dir_).string());
  EXPECT_EQ(get(**server, "/_nimbus/nothing").result_int(), 404);
  (*server)->stop();
}

TEST_F(ServerTest, RefusesInvalidConfiguration) {
  config_.auth = "sigv4";
  auto no_keys = Server::start(config_);
  ASSERT_FALSE(no_keys);
  EXPECT_NE(no_keys.error().message().find("--credentials-file"), std::string::npos);

  config_.auth = "kerberos";
  EXPECT_FALSE(Server::start(config_));

  config_.auth = "off";
  config_.account_id = "12345";
  EXPECT_FALSE(Server::start(config_));

  config_.account_id = "000000000000";
  config_.durability = "eventually";
  EXPECT_FALSE(Server::start(config_));
}

TEST_F(ServerTest, TwoServersCannotShareADataDirectory) {
  auto first = Server::start(config_);
  ASSERT_TRUE(first);
  auto second = Server::start(config_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos);
}

}  // namespace
}  // namespace nimbus::server
