// The multilayer perceptron's forward and backward passes, with Eigen.
#include "lumen/ml/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include <Eigen/Core>

namespace lumen::ml {

namespace {

using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
using const_matrix_map = Eigen::Map<const matrix>;
using matrix_map = Eigen::Map<matrix>;
using const_vector_map = Eigen::Map<const Eigen::VectorXf>;
using vector_map = Eigen::Map<Eigen::VectorXf>;

Eigen::Index idx(std::size_t n) {
  return static_cast<Eigen::Index>(n);
}

/// Outputs of every layer for one batch: acts[0] is the input, acts[l + 1]
/// the output of layer l (after ReLU for hidden layers, raw logits for the
/// last one).
struct forward_pass {
  std::vector<matrix> acts;
};

} // namespace

mlp::mlp(std::vector<std::size_t> layers) : layers_(std::move(layers)) {
  if (layers_.size() < 2)
    throw std::invalid_argument("mlp: needs at least an input and an output "
                                "layer");
  for (auto w : layers_)
    if (w == 0)
      throw std::invalid_argument("mlp: a layer of width 0");
  for (std::size_t l = 0; l + 1 < layers_.size(); ++l) {
    offsets_.push_back(num_parameters_);
    num_parameters_ += layers_[l + 1] * layers_[l] + layers_[l + 1];
  }
}

std::size_t mlp::weights_offset(std::size_t l) const {
  if (l >= offsets_.size())
    throw std::out_of_range("mlp: no layer " + std::to_string(l));
  return offsets_[l];
}

std::size_t mlp::bias_offset(std::size_t l) const {
  return weights_offset(l) + layers_[l + 1] * layers_[l];
}

std::vector<float> mlp::initial_parameters(std::uint64_t seed) const {
  std::vector<float> params(num_parameters_, 0.0f);
  std::mt19937_64 rng{seed};
  for (std::size_t l = 0; l < offsets_.size(); ++l) {
    std::normal_distribution<float> dist{
      0.0f, std::sqrt(2.0f / static_cast<float>(layers_[l]))};
    auto* w = params.data() + offsets_[l];
    for (std::size_t i = 0; i < layers_[l + 1] * layers_[l]; ++i)
      w[i] = dist(rng);
  }
  return params;
}

void mlp::check_parameters(const std::vector<float>& params) const {
  if (params.size() != num_parameters_)
    throw std::invalid_argument("mlp: " + std::to_string(params.size()) +
                                " parameters given, the network has " +
                                std::to_string(num_parameters_));
}

namespace {

/// Runs the layers of `net` on `batch` inputs.
forward_pass run_forward(const mlp& net, const std::vector<float>& params,
                         const float* inputs, std::size_t batch) {
  auto& layers = net.layers();
  forward_pass fp;
  fp.acts.reserve(layers.size());
  fp.acts.emplace_back(const_matrix_map{inputs, idx(layers[0]), idx(batch)});
  for (std::size_t l = 0; l + 1 < layers.size(); ++l) {
    const_matrix_map w{params.data() + net.weights_offset(l),
                       idx(layers[l + 1]), idx(layers[l])};
    const_vector_map b{params.data() + net.bias_offset(l), idx(layers[l + 1])};
    matrix z = w * fp.acts.back();
    z.colwise() += b;
    if (l + 2 < layers.size())
      z = z.cwiseMax(0.0f);
    fp.acts.push_back(std::move(z));
  }
  return fp;
}

/// Turns logits (classes x batch) into softmax probabilities in place;
/// returns the summed cross-entropy against `labels`.
double softmax_cross_entropy(matrix& logits, const std::uint8_t* labels,
                             std::size_t classes) {
  double total = 0;
  for (Eigen::Index j = 0; j < logits.cols(); ++j) {
    auto col = logits.col(j);
    auto label = static_cast<std::size_t>(labels[j]);
    if (label >= classes)
      throw std::invalid_argument("mlp: label " + std::to_string(label) +
                                  " outside 0.." + std::to_string(classes - 1));
    float top = col.maxCoeff();
    col.array() = (col.array() - top).exp();
    float sum = col.sum();
    total += std::log(static_cast<double>(sum)) -
             std::log(static_cast<double>(col(idx(label))));
    col /= sum;
  }
  return total;
}

} // namespace

double mlp::loss_and_gradient(const std::vector<float>& params,
                              const float* inputs, const std::uint8_t* labels,
                              std::size_t batch,
                              std::vector<float>& grad) const {
  check_parameters(params);
  if (batch == 0)
    throw std::invalid_argument("mlp: empty batch");
  auto fp = run_forward(*this, params, inputs, batch);
  matrix dz = std::move(fp.acts.back()); // becomes d loss / d logits
  double total = softmax_cross_entropy(dz, labels, num_classes());
  for (std::size_t j = 0; j < batch; ++j)
    dz(idx(labels[j]), idx(j)) -= 1.0f;
  dz /= static_cast<float>(batch);
  grad.resize(num_parameters_);
  for (std::size_t l = offsets_.size(); l-- > 0;) {
    const matrix& a = fp.acts[l];
    matrix_map dw{grad.data() + offsets_[l], idx(layers_[l + 1]),
                  idx(layers_[l])};
    vector_map db{grad.data() + bias_offset(l), idx(layers_[l + 1])};
    dw.noalias() = dz * a.transpose();
    db = dz.rowwise().sum();
    if (l == 0)
      break;
    const_matrix_map w{params.data() + offsets_[l], idx(layers_[l + 1]),
                       idx(layers_[l])};
    matrix da = w.transpose() * dz;
    // ReLU: the gradient passes where the activation was positive.
    dz = (a.array() > 0.0f).select(da, 0.0f);
  }
  return total / static_cast<double>(batch);
}

double mlp::loss(const std::vector<float>& params, const float* inputs,
                 const std::uint8_t* labels, std::size_t batch) const {
  check_parameters(params);
  if (batch == 0)
    throw std::invalid_argument("mlp: empty batch");
  auto fp = run_forward(*this, params, inputs, batch);
  return softmax_cross_entropy(fp.acts.back(), labels, num_classes()) /
         static_cast<double>(batch);
}

void mlp::predict(const std::vector<float>& params, const float* inputs,
                  std::size_t batch, std::uint8_t* out) const {
  check_parameters(params);
  if (batch == 0)
    return;
  auto fp = run_forward(*this, params, inputs, batch);
  const matrix& logits = fp.acts.back();
  for (Eigen::Index j = 0; j < logits.cols(); ++j) {
    Eigen::Index best = 0;
    logits.col(j).maxCoeff(&best);
    out[j] = static_cast<std::uint8_t>(best);
  }
}

double mlp::accuracy(const std::vector<float>& params, const float* inputs,
                     const std::uint8_t* labels, std::size_t count) const {
  if (count == 0)
    throw std::invalid_argument("mlp::accuracy: no inputs");
  constexpr std::size_t chunk = 1000;
  std::vector<std::uint8_t> predicted(chunk);
  std::size_t correct = 0;
  for (std::size_t first = 0; first < count; first += chunk) {
    std::size_t n = std::min(chunk, count - first);
    predict(params, inputs + first * num_inputs(), n, predicted.data());
    for (std::size_t i = 0; i < n; ++i)
      if (predicted[i] == labels[first + i])
        ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(count);
}

} // namespace lumen::ml
