#pragma once

// The `nimbus` command line: `nimbus server` runs the server; `nimbus invoke`
// and `nimbus functions` talk to a running server over HTTP.

namespace nimbus::cli {

// Returns the process exit code.
int run(int argc, char** argv);

}  // namespace nimbus::cli
