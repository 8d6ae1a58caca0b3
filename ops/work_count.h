// What a kernel call costs in hardware terms: floating-point operations and bytes moved to and from
// device memory, the two counts nvbench puts beside every timing (add_element_count,
// add_global_memory_reads/writes) so a time can be read as a fraction of the GPU's limits.
//
// Conventions, shared by our kernels and the anchors timed against them so the rates compare:
//   - FLOPs are multiply-adds x 2 of the algorithm's matrix products. Causal attention counts
//     4*B*H*L^2*D/2 forward, as FlashAttention's benchmarks do.
//   - Every backward pass counts 2.5x its forward's FLOPs (FlashAttention's convention, also used
//     for the chunked scans); a projection's backward counts 2x (dX and dW).
//   - Bytes are the minimum traffic: each input read once and each output written once (the L2
//     cache is flushed between timed repetitions, so nothing starts cached). Decode reads the
//     whole KV cache, or reads and writes the whole recurrent state.
#pragma once
#include <cstdint>

namespace seqbench {

enum class WorkPass { forward, backward, decode_step };

struct WorkCount {
  double flops = 0;
  double bytes = 0;
  WorkCount& operator+=(const WorkCount& o) {
    flops += o.flops;
    bytes += o.bytes;
    return *this;
  }
};
inline WorkCount operator+(WorkCount a, const WorkCount& b) { return a += b; }

// y[m, n] = x[m, k] w[k, n]. Backward computes dx and dw: twice the products, reading x, w, dy.
WorkCount matmul_work(int64_t m, int64_t n, int64_t k, int64_t element_bytes, WorkPass pass);

// Causal softmax attention over `keys_per_query` keys at most (a sliding window or a sparse
// pattern's budget; >= seq_len for full attention). For decode_step, seq_len is the context the
// one new query attends to. Query-key pairs: the continuous causal count, L^2/2 when the window
// covers the sequence and W*L - W^2/2 otherwise.
struct AttentionWorkShape {
  int64_t batch, seq_len, heads, head_dim;
  int64_t keys_per_query;  // window; INT64_MAX style large values mean full causal attention
  int64_t element_bytes;   // of q, k, v, o and the cache
};
WorkCount attention_work(const AttentionWorkShape& s, WorkPass pass);

// The chunked form of a linear recurrence S_t = decay_t S_{t-1} + k_t v_t^T, o_t = S_t^T q_t
// (linear attention, GLA, Mamba-2's SSD, the delta rule). Per token and head, forward: the
// intra-chunk products Q K^T and P V over a whole chunk (2*C*(K+V)) and the inter-chunk ones Q S
// and K^T V (4*K*V). The delta rule adds its WY representation (Yang et al. 2024, eq. 8-11):
// K K^T, W = T K, U = T V and U - W S (2*C*K + 2*C*(K+V) + 2*K*V).
// A decode step reads and writes the state (state_element_bytes each) and does 4*K*V per head.
struct ScanWorkShape {
  int64_t batch, seq_len, heads, key_dim, value_dim;
  int64_t chunk;              // tokens per chunk (capped at seq_len)
  int64_t gate_width;         // decay values per token and head: 0 (none), 1 (scalar) or key_dim
  int64_t qk_heads;           // heads with their own q and k (SSD's B and C: 1 group); = heads usually
  bool delta_rule;            // adds the WY terms and beta (one value per token and head)
  int64_t element_bytes;      // of q, k, v, o and the gates
  int64_t state_element_bytes;
};
WorkCount chunked_scan_work(const ScanWorkShape& s, WorkPass pass);

// FLOP rate in TFLOP/s and bandwidth in GB/s of `work` done in `ms` milliseconds.
inline double tflops_per_s(const WorkCount& work, double ms) { return work.flops / ms / 1e9; }
inline double gb_per_s(const WorkCount& work, double ms) { return work.bytes / ms / 1e6; }

}  // namespace seqbench
