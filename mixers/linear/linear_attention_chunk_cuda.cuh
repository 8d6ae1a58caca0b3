// The one chunked kernel behind the linear-attention forward and all three backward products:
//   out_t = sum_{s <= t} (q_t . k_s) v_s   (or s >= t, chunks in reverse, when `reverse`),
// optionally divided by sum_{s <= t} q_t . k_s + eps. Operands are [B, L, H, width] tensors; a
// "ones column" appends a constant 1 to the contraction dimension, which is how the normaliser's
// gradient joins the value gradient (see linear_attention_cuda.cu).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace seqbench {

template <class T>
struct TokenOperand {
  const T* data;
  int64_t width;             // columns per (token, head) that hold data
  bool ones_column = false;  // contraction operands only: logical width is width + 1
  int64_t stride = 0;        // elements between heads of one token (>= width; 0 means width)
  int64_t row_stride() const { return stride > 0 ? stride : width; }
};

struct ChunkedProblem {
  int64_t batch, seq_len, heads;
  bool reverse = false;
  bool normalize = false;  // forward only
  float eps = 0.0f;
  float* denominator = nullptr;     // [B, H, L], written when normalize
  float* final_kv_state = nullptr;  // [B, H, F, value_columns], the state after the last chunk
  float* final_k_state = nullptr;   // [B, H, F]
};

// out: [B, L, H, value_columns] receives the first value_columns columns of the product.
template <class TQ, class TK, class TV, class TO>
void chunked_linear_attention(TokenOperand<TQ> q, TokenOperand<TK> k, TokenOperand<TV> v, int64_t value_columns,
                              TO* out, const ChunkedProblem& problem, cudaStream_t stream);

// Largest logical contraction width the kernel's shared-memory state can hold.
constexpr int64_t kChunkedMaxContraction = 640;

}  // namespace seqbench
