// Embedding lookup, position rows and their gradients, on either device. The gradient of a lookup
// is a scatter-add; doing it per destination row, over that row's sources in ascending order, keeps
// it free of atomics and identical on both devices. The CUDA kernels (embedding_cuda.cu; RowGroups
// arrays on the device too) are checked against the CPU ones in tests/test_gpu_ops.cpp.
#pragma once
#include <vector>

#include "ops/kernel_table.h"

namespace seqbench {

// Sources grouped by destination: group g adds source rows order[begin[g]], ..., order[begin[g+1]-1]
// (ascending) into destination row target[g]. begin has groups + 1 entries.
struct RowGroups {
  const int32_t* order = nullptr;
  const int32_t* begin = nullptr;
  const int32_t* target = nullptr;
  int64_t groups = 0;
};

// The host-side grouping of `rows` ids (a counting sort; ids must lie in [0, id_limit)).
struct HostRowGroups {
  std::vector<int32_t> order, begin, target;
  RowGroups view() const { return {order.data(), begin.data(), target.data(), static_cast<int64_t>(target.size())}; }
};
HostRowGroups group_rows_by_id(const int32_t* ids, int64_t rows, int64_t id_limit);

struct EmbeddingKernels : KernelFamily<EmbeddingKernels> {
  static constexpr const char* kFamily = "embedding";

  // out[r, :] = table[ids[r], :].
  void (*gather)(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t width);
  // dtable[target[g], :] += sum of the group's dout rows.
  void (*grad)(const float* dout, const RowGroups& groups, float* dtable, int64_t width);
  // out[b, t, :] += pos[t, :] for b < batch, t < seq_len.
  void (*add_position_rows)(const float* pos, float* out, int64_t batch, int64_t seq_len, int64_t width);
  // dpos[t, :] += sum over b (ascending) of dout[b, t, :].
  void (*position_grad)(const float* dout, float* dpos, int64_t batch, int64_t seq_len, int64_t width);
};

}  // namespace seqbench
