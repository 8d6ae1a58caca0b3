// Timing one measured region. The profiler only talks to this interface, so the CUDA backend can
// time with events recorded on its stream (the clock that sees asynchronous kernels) while the
// CPU times with steady_clock; everything above the timer stays the same.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "ops/tensor.h"

namespace seqbench {

class Timer {
 public:
  virtual ~Timer() = default;
  virtual void start() = 0;
  // Elapsed milliseconds since start(); waits for the device's work to finish first.
  virtual double stop_ms() = 0;
  virtual std::string clock_name() const = 0;
};

class SteadyClockTimer : public Timer {
 public:
  void start() override { begin_ = std::chrono::steady_clock::now(); }
  double stop_ms() override {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin_).count();
  }
  std::string clock_name() const override { return "steady_clock"; }

 private:
  std::chrono::steady_clock::time_point begin_{};
};

// Process CPU time (all threads): on a shared machine it leaves out the time other processes
// held the cores, so repeated runs agree far better than wall time does. With several threads it
// also counts their waiting (OpenMP spins at barriers); use it with one thread.
class ProcessCpuTimer : public Timer {
 public:
  void start() override;
  double stop_ms() override;
  std::string clock_name() const override { return "process_cpu_time"; }

 private:
  double begin_ms_ = 0;
};

// The right timer for work on `device`. A device without a registered timer is timed on the
// host clock (correct for synchronous execution).
using TimerFactory = std::unique_ptr<Timer> (*)();
void register_timer_factory(Device device, TimerFactory factory);
std::unique_ptr<Timer> make_timer(Device device);
// clock "wall" is make_timer(device); "cpu" the process CPU clock (CPU device only). Throws
// std::invalid_argument for another clock or device.
std::unique_ptr<Timer> make_timer(Device device, const std::string& clock);

}  // namespace seqbench
