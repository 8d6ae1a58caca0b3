#include "harness/timer.h"

#include <time.h>

#include <stdexcept>

namespace seqbench {
namespace {

TimerFactory& factory_slot(Device device) {
  static TimerFactory factories[2] = {nullptr, nullptr};
  return factories[static_cast<int>(device)];
}

double process_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) * 1e-6;
}

}  // namespace

void ProcessCpuTimer::start() { begin_ms_ = process_cpu_ms(); }

double ProcessCpuTimer::stop_ms() { return process_cpu_ms() - begin_ms_; }

void register_timer_factory(Device device, TimerFactory factory) { factory_slot(device) = factory; }

std::unique_ptr<Timer> make_timer(Device device) {
  if (TimerFactory factory = factory_slot(device)) return factory();
  return std::make_unique<SteadyClockTimer>();
}

}  // namespace seqbench

namespace seqbench {

std::unique_ptr<Timer> make_timer(Device device, const std::string& clock) {
  if (clock == "wall") return make_timer(device);
  if (clock == "cpu") {
    if (device != Device::cpu)
      throw std::invalid_argument("the cpu clock times CPU work only; device '" + device_name(device) + "' needs \"wall\"");
    return std::make_unique<ProcessCpuTimer>();
  }
  throw std::invalid_argument("unknown profile clock '" + clock + "' (expected wall or cpu)");
}

}  // namespace seqbench
