#include "ops/cuda/current_stream.cuh"

namespace seqbench {
namespace {

thread_local cudaStream_t g_current_stream = nullptr;

}  // namespace

cudaStream_t current_stream() { return g_current_stream; }

CurrentStreamScope::CurrentStreamScope(cudaStream_t stream) : previous_(g_current_stream) { g_current_stream = stream; }

CurrentStreamScope::~CurrentStreamScope() { g_current_stream = previous_; }

}  // namespace seqbench
