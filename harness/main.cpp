#include <unistd.h>

#include <cstdlib>

#include "harness/cli.h"

int main(int argc, char** argv) {
  // The CPU kernels run many short parallel regions per training step. With libgomp's default
  // spin (about 0.1 ms) threads fall asleep in the serial gaps between regions and the futex
  // wake-ups halve throughput on small models; spinning forever (OMP_WAIT_POLICY=active) is
  // fast on an idle machine but collapses when other processes hold the cores. A bounded spin of
  // a few milliseconds covers the gaps and still yields. libgomp reads these once at load time,
  // so the process re-executes itself with them unless the user set either.
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
    setenv("GOMP_SPINCOUNT", "10000000", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
  }
  return seqbench::run_cli(argc, argv);
}
