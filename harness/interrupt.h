// Ctrl-C / SIGTERM handling for long runs: the first signal asks the runner to stop after the
// current training step (the run is then stored as `partial`); a second one exits at once.
#pragma once
#include <stdexcept>

namespace seqbench {

class RunInterrupted : public std::runtime_error {
 public:
  RunInterrupted() : std::runtime_error("interrupted") {}
};

void install_interrupt_handlers();
bool interrupt_requested();
void throw_if_interrupted();

}  // namespace seqbench
