// Adam (Kingma and Ba, 2015) over a flat vector of parameters. The update
// is elementwise, so each shard of a model may keep an optimizer of its own
// for its slice and still compute exactly what one optimizer over the whole
// vector would.
//
//   lumen::ml::adam opt{params.size(), {.learning_rate = 1e-3f}};
//   opt.step(params, grad);
//
// Thread safety: none; one thread (or one actor) steps an optimizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lumen::ml {

/// Hyperparameters of Adam; the defaults are the paper's.
struct adam_options {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  /// Inverse time decay: step t (from 1) uses learning_rate / (1 + (t - 1) /
  /// decay_steps); 0 keeps the learning rate constant.
  double decay_steps = 0;
};

class adam {
 public:
  /// An optimizer for `size` parameters; throws std::invalid_argument for a
  /// learning rate that is not positive, a beta outside [0, 1) or a
  /// negative decay.
  explicit adam(std::size_t size, adam_options options = {});

  /// Moves `params` one step against `grad`; both must hold size() floats
  /// (else std::invalid_argument).
  void step(std::vector<float>& params, const std::vector<float>& grad);

  std::size_t size() const noexcept {
    return m_.size();
  }

  /// The learning rate of the next step.
  double learning_rate() const noexcept;

  /// Steps taken so far.
  std::int64_t steps() const noexcept {
    return t_;
  }

  const adam_options& options() const noexcept {
    return options_;
  }

 private:
  adam_options options_;
  std::vector<float> m_;
  std::vector<float> v_;
  std::int64_t t_ = 0;
};

} // namespace lumen::ml
