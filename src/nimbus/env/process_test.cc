#include "nimbus/env/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <sched.h>

#include <gtest/gtest.h>

namespace nimbus::env {
namespace {

struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) close(read);
    if (write >= 0) close(write);
  }
  std::string drain() {
    close(write);
    write = -1;
    std::string out;
    char buffer[256];
    ssize_t n;
    while ((n = ::read(read, buffer, sizeof buffer)) > 0) out.append(buffer, n);
    return out;
  }
};

TEST(SpawnProcess, RunsWithOnlyTheGivenEnvironmentAndDirectory) {
  Pipe out;
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo \"$GREETING $HOME\"; pwd; exit 3"};
  options.env = {"GREETING=hello"};
  options.working_dir = "/tmp";
  options.stdout_fd = out.write;
  auto child = spawn_process(options);
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_EQ(out.drain(), "hello \n/tmp\n");
  auto status = child->wait();
  EXPECT_EQ(status.kind, ExitStatus::Kind::kExited);
  EXPECT_EQ(status.code, 3);
  EXPECT_EQ(status.describe(), "exit status 3");
}

TEST(SpawnProcess, InheritedFdsArriveInOrderFrom3AndNothingElseLeaks) {
  // The test runner may have fd 3 open: it is set aside and put back.
  const int saved = fcntl(3, F_DUPFD_CLOEXEC, 100);
  struct Restore {
    int saved;
    ~Restore() {
      if (saved >= 0) {
        dup2(saved, 3);
        close(saved);
      }
    }
  } restore{saved};
  // Holds fd 3 while the pipes are made, so none of them gets it.
  const int placeholder = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_EQ(dup2(placeholder, 3), 3);
  if (placeholder != 3) close(placeholder);
  Pipe first, second, listing;
  // The second fd is the child's 3: placing the first at 3 must not close it
  // before it reaches 4.
  ASSERT_EQ(dup2(second.write, 3), 3);
  close(second.write);
  second.write = 3;
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "echo one >&3; echo two >&4; ls /proc/self/fd"};
  options.stdout_fd = listing.write;
  options.inherited_fds = {first.write, second.write};
  auto child = spawn_process(options);
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_EQ(child->wait().code, 0);
  EXPECT_EQ(first.drain(), "one\n");
  EXPECT_EQ(second.drain(), "two\n");
  // 0-2, the two inherited, and the directory ls reads: nothing of ours.
  EXPECT_EQ(listing.drain(), "0\n1\n2\n3\n4\n5\n");
}

TEST(SpawnProcess, AMissingProgramIsAnErrorNotAChild) {
  SpawnOptions options;
  options.argv = {"/nonexistent/bootstrap"};
  auto child = spawn_process(options);
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().message().find("execve"), std::string::npos) << child.error().message();
}

TEST(SpawnProcess, AMissingWorkingDirectoryIsAnError) {
  SpawnOptions options;
  options.argv = {"/bin/true"};
  options.working_dir = "/nonexistent-dir";
  auto child = spawn_process(options);
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().message().find("chdir"), std::string::npos);
}

TEST(SpawnProcess, SignallingTheGroupReachesGrandchildren) {
  Pipe out;
  SpawnOptions options;
  // The grandchild keeps the pipe open; only a group kill closes it.
  options.argv = {"/bin/sh", "-c", "sleep 60 & echo started; wait"};
  options.stdout_fd = out.write;
  auto child = spawn_process(options);
  ASSERT_TRUE(child);
  close(out.write);
  out.write = -1;
  char buffer[16];
  ASSERT_GT(read(out.read, buffer, sizeof buffer), 0);
  child->signal_group(SIGKILL);
  auto status = child->wait();
  EXPECT_EQ(status.kind, ExitStatus::Kind::kSignaled);
  EXPECT_EQ(status.describe(), "signal: killed");
  pollfd pfd{out.read, POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);  // EOF: the grandchild is gone too
  EXPECT_EQ(read(out.read, buffer, sizeof buffer), 0);
}

TEST(SpawnProcess, PidfdBecomesReadableOnExitAndTryWaitReaps) {
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "exit 0"};
  auto child = spawn_process(options);
  ASSERT_TRUE(child);
  pollfd pfd{child->pidfd(), POLLIN, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  auto status = child->try_wait();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->code, 0);
  EXPECT_FALSE(child->running());
}

TEST(SpawnProcess, ResourceLimitsApplyInTheChild) {
  Pipe out;
  SpawnOptions options;
  options.argv = {"/bin/sh", "-c", "ulimit -n"};
  options.limits = {ResourceLimit{RLIMIT_NOFILE, 77, 77}};
  options.stdout_fd = out.write;
  auto child = spawn_process(options);
  ASSERT_TRUE(child);
  EXPECT_EQ(out.drain(), "77\n");
}

}  // namespace
}  // namespace nimbus::env

namespace nimbus::env {
namespace {

TEST(SpawnProcess, NamespacesGiveAPrivateTmpAReadOnlyTreeAndOwnPids) {
  if (geteuid() != 0) GTEST_SKIP() << "namespaces need root";
  char tmp_template[] = "/tmp/nimbus-ns-XXXXXX";
  ASSERT_NE(mkdtemp(tmp_template), nullptr);
  std::string private_tmp = tmp_template;
  char code_template[] = "/tmp/nimbus-code-XXXXXX";
  ASSERT_NE(mkdtemp(code_template), nullptr);
  std::string code = code_template;
  Pipe out;
  SpawnOptions options;
  options.argv = {
      "/bin/sh", "-c",
      "echo x > /tmp/mine && echo $$ && (touch " + code +
          "/f 2>/dev/null && echo writable || echo read-only) && (touch /var/tmp/nimbus-x "
          "2>/dev/null && echo root writable || echo root read-only)"};
  options.namespace_flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  // The code lives under /tmp, which the private /tmp hides: it is held
  // first and bound back afterwards.
  using Kind = MountStep::Kind;
  options.mounts = {{Kind::kHold, code},
                    {Kind::kReadOnlyTree, "/"},
                    {Kind::kBind, "/tmp", private_tmp},
                    {Kind::kMakeDir, code},
                    {Kind::kBindHeldReadOnly, code}};
  options.stdout_fd = out.write;
  auto child = spawn_process(options);
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_EQ(out.drain(), "1\nread-only\nroot read-only\n");  // pid 1 in its own namespace
  EXPECT_EQ(child->wait().code, 0);
  EXPECT_TRUE(std::ifstream(private_tmp + "/mine").good());  // its /tmp was ours
  std::filesystem::remove_all(private_tmp);
  std::filesystem::remove_all(code);
}

}  // namespace
}  // namespace nimbus::env
