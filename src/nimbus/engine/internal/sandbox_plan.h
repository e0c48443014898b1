#pragma once

// The message that turns a prepared sandbox into a function instance: sent
// by the engine to a waiting `nimbus-init --plan` over its fd 4 (a
// SOCK_SEQPACKET socket), as one message. Shared by both ends, so it holds
// plain layout only: nimbus-init includes it and uses no library.
// Documented in docs/formats/sandbox-plan.md.
//
// Layout, in host byte order (both ends are the same build):
//   PlanHeader
//   PlanLimit × limit_count
//   NUL-terminated strings: working directory, code mount target ("" for
//   none), argv × argc, environment × env_count
// With a code mount target, the message carries one descriptor
// (SCM_RIGHTS): a detached, read-only mount tree (open_tree(2)) that
// nimbus-init moves to the target.

#include <cstdint>

namespace nimbus::engine::internal {

inline constexpr std::uint32_t kPlanMagic = 0x314c504e;  // "NPL1"
inline constexpr std::size_t kMaxPlanBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxPlanLimits = 16;
inline constexpr std::uint32_t kMaxPlanStrings = 1024;

struct PlanHeader {
  std::uint32_t magic;
  std::uint32_t uid;
  std::uint32_t gid;
  std::uint32_t limit_count;
  std::uint32_t argc;
  std::uint32_t env_count;
  std::int32_t nice;  // the runtime's scheduling priority (the server's own)
  std::uint32_t reserved;
};

struct PlanLimit {
  std::int32_t resource;  // RLIMIT_*
  std::uint32_t reserved;
  std::uint64_t soft;
  std::uint64_t hard;
};

}  // namespace nimbus::engine::internal
