// Device work recorded once as a CUDA graph and replayed, so that a training step's ~150 kernel
// launches cost the host one graph launch (the launch-bound regime of small models). Plain C++:
// in CPU-only builds, and for Device::cpu work, run() simply runs the work.
//
// The record holds raw device addresses: the work must touch the same buffers, with the same shapes,
// every time. Whoever owns those buffers calls forget() when they may have moved (another shape, a
// forward pass of another kind). The first run after construction or forget() runs the work as it is,
// which sizes every buffer it keeps; the second records and launches; later runs launch the record.
// Work that cannot be recorded (a copy between host and device, a call that waits for the device)
// is found at the second run and runs as it is from then on. Work that keeps a block it allocated,
// or drops one allocated before it, is launched once and recorded again next time; after three
// such tries it runs as it is.
#pragma once
#include <functional>
#include <memory>

#include "ops/tensor.h"

namespace seqbench {

class RecordedWork {
 public:
  explicit RecordedWork(Device device = Device::cpu);
  ~RecordedWork();
  RecordedWork(RecordedWork&&) noexcept;
  RecordedWork& operator=(RecordedWork&&) noexcept;

  // Runs `work` on the current stream (see above). Throws what the work throws.
  void run(const std::function<void()>& work);
  // The next run runs the work as it is, and the one after records it again.
  void forget();
  // Off: every run runs the work as it is (for checking replay against it). On by default.
  void set_enabled(bool enabled);
  bool replaying() const;  // the next run launches a record

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace seqbench
