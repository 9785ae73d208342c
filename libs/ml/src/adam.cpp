// Adam's elementwise update.
#include "lumen/ml/adam.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace lumen::ml {

adam::adam(std::size_t size, adam_options options)
  : options_(options), m_(size, 0.0f), v_(size, 0.0f) {
  if (!(options_.learning_rate > 0.0f))
    throw std::invalid_argument("adam: the learning rate must be positive");
  if (!(options_.beta1 >= 0.0f && options_.beta1 < 1.0f) ||
      !(options_.beta2 >= 0.0f && options_.beta2 < 1.0f))
    throw std::invalid_argument("adam: beta1 and beta2 must be in [0, 1)");
  if (!(options_.epsilon > 0.0f))
    throw std::invalid_argument("adam: epsilon must be positive");
  if (!(options_.decay_steps >= 0))
    throw std::invalid_argument("adam: decay_steps must not be negative");
}

double adam::learning_rate() const noexcept {
  double lr = options_.learning_rate;
  if (options_.decay_steps > 0)
    lr /= 1.0 + static_cast<double>(t_) / options_.decay_steps;
  return lr;
}

void adam::step(std::vector<float>& params, const std::vector<float>& grad) {
  if (params.size() != m_.size() || grad.size() != m_.size())
    throw std::invalid_argument(
      "adam::step: " + std::to_string(params.size()) + " parameters and " +
      std::to_string(grad.size()) + " gradients given, the optimizer has " +
      std::to_string(m_.size()));
  const double rate = learning_rate();
  ++t_;
  const float b1 = options_.beta1;
  const float b2 = options_.beta2;
  // The bias corrections folded into the step size, as in the paper's
  // "more efficient" form.
  const double c1 = 1.0 - std::pow(static_cast<double>(b1), t_);
  const double c2 = 1.0 - std::pow(static_cast<double>(b2), t_);
  const float lr = static_cast<float>(rate * std::sqrt(c2) / c1);
  const float eps = static_cast<float>(options_.epsilon * std::sqrt(c2));
  for (std::size_t i = 0; i < params.size(); ++i) {
    float g = grad[i];
    m_[i] = b1 * m_[i] + (1.0f - b1) * g;
    v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
    params[i] -= lr * m_[i] / (std::sqrt(v_[i]) + eps);
  }
}

} // namespace lumen::ml
