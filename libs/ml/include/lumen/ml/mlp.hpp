// A multilayer perceptron for classification: fully connected layers with
// ReLU between them and softmax cross-entropy on top, its parameters one
// flat vector of floats.
//
//   lumen::ml::mlp net{{784, 256, 128, 10}};
//   std::vector<float> params = net.initial_parameters(/*seed=*/1);
//   std::vector<float> grad;
//   double loss = net.loss_and_gradient(params, x, y, batch, grad);
//
// The flat layout is what a parameter server shards: layer after layer, the
// weights of layer l (outputs x inputs, column-major) then its biases. Inputs
// are `batch` rows of num_inputs() floats, one sample after another. The
// computation uses Eigen, which stays out of this header.
//
// Thread safety: an mlp is immutable after construction; its const
// functions may run on many threads at once (each call has its own
// scratch space).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lumen::ml {

class mlp {
 public:
  /// Layer widths, inputs first and classes last, e.g. {784, 256, 128, 10};
  /// throws std::invalid_argument for fewer than two layers or a zero width.
  explicit mlp(std::vector<std::size_t> layers);

  const std::vector<std::size_t>& layers() const noexcept {
    return layers_;
  }

  std::size_t num_inputs() const noexcept {
    return layers_.front();
  }

  std::size_t num_classes() const noexcept {
    return layers_.back();
  }

  /// Length of the flat parameter vector.
  std::size_t num_parameters() const noexcept {
    return num_parameters_;
  }

  /// Offset of the weights of layer `l` (0 = the first hidden layer) in the
  /// flat vector; its biases follow them.
  std::size_t weights_offset(std::size_t l) const;

  /// Offset of the biases of layer `l`.
  std::size_t bias_offset(std::size_t l) const;

  /// He-initialized weights (normal, variance 2 / inputs) and zero biases,
  /// the same for the same seed.
  std::vector<float> initial_parameters(std::uint64_t seed) const;

  /// Mean cross-entropy of the softmax of the outputs against `labels` over
  /// `batch` inputs; writes its gradient with respect to the parameters to
  /// `grad` (resized to num_parameters()). Throws std::invalid_argument for
  /// parameters of the wrong length, an empty batch or a label outside
  /// 0..num_classes()-1.
  double loss_and_gradient(const std::vector<float>& params,
                           const float* inputs, const std::uint8_t* labels,
                           std::size_t batch, std::vector<float>& grad) const;

  /// The same loss, without the gradient.
  double loss(const std::vector<float>& params, const float* inputs,
              const std::uint8_t* labels, std::size_t batch) const;

  /// The most likely class of each of `batch` inputs, written to `out`.
  void predict(const std::vector<float>& params, const float* inputs,
               std::size_t batch, std::uint8_t* out) const;

  /// The fraction of `count` inputs whose predicted class is their label
  /// (computed in batches of 1000).
  double accuracy(const std::vector<float>& params, const float* inputs,
                  const std::uint8_t* labels, std::size_t count) const;

 private:
  void check_parameters(const std::vector<float>& params) const;

  std::vector<std::size_t> layers_;
  std::vector<std::size_t> offsets_; // weights of layer l start here
  std::size_t num_parameters_ = 0;
};

} // namespace lumen::ml
