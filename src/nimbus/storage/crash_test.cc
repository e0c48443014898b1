// Crash test: a child process writes batches and reports each acknowledged
// one; it is SIGKILLed at random moments, the store is reopened, and every
// acknowledged batch must be there in full, and no batch in part.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "nimbus/storage/test_store.h"

extern char** environ;

namespace nimbus::storage {
namespace {

struct ChildRun {
  std::map<std::string, int> acknowledged;  // batch id -> parts
  bool ready = false;
};

// Runs the child for about `run_for` after it is ready, then SIGKILLs it.
ChildRun run_and_kill(const std::filesystem::path& dir, int cycle,
                      std::chrono::milliseconds run_for) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  const std::string dir_arg = dir.string();
  const std::string cycle_arg = std::to_string(cycle);
  char* argv[] = {const_cast<char*>(NIMBUS_CRASH_CHILD), const_cast<char*>(dir_arg.c_str()),
                  const_cast<char*>(cycle_arg.c_str()), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, NIMBUS_CRASH_CHILD, &actions, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);

  std::string output;
  std::thread killer;
  char buffer[65536];
  bool armed = false;
  for (;;) {
    const auto n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
    if (!armed && output.find("READY\n") != std::string::npos) {
      armed = true;
      killer = std::thread([pid, run_for] {
        std::this_thread::sleep_for(run_for);
        ::kill(pid, SIGKILL);
      });
    }
  }
  ::close(pipe_fds[0]);
  if (killer.joinable()) killer.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended on its own: " << output;

  ChildRun run;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (lines.eof()) break;  // an unterminated last line was never fully reported
    if (line == "READY") run.ready = true;
    std::istringstream fields(line);
    std::string word, id;
    int parts = 0;
    if (fields >> word >> id >> parts && word == "ACK") run.acknowledged[id] = parts;
  }
  return run;
}

TEST(CrashTest, AcknowledgedBatchesSurviveSigkillAndNoneIsPartial) {
  TempDir dir;
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::map<std::string, int> all_acknowledged;
  constexpr int kCycles = 50;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    const auto run = run_and_kill(dir.path(), cycle, std::chrono::milliseconds(2 + rng() % 40));
    ASSERT_TRUE(run.ready);
    all_acknowledged.insert(run.acknowledged.begin(), run.acknowledged.end());

    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    const auto items = store->open_keyspace("items").value();
    const auto index = store->open_keyspace("index").value();

    // Every batch acknowledged in any cycle so far is there in full.
    for (const auto& [id, parts] : all_acknowledged) {
      ASSERT_EQ(store->get(index, id).value(), std::to_string(parts)) << "lost batch " << id;
      for (int k = 0; k < parts; ++k) {
        ASSERT_TRUE(store->get(items, id + "/" + std::to_string(k)).value()) << "partial " << id;
      }
    }
    // Every batch that is there at all is there in full, acknowledged or not.
    std::map<std::string, int> item_counts;
    for (const auto& item : store->scan(items, {}).value().items) {
      ++item_counts[item.key.substr(0, item.key.find('/'))];
    }
    std::size_t batches = 0;
    for (const auto& item : store->scan(index, {}).value().items) {
      ++batches;
      EXPECT_EQ(item_counts[item.key], std::stoi(item.value)) << "partial batch " << item.key;
      item_counts.erase(item.key);
    }
    EXPECT_TRUE(item_counts.empty()) << "items without their index entry, e.g. "
                                     << (item_counts.empty() ? "" : item_counts.begin()->first);
    EXPECT_GE(batches, all_acknowledged.size());
  }
  EXPECT_GT(all_acknowledged.size(), static_cast<std::size_t>(kCycles));
}

}  // namespace
}  // namespace nimbus::storage
