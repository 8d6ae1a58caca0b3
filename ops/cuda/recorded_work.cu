// CUDA graphs behind RecordedWork (recorded_work.h). Checked by tests/test_gpu_recorded_work.cpp
// and tests/test_gpu_training_sync.cpp (a recorded training step matches the step run as it is, bit
// for bit, and waits for nothing).
#include <cuda_runtime_api.h>

#include <exception>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ops/cuda/capture_ledger.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/recorded_work.h"
#include "ops/device_memory.h"

namespace seqbench {
namespace {

enum class Phase { fresh, warmed, recorded, unrecordable };

// Records that keep changing what they allocate or free are given up after this many attempts.
constexpr int kMaxUnsettledRecords = 3;

// Frees the blocks whose frees the ledger held back during a recording, ordered after the work
// launched on the caller's stream that may still read them.
void free_held_blocks(std::vector<void*>& held) {
  for (void* ptr : held) cudaCheck(cudaFreeAsync(ptr, current_stream()));
  held.clear();
}

// Marks the thread's allocator as recording for one scope (see capture_ledger.h).
class LedgerScope {
 public:
  LedgerScope() {
    CaptureLedger& ledger = capture_ledger();
    ledger.recording = true;
    ledger.allocated.clear();
    ledger.held_frees.clear();
  }
  ~LedgerScope() { capture_ledger().recording = false; }
  LedgerScope(const LedgerScope&) = delete;
  LedgerScope& operator=(const LedgerScope&) = delete;
};

// Capture needs a stream other than the legacy default one; what is recorded there is launched on the
// caller's stream, so the record keeps the caller's ordering. A blocking stream: work that strays onto
// the legacy stream during capture would have to wait for it, which ends the capture (and the work
// runs as it is) instead of running once outside the record.
cudaStream_t capture_stream() {
  thread_local const cudaStream_t stream = [] {
    cudaStream_t s = nullptr;
    cudaCheck(cudaStreamCreate(&s));
    return s;
  }();
  return stream;
}

}  // namespace

struct RecordedWork::State {
  Device device = Device::cpu;
  bool enabled = true;
  Phase phase = Phase::fresh;
  int unsettled_records = 0;
  cudaGraphExec_t exec = nullptr;

  void drop() {
    // An in-flight launch completes first (cudaGraphExecDestroy frees it on completion).
    if (exec) (void)cudaGraphExecDestroy(exec);
    exec = nullptr;
  }
  ~State() { drop(); }

  // Records `work` on the capture stream: the graph, or null when the work did something capture
  // cannot hold (the error it raised inside the capture is dropped: the work runs again as it is).
  // `held` receives the frees the ledger held back.
  cudaGraph_t capture(const std::function<void()>& work, std::vector<void*>& held) {
    const cudaStream_t stream = capture_stream();
    bool finished = false;
    cudaGraph_t graph = nullptr;
    {
      CurrentStreamScope scope(stream);
      LedgerScope recording;
      cudaCheck(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
      try {
        work();
        finished = true;
      } catch (const std::exception&) {
      }
      const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
      finished = finished && ended == cudaSuccess && graph != nullptr;
      held = std::move(capture_ledger().held_frees);
      if (!finished && !capture_ledger().allocated.empty()) {
        // Blocks allocated inside a recording that did not finish have no memory behind them, and
        // something still holds them: running the work as it is would write through them.
        if (graph) (void)cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        throw std::runtime_error(
            "recording the training step as a CUDA graph failed after it allocated device memory; "
            "run with SEQBENCH_STEP_GRAPHS=0 to train without step graphs");
      }
    }
    if (finished) return graph;
    if (graph) (void)cudaGraphDestroy(graph);
    (void)cudaGetLastError();
    return nullptr;
  }

  void record_and_launch(const std::function<void()>& work) {
    const int64_t bytes_before = memory_counters(Device::cuda).current_bytes;
    std::vector<void*> held;
    const cudaGraph_t graph = capture(work, held);
    cudaGraphExec_t instance = nullptr;
    if (graph) {
      const cudaError_t made = cudaGraphInstantiate(&instance, graph, 0);
      (void)cudaGraphDestroy(graph);
      if (made != cudaSuccess) {
        (void)cudaGetLastError();
        instance = nullptr;
      }
    }
    if (!instance) {
      phase = Phase::unrecordable;
      free_held_blocks(held);
      return work();
    }
    cudaCheck(cudaGraphLaunch(instance, current_stream()));
    const bool settled = held.empty() && memory_counters(Device::cuda).current_bytes == bytes_before;
    free_held_blocks(held);
    if (!settled) {
      // The work grew a buffer it keeps (that block belongs to this one launch; a replay would
      // allocate it again) or dropped one from before (a replay would read it after its free).
      // Record anew next time, when the sizes have settled, or give up.
      (void)cudaGraphExecDestroy(instance);
      if (++unsettled_records >= kMaxUnsettledRecords) phase = Phase::unrecordable;
      return;
    }
    exec = instance;
    phase = Phase::recorded;
  }
};

RecordedWork::RecordedWork(Device device) : state_(std::make_unique<State>()) { state_->device = device; }
RecordedWork::~RecordedWork() = default;
RecordedWork::RecordedWork(RecordedWork&&) noexcept = default;
RecordedWork& RecordedWork::operator=(RecordedWork&&) noexcept = default;

void RecordedWork::run(const std::function<void()>& work) {
  State& s = *state_;
  if (s.device == Device::cpu || !s.enabled || s.phase == Phase::unrecordable) return work();
  switch (s.phase) {
    case Phase::fresh:
      work();
      s.phase = Phase::warmed;
      return;
    case Phase::warmed:
      return s.record_and_launch(work);
    default:
      cudaCheck(cudaGraphLaunch(s.exec, current_stream()));
  }
}

void RecordedWork::forget() {
  state_->drop();
  if (state_->phase != Phase::unrecordable) state_->phase = Phase::fresh;
}

void RecordedWork::set_enabled(bool enabled) {
  state_->enabled = enabled;
  forget();
}

bool RecordedWork::replaying() const { return state_->enabled && state_->phase == Phase::recorded; }

}  // namespace seqbench
