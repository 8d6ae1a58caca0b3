// Which workers a multi-worker run starts: `--workers N` CPU workers, or `--devices 0,1|all` one
// worker per GPU. A GPU worker sees only its own GPU (CUDA_VISIBLE_DEVICES), so its CUDA context,
// its allocations and the device its run describes are that GPU's and no other's.
#pragma once
#include <string>
#include <vector>

namespace seqbench {

struct WorkerSlot {
  int number = 0;           // 1-based, for the log and the failure messages
  std::string gpu;          // CUDA_VISIBLE_DEVICES for this worker; empty for a CPU worker
};

// `--workers N` (1..256) CPU workers.
std::vector<WorkerSlot> cpu_worker_slots(int workers);

// `--devices LIST`: "all" or comma-separated GPU indices ("0,1,2,3"), counted among the GPUs this
// process may use (entries of CUDA_VISIBLE_DEVICES when it is set), with `per_gpu` workers on each
// (`--workers-per-gpu`: small cells that cannot fill a GPU alone run side by side on it). Throws
// std::invalid_argument for a build without CUDA, a malformed or repeated index, one beyond the
// GPUs present, "all" on a machine without GPUs, or per_gpu outside 1..kMaxWorkersPerGpu.
constexpr int kMaxWorkersPerGpu = 16;
std::vector<WorkerSlot> gpu_worker_slots(const std::string& devices, int per_gpu = 1);

// Whether an NVIDIA MPS control daemon is listening (its pipe in CUDA_MPS_PIPE_DIRECTORY, default
// /tmp/nvidia-mps). Without MPS, processes sharing a GPU take turns on it (time slicing), so
// `--workers-per-gpu` adds no throughput; under MPS their kernels run at the same time.
bool mps_daemon_running();

// The syntax check alone ("all" or distinct non-negative integers), for the flag's validator.
void check_device_list(const std::string& devices);

}  // namespace seqbench
