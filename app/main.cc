#include "nimbus/cli/cli.h"

int main(int argc, char** argv) { return nimbus::cli::run(argc, argv); }
