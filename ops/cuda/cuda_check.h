// Error checking for CUDA runtime and cuBLAS calls: every call is wrapped, and every kernel launch
// is followed by cudaCheckLaunch(), so a failure names the call and its file:line.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace seqbench {

inline void cuda_check_result(cudaError_t status, const char* what, const char* file, int line) {
  if (status == cudaSuccess) return;
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" +
                           cudaGetErrorString(status) + ") in " + what + " at " + file + ":" +
                           std::to_string(line));
}

inline void cublas_check_result(cublasStatus_t status, const char* what, const char* file, int line) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw std::runtime_error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " (" +
                           cublasGetStatusString(status) + ") in " + what + " at " + file + ":" +
                           std::to_string(line));
}

}  // namespace seqbench

#define cudaCheck(call) ::seqbench::cuda_check_result((call), #call, __FILE__, __LINE__)
#define cublasCheck(call) ::seqbench::cublas_check_result((call), #call, __FILE__, __LINE__)
// A launch reports bad configurations at once (cudaGetLastError); faults inside the kernel
// surface at the next synchronising call, which is itself checked.
#define cudaCheckLaunch() ::seqbench::cuda_check_result(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
