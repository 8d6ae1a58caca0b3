#include "ops/tensor.h"

#include <sstream>
#include <stdexcept>

#include "ops/device_memory.h"

namespace seqbench {

std::string device_name(Device device) { return device == Device::cpu ? "cpu" : "cuda"; }

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda" || name == "gpu") return Device::cuda;
  throw std::invalid_argument("unknown device '" + name + "' (expected cpu or cuda)");
}

std::string shape_string(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_string(shape));
    n *= d;
  }
  return n;
}

static std::shared_ptr<float> allocate_storage(Device device, int64_t numel) {
  size_t bytes = static_cast<size_t>(numel) * sizeof(float);
  if (bytes == 0) return nullptr;
  auto* ptr = static_cast<float*>(device_allocate(device, bytes));
  device_fill_zero(device, ptr, bytes);
  return std::shared_ptr<float>(ptr, [device, bytes](float* p) { device_release(device, p, bytes); });
}

Tensor::Tensor(Shape shape, Device device)
    : shape_(std::move(shape)), numel_(shape_numel(shape_)), device_(device), data_(allocate_storage(device, numel_)) {}

Tensor::Tensor(const Tensor& other)
    : shape_(other.shape_),
      numel_(other.numel_),
      device_(other.device_),
      data_(allocate_storage(other.device_, other.numel_)) {
  if (numel_) device_copy(data_.get(), device_, other.data_.get(), other.device_, bytes());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) return *this;
  // Same size on the same device: copy into the storage already held (layers save their inputs
  // this way every step; reusing the block keeps its address, which a recorded step relies on).
  if (data_ && data_.use_count() == 1 && numel_ == other.numel_ && device_ == other.device_) {
    shape_ = other.shape_;
    device_copy(data_.get(), device_, other.data_.get(), other.device_, bytes());
    return *this;
  }
  *this = Tensor(other);
  return *this;
}

int64_t Tensor::dim(int i) const {
  int r = rank();
  int k = i < 0 ? r + i : i;
  if (k < 0 || k >= r)
    throw std::out_of_range("dim " + std::to_string(i) + " of tensor with shape " + shape_string(shape_));
  return shape_[k];
}

void Tensor::zero() {
  if (numel_) device_fill_zero(device_, data_.get(), bytes());
}

void Tensor::resize(const Shape& shape) {
  if (shape == shape_) return;
  *this = Tensor(shape, device_);
}

void Tensor::resize(const Shape& shape, Device device) {
  if (shape == shape_ && device == device_) return;
  *this = Tensor(shape, device);
}

void Tensor::reshape(const Shape& shape) {
  if (shape_numel(shape) != numel_)
    throw std::invalid_argument("cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
  shape_ = shape;
}

Tensor Tensor::to(Device device) const {
  Tensor out(shape_, device);
  if (numel_) device_copy(out.data_.get(), device, data_.get(), device_, bytes());
  return out;
}

}  // namespace seqbench
