// The sequence-mixer backend interface: everything backend-specific hides behind it. A mixer owns
// its projections; the model around it adds norms, residuals and the MLP.
//
// Shapes: x, y are [B, L, d_model]; x_t, y_t are [B, d_model]. forward() keeps what backward()
// needs; backward() overwrites dx and *accumulates* parameter gradients into params()[i]->grad.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ops/tensor.h"
#include "ops/work_count.h"
#include "models/param.h"

namespace seqbench {

struct MixerSpec {
  std::string kind;            // registry name: "softmax", "linear", ...
  int d_model = 64;
  int n_heads = 1;
  nlohmann::json params = nlohmann::json::object();  // backend-specific (feature_map, window, ...)
  Device device = Device::cpu;
  uint64_t seed = 0;           // initialisation seed for this layer

  int head_dim() const { return d_model / n_heads; }
};

// Decode state: a KV cache for attention, a recurrent state for linear/SSM mixers.
struct MixerCache {
  virtual ~MixerCache() = default;
  // A deep copy on the same device: a snapshot a later decode can restart from (a shared context
  // prefilled once, then several queries each continuing from it).
  virtual std::unique_ptr<MixerCache> clone() const = 0;
  int64_t position = 0;  // tokens consumed so far
};

// A cache type whose members copy deeply (tensors do) clones by copy construction.
template <class Derived>
struct CopyableCache : MixerCache {
  std::unique_ptr<MixerCache> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

// Decode state per sequence, as Zoology and Based count it: a fixed recurrent state, plus floats per
// cached token for a KV cache, up to max_tokens (a window) or every token.
struct StateSize {
  int64_t fixed_floats = 0;
  int64_t floats_per_token = 0;
  int64_t max_tokens = std::numeric_limits<int64_t>::max();
};

class Mixer {
 public:
  virtual ~Mixer() = default;

  // Parallel (training) form. When cache is non-null, forward() starts the cached sequences afresh
  // at position 0 and leaves in it what step() needs after their last position (a recurrent state,
  // or the keys and values a KV cache keeps).
  virtual void forward(const Tensor& x, Tensor& y, MixerCache* cache) = 0;
  virtual void backward(const Tensor& dy, Tensor& dx) = 0;

  // A fresh decode state for `batch` sequences of up to `max_len` tokens.
  virtual std::unique_ptr<MixerCache> make_cache(int batch, int max_len) const = 0;
  // Recurrent (decode) form: one token per sequence; advances cache.position.
  virtual void step(const Tensor& x_t, Tensor& y_t, MixerCache& cache) = 0;


  // Why this mixer's kernels cannot run `batch` sequences of `seq_len` tokens on its device (the
  // kernel tables' shape limits); "" when they can. `run --dry-run` asks before any cell runs.
  virtual std::string unsupported(int64_t batch, int64_t seq_len) const { return {}; }

  const MixerSpec& spec() const { return spec_; }
  const StateSize& state_size() const { return state_size_; }
  // Decode state in bytes (fp32) per sequence after seq_len tokens (state_size()).
  size_t state_bytes(int64_t seq_len) const {
    const int64_t tokens = std::min(seq_len, state_size_.max_tokens);
    return static_cast<size_t>(state_size_.fixed_floats + state_size_.floats_per_token * tokens) * sizeof(float);
  }
  // Every trainable parameter, in the order the backend registered them.
  const std::vector<Param*>& params() const { return params_; }

  // What one call costs in hardware terms (ops/work_count.h): forward or backward over `batch`
  // sequences of `seq_len` tokens, or one decode step after `seq_len` tokens of context. The
  // sequence mixing each backend declares (mixing_work), plus every matrix parameter applied to
  // every token (projections, low-rank gates, a depthwise conv's taps), all in fp32.
  WorkCount work(int64_t batch, int64_t seq_len, WorkPass pass) const {
    WorkCount total = mixing_work(batch, seq_len, pass);
    const int64_t tokens = pass == WorkPass::decode_step ? batch : batch * seq_len;
    const WorkPass matmul_pass = pass == WorkPass::backward ? WorkPass::backward : WorkPass::forward;
    for (const Param* p : params_)
      if (p->value.rank() == 2)
        total += matmul_work(tokens, p->value.dim(0), p->value.dim(1), sizeof(float), matmul_pass);
    return total;
  }
  // The sequence mixing alone (attention over the keys, the scan over the state), in fp32.
  virtual WorkCount mixing_work(int64_t batch, int64_t seq_len, WorkPass pass) const = 0;

 protected:
  explicit Mixer(const MixerSpec& spec) : spec_(spec) {}
  // Appends to params(); a backend calls it once its parameters exist (they must not move after).
  void add_params(const std::vector<Param*>& params) { params_.insert(params_.end(), params.begin(), params.end()); }

  void set_state_size(const StateSize& size) { state_size_ = size; }

  MixerSpec spec_;

 private:
  std::vector<Param*> params_;
  StateSize state_size_;
};

}  // namespace seqbench
