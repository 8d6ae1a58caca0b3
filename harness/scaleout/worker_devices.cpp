#include "harness/scaleout/worker_devices.h"

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

namespace seqbench {
namespace {

constexpr int kMaxWorkers = 256;

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  if (!text.empty() && text.back() == ',') parts.push_back("");
  return parts;
}

// The GPUs this process may use, as CUDA_VISIBLE_DEVICES entries (ids or UUIDs) or driver indices.
std::vector<std::string> visible_gpus() {
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::vector<std::string> out;
    for (const std::string& entry : split_commas(visible))
      if (!entry.empty()) out.push_back(entry);
    return out;
  }
  // The NVIDIA driver lists one folder per GPU; no CUDA call, so the parent opens no context.
  std::vector<std::string> out;
  std::error_code error;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", error)) {
    (void)entry;
    out.push_back(std::to_string(count++));
  }
  return out;
}

std::vector<int> parse_indices(const std::string& devices) {
  std::vector<int> indices;
  std::set<int> seen;
  for (const std::string& part : split_commas(devices)) {
    if (part.empty() || part.size() > 4 || part.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("expected 'all' or GPU indices separated by commas (0,1,2,3), got '" + devices +
                                  "'");
    const int index = std::stoi(part);
    if (!seen.insert(index).second)
      throw std::invalid_argument("GPU " + part + " is listed twice in '" + devices + "'; one worker per GPU");
    indices.push_back(index);
  }
  return indices;
}

}  // namespace

std::vector<WorkerSlot> cpu_worker_slots(int workers) {
  if (workers < 1 || workers > kMaxWorkers)
    throw std::invalid_argument("expected 1 to " + std::to_string(kMaxWorkers) + " workers, got " +
                                std::to_string(workers));
  std::vector<WorkerSlot> slots;
  for (int i = 0; i < workers; ++i) slots.push_back({i + 1, ""});
  return slots;
}

bool mps_daemon_running() {
  const char* pipes = std::getenv("CUDA_MPS_PIPE_DIRECTORY");
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path(pipes && *pipes ? pipes : "/tmp/nvidia-mps") / "control", error);
}

void check_device_list(const std::string& devices) {
  if (devices != "all") parse_indices(devices);
}

std::vector<WorkerSlot> gpu_worker_slots(const std::string& devices, int per_gpu) {
  check_device_list(devices);
  if (per_gpu < 1 || per_gpu > kMaxWorkersPerGpu)
    throw std::invalid_argument("expected 1 to " + std::to_string(kMaxWorkersPerGpu) + " workers per GPU, got " +
                                std::to_string(per_gpu));
#ifndef SEQBENCH_WITH_CUDA
  throw std::invalid_argument("--devices " + devices +
                              " needs a build with CUDA; this seqbench was built without it (use --workers N for "
                              "CPU workers)");
#endif
  const std::vector<std::string> gpus = visible_gpus();
  std::vector<std::string> chosen;
  if (devices == "all") {
    if (gpus.empty()) throw std::invalid_argument("--devices all: no GPU is visible on this machine");
    chosen = gpus;
  } else {
    for (int index : parse_indices(devices)) {
      if (index >= static_cast<int>(gpus.size()))
        throw std::invalid_argument("--devices " + devices + ": GPU " + std::to_string(index) + " does not exist (" +
                                    std::to_string(gpus.size()) + " visible)");
      chosen.push_back(gpus[static_cast<size_t>(index)]);
    }
  }
  // Worker k of every GPU before worker k + 1 of any: the pool hands cells to slots in order.
  std::vector<WorkerSlot> slots;
  for (int k = 0; k < per_gpu; ++k)
    for (const std::string& gpu : chosen) slots.push_back({static_cast<int>(slots.size()) + 1, gpu});
  return slots;
}

}  // namespace seqbench
