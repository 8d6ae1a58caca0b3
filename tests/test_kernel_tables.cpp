// The one dispatch idiom: every op family's kernel table for each device, the refusal of a build
// without CUDA (naming the family), and the CUDA kernels' shape limits as `run --dry-run` reads them
// (host code: checked wherever the CUDA backend is built, GPU or not).
#include <catch2/catch.hpp>
#include <string>

#include "mixers/delta/delta_rule.h"
#include "mixers/delta/delta_rule_gates.h"
#include "mixers/gla/gla.h"
#include "mixers/gla/log_sigmoid_decay.h"
#include "mixers/linear/feature_maps.h"
#include "mixers/linear/linear_attention.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/softmax_attention.h"
#include "mixers/sparse/block_topk_spans.h"
#include "mixers/ssm/ssd.h"
#include "ops/activations.h"
#include "ops/adamw.h"
#include "ops/causal_conv1d.h"
#include "ops/cross_entropy.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "ops/row_ops.h"
#include "ops/swish_gate.h"

using namespace seqbench;

#define SEQBENCH_ALL_KERNEL_FAMILIES                                                                               \
  MatmulKernels, LayerNormKernels, GeluKernels, CrossEntropyKernels, AdamWKernels, EmbeddingKernels, RowOpKernels, \
      SwishGateKernels, CausalConv1dKernels, SoftmaxAttentionKernels, MaskedAttentionKernels, BlockTopkKernels,    \
      FeatureMapKernels, LinearAttentionKernels, GlaKernels, LogSigmoidDecayKernels, SsdKernels, DeltaRuleKernels, \
      DeltaRuleGateKernels

TEMPLATE_TEST_CASE("every kernel family answers Device::cpu with its CPU table", "[kernel_table]",
                   SEQBENCH_ALL_KERNEL_FAMILIES) {
  CHECK(&kernels_for<TestType>(Device::cpu) == &TestType::cpu());
  CHECK(std::string(TestType::kFamily).size() > 0);
}

#ifndef SEQBENCH_WITH_CUDA
TEMPLATE_TEST_CASE("a build without CUDA refuses every kernel family's GPU table by the family's name",
                   "[kernel_table]", SEQBENCH_ALL_KERNEL_FAMILIES) {
  CHECK_THROWS_WITH(
      kernels_for<TestType>(Device::cuda),
      std::string(TestType::kFamily) + ": this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)");
}
#else
TEMPLATE_TEST_CASE("a CUDA build answers Device::cuda with the family's CUDA table", "[kernel_table]",
                   SEQBENCH_ALL_KERNEL_FAMILIES) {
  CHECK(&kernels_for<TestType>(Device::cuda) == &TestType::cuda());
  CHECK(&TestType::cuda() != &TestType::cpu());
}

namespace {

// The CPU table of a family runs every shape; the CUDA table accepts `fits` and names `what` for
// `too_big`.
template <class Kernels, class... Args>
void check_limits(const std::string& what, const std::tuple<Args...>& fits, const std::tuple<Args...>& too_big) {
  const auto& cpu = kernels_for<Kernels>(Device::cpu);
  const auto& cuda = kernels_for<Kernels>(Device::cuda);
  CHECK(std::apply(cpu.unsupported, too_big).empty());
  CHECK(std::apply(cuda.unsupported, fits).empty());
  const std::string reason = std::apply(cuda.unsupported, too_big);
  INFO(Kernels::kFamily << ": " << reason);
  CHECK(reason.find(what) != std::string::npos);
  CHECK(reason.find("GPU") != std::string::npos);
}

}  // namespace

TEST_CASE("each CUDA kernel family reports the shapes it cannot run and accepts the ones it can", "[kernel_table]") {
  GlaShape gla{{2, 9, 3}, 64, 64, true}, wide_gla = gla;
  wide_gla.key_dim = kGlaCudaMaxKeyDim + 1;
  check_limits<GlaKernels>("key_dim", std::tuple{gla, GlaOptions{}}, std::tuple{wide_gla, GlaOptions{}});
  GlaShape decode_gla = gla;
  decode_gla.key_dim = 200, decode_gla.value_dim = 12000;
  check_limits<GlaKernels>("for decode", std::tuple{gla, GlaOptions{}}, std::tuple{decode_gla, GlaOptions{}});

  const AttentionShape att{{1, 5, 2}, 128}, wide_att{{1, 5, 2}, 257};
  check_limits<SoftmaxAttentionKernels>("head_dim", std::tuple{att}, std::tuple{wide_att});
  const AttentionShape long_att{{1, (int64_t{1} << 30) + 1, 1}, 64};
  check_limits<SoftmaxAttentionKernels>("seq_len", std::tuple{att}, std::tuple{long_att});
  check_limits<MaskedAttentionKernels>("head_dim", std::tuple{att}, std::tuple{wide_att});
  check_limits<BlockTopkKernels>("top_k", std::tuple{att, BlockTopk{16, 2}}, std::tuple{att, BlockTopk{16, 1025}});

  const LinearAttentionShape lin{{1, 5, 2}, 16, 64}, wide_lin{{1, 5, 2}, 640, 64};
  check_limits<LinearAttentionKernels>("feature_dim", std::tuple{lin, LinearAttentionOptions{}},
                                       std::tuple{wide_lin, LinearAttentionOptions{}});
  const SsdShape ssd{{1, 5, 2}, 64, 128}, wide_ssd{{1, 5, 2}, 64, 257};
  check_limits<SsdKernels>("key_dim", std::tuple{ssd}, std::tuple{wide_ssd});
  const DeltaRuleShape delta{{1, 5, 2}, 128, 128}, wide_delta{{1, 5, 2}, 128, 300};
  check_limits<DeltaRuleKernels>("value_dim", std::tuple{delta}, std::tuple{wide_delta});
}
#endif
