#include "harness/cuda_event_timer.h"

#ifdef SEQBENCH_WITH_CUDA
#include <cuda_runtime_api.h>

#include <memory>

#include "harness/timer.h"
#include "ops/cuda/cuda_check.h"

namespace seqbench {
namespace {

class CudaEventTimer : public Timer {
 public:
  CudaEventTimer() {
    cudaCheck(cudaEventCreate(&begin_));
    cudaCheck(cudaEventCreate(&end_));
  }
  ~CudaEventTimer() override {
    // A destructor cannot throw; a failure here would already have surfaced at stop_ms().
    (void)cudaEventDestroy(begin_);
    (void)cudaEventDestroy(end_);
  }
  CudaEventTimer(const CudaEventTimer&) = delete;
  CudaEventTimer& operator=(const CudaEventTimer&) = delete;

  void start() override { cudaCheck(cudaEventRecord(begin_, nullptr)); }
  double stop_ms() override {
    cudaCheck(cudaEventRecord(end_, nullptr));
    cudaCheck(cudaEventSynchronize(end_));
    float ms = 0.0f;
    cudaCheck(cudaEventElapsedTime(&ms, begin_, end_));
    return ms;
  }
  std::string clock_name() const override { return "cuda_event"; }

 private:
  cudaEvent_t begin_ = nullptr, end_ = nullptr;
};

std::unique_ptr<Timer> make_cuda_event_timer() { return std::make_unique<CudaEventTimer>(); }

}  // namespace

void register_cuda_event_timer() { register_timer_factory(Device::cuda, make_cuda_event_timer); }

}  // namespace seqbench
#else
namespace seqbench {

void register_cuda_event_timer() {}

}  // namespace seqbench
#endif
