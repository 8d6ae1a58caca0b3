#include "models/linear_layer.h"

#include <cmath>
#include <stdexcept>

#include "ops/matmul.h"
#include "ops/row_ops.h"

namespace seqbench {

Shape with_last_dim(const Shape& shape, int64_t last) {
  Shape out = shape;
  out.back() = last;
  return out;
}

Tensor initial_linear_weight(const std::string& name, int in_features, int out_features, Rng& rng, float init_std) {
  if (in_features <= 0 || out_features <= 0)
    throw std::invalid_argument("linear layer '" + name + "' needs positive sizes, got in=" +
                                std::to_string(in_features) + " out=" + std::to_string(out_features));
  if (init_std <= 0) init_std = 1.0f / std::sqrt(static_cast<float>(in_features));
  Tensor w({out_features, in_features});
  for (int64_t i = 0; i < w.numel(); ++i) w[i] = static_cast<float>(rng.normal()) * init_std;
  return w;
}

LinearLayer::LinearLayer(std::string name, int in_features, int out_features, bool bias, Rng& rng, float init_std,
                         Device device)
    : LinearLayer(name, initial_linear_weight(name, in_features, out_features, rng, init_std), bias, device) {}

LinearLayer::LinearLayer(std::string name, const Tensor& weight, bool bias, Device device)
    : in_(static_cast<int>(weight.dim(1))),
      out_(static_cast<int>(weight.dim(0))),
      has_bias_(bias),
      weight_(name + ".weight", weight.shape(), true, device) {
  weight_.value = weight.to(device);
  if (bias) bias_ = Param(name + ".bias", {out_}, false, device);
}

static int64_t rows_of(const Tensor& t, int features, const char* what) {
  if (t.rank() < 1 || t.dim(-1) != features)
    throw std::invalid_argument(std::string("linear layer: ") + what + " has shape " + shape_string(t.shape()) +
                                ", expected last dimension " + std::to_string(features));
  return t.numel() / features;
}

void LinearLayer::project(const Tensor& x, Tensor& y, Precision precision) const {
  const int64_t rows = rows_of(x, in_, "input");
  y.resize(with_last_dim(x.shape(), out_), x.device());
  const MatmulKernels& mm = kernels_for<MatmulKernels>(x.device());
  const MatmulShape shape{rows, out_, in_, false, true, false};
  if (precision == Precision::bf16) {
    input_bf16_.resize(x.numel(), x.device());
    weight_bf16_.resize(weight_.value.numel(), x.device());
    mm.round_to_bf16(x.data(), input_bf16_.data(), x.numel());
    mm.round_to_bf16(weight_.value.data(), weight_bf16_.data(), weight_.value.numel());
    mm.matmul_bf16_operands(input_bf16_.data(), weight_bf16_.data(), y.data(), shape);
  } else {
    mm.matmul(x.data(), weight_.value.data(), y.data(), shape);
  }
  if (has_bias_) kernels_for<RowOpKernels>(x.device()).add_bias_rows(bias_.value.data(), y.data(), rows, out_);
}

void LinearLayer::apply(const Tensor& x, Tensor& y) const { project(x, y, current_precision()); }

void LinearLayer::forward(const Tensor& x, Tensor& y) {
  saved_precision_ = current_precision();
  // A bf16 forward keeps x's bf16 copy, which project() leaves in input_bf16_.
  if (saved_precision_ == Precision::fp32) saved_input_ = x;
  project(x, y, saved_precision_);
  saved_rows_ = x.numel() / in_;
}

void LinearLayer::backward(const Tensor& dy, Tensor& dx) {
  const int64_t rows = rows_of(dy, out_, "gradient");
  if (saved_rows_ != rows) throw std::logic_error("linear layer backward() called without a matching forward()");
  const MatmulKernels& mm = kernels_for<MatmulKernels>(dy.device());
  // dW[out,in] += dy^T [out,rows] * x [rows,in];  dx [rows,in] = dy [rows,out] * W [out,in]
  const MatmulShape weight_grad{out_, in_, rows, true, false, true}, input_grad{rows, in_, out_, false, false, false};
  dx.resize(with_last_dim(dy.shape(), in_), dy.device());
  if (saved_precision_ == Precision::bf16) {
    grad_bf16_.resize(dy.numel(), dy.device());
    mm.round_to_bf16(dy.data(), grad_bf16_.data(), dy.numel());
    mm.matmul_bf16_operands(grad_bf16_.data(), input_bf16_.data(), weight_.grad.data(), weight_grad);
    mm.matmul_bf16_operands(grad_bf16_.data(), weight_bf16_.data(), dx.data(), input_grad);
  } else {
    mm.matmul(dy.data(), saved_input_.data(), weight_.grad.data(), weight_grad);
    mm.matmul(dy.data(), weight_.value.data(), dx.data(), input_grad);
  }
  if (has_bias_) kernels_for<RowOpKernels>(dy.device()).bias_grad_rows(dy.data(), bias_.grad.data(), rows, out_);
}

std::vector<Param*> LinearLayer::params() {
  std::vector<Param*> out{&weight_};
  if (has_bias_) out.push_back(&bias_);
  return out;
}

std::vector<Param*> params_of(std::initializer_list<LinearLayer*> layers) {
  std::vector<Param*> out;
  for (LinearLayer* layer : layers)
    for (Param* p : layer->params()) out.push_back(p);
  return out;
}

}  // namespace seqbench
