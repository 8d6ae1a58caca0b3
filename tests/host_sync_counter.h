// Counts the CUDA calls that make the host wait for the device (synchronise calls, blocking copies
// and memsets, allocations that are not stream-ordered), through CUPTI's callback API, for as long
// as a counter lives. What tests use to show that a code path never stalls the host. One counter at
// a time (CUPTI allows one subscriber).
#pragma once
#include <cupti.h>

#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqbench::testing {

class HostSyncCounter {
 public:
  HostSyncCounter() {
    check(cuptiSubscribe(&subscriber_, &on_call, this), "cuptiSubscribe");
    check(cuptiEnableDomain(1, subscriber_, CUPTI_CB_DOMAIN_RUNTIME_API), "cuptiEnableDomain(runtime)");
    check(cuptiEnableDomain(1, subscriber_, CUPTI_CB_DOMAIN_DRIVER_API), "cuptiEnableDomain(driver)");
  }
  ~HostSyncCounter() { cuptiUnsubscribe(subscriber_); }

  // False when another CUPTI client holds the one subscription (compute-sanitizer and ncu do), so no
  // counter can be made in this process; true otherwise.
  static bool available() {
    CUpti_SubscriberHandle probe = nullptr;
    const CUptiResult result = cuptiSubscribe(&probe, &on_call, nullptr);
    if (result == CUPTI_SUCCESS) cuptiUnsubscribe(probe);
    return result != CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
  }
  HostSyncCounter(const HostSyncCounter&) = delete;
  HostSyncCounter& operator=(const HostSyncCounter&) = delete;

  // The waiting calls seen so far, by name, in the order they were made.
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_;
  }

  // The calls that wait, runtime and driver API, without version suffixes (_v2, _ptsz, _ptds).
  static bool waits(const std::string& name) {
    static const std::set<std::string> kWaiting = {
        "cudaDeviceSynchronize", "cudaStreamSynchronize", "cudaEventSynchronize", "cudaThreadSynchronize",
        "cudaMemcpy",            "cudaMemcpy2D",          "cudaMemcpy3D",         "cudaMemcpyToSymbol",
        "cudaMemcpyFromSymbol",  "cudaMemset",            "cudaMemset2D",         "cudaMalloc",
        "cudaFree",              "cudaMallocHost",        "cudaFreeHost",         "cudaHostAlloc",
        "cudaMallocManaged",     "cuCtxSynchronize",      "cuStreamSynchronize",  "cuEventSynchronize",
        "cuMemcpy",              "cuMemcpyDtoH",          "cuMemcpyHtoD",         "cuMemcpyDtoD",
        "cuMemAlloc",            "cuMemFree",             "cuMemsetD8",           "cuMemsetD32"};
    return kWaiting.count(name.substr(0, name.find('_'))) > 0;
  }

 private:
  static void check(CUptiResult result, const char* what) {
    if (result == CUPTI_SUCCESS) return;
    const char* message = nullptr;
    cuptiGetResultString(result, &message);
    throw std::runtime_error(std::string(what) + ": " + (message ? message : "unknown CUPTI error"));
  }

  static void CUPTIAPI on_call(void* self, CUpti_CallbackDomain, CUpti_CallbackId, const void* callback_data) {
    const auto* data = static_cast<const CUpti_CallbackData*>(callback_data);
    if (data->callbackSite != CUPTI_API_ENTER || !data->functionName) return;
    auto* counter = static_cast<HostSyncCounter*>(self);
    if (!waits(data->functionName)) return;
    std::lock_guard<std::mutex> lock(counter->mutex_);
    counter->calls_.emplace_back(data->functionName);
  }

  CUpti_SubscriberHandle subscriber_ = nullptr;
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
};

}  // namespace seqbench::testing
