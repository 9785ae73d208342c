// The parameter server's actors: shards of the model's weights, and workers
// that compute gradients on their part of Fashion-MNIST. Part of
// libparameter_server_tasks.so, which every node loads (--load) and the
// driver links, so that all agree on the registered names.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <lumen/actor.hpp>
#include <lumen/data/image_dataset.hpp>
#include <lumen/ml/adam.hpp>
#include <lumen/ml/mlp.hpp>

namespace ps {

/// The model every part of the example trains: 784-256-128-10, ReLU,
/// softmax cross-entropy.
lumen::ml::mlp make_model();

/// Splits `n` parameters into `k` contiguous ranges [begin, end) of nearly
/// equal length; throws lumen::error unless 1 <= k <= n.
std::vector<std::pair<std::size_t, std::size_t>> shard_ranges(std::size_t n,
                                                              int k);

/// One shard of the weights: a contiguous slice of the flat parameter
/// vector, with Adam's state for that slice. Calls run one at a time, so
/// updates from many workers apply in some order, each completely.
class ParameterShard {
 public:
  /// A shard starting from `initial`, stepping with Adam at
  /// `learning_rate`, decayed in inverse time over `decay_steps` updates
  /// (0: constant).
  static ParameterShard* create(std::vector<float> initial, float learning_rate,
                                double decay_steps);

  /// The current weights of the slice.
  std::vector<float> get();

  /// Applies one Adam step for `gradient` (the slice's part of a gradient)
  /// and returns the new weights: a push and a pull in one round trip.
  std::vector<float> update(std::vector<float> gradient);

  /// Updates applied so far.
  std::int64_t version();

  /// The node this shard lives on.
  std::string node();

 private:
  ParameterShard(std::vector<float> initial, float learning_rate,
                 double decay_steps);

  std::vector<float> weights_;
  lumen::ml::adam optimizer_;
};

/// What a worker needs to know, besides its place among the workers.
struct worker_options {
  std::int64_t batch_size = 64;
  std::uint64_t seed = 1;
  /// Where the node finds Fashion-MNIST; empty: lumen::data's default.
  std::string data_dir{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_options& x) {
  return f(x.batch_size, x.seed, x.data_dir);
}

/// A gradient computed on one minibatch (synchronous mode).
struct gradient_result {
  std::vector<float> gradient{};
  double loss = 0;
  std::int64_t samples = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gradient_result& x) {
  return f(x.gradient, x.loss, x.samples);
}

/// What a worker did in one call of Worker::run (asynchronous mode).
struct run_report {
  std::int64_t steps = 0;
  std::int64_t samples = 0;
  /// Sum of the minibatch losses.
  double loss_sum = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, run_report& x) {
  return f(x.steps, x.samples, x.loss_sum);
}

/// A worker: holds training images [index * n / count, (index + 1) * n /
/// count) of Fashion-MNIST, loaded on its own node, and draws shuffled
/// minibatches from them.
class Worker {
 public:
  using shard_handles = std::vector<lumen::actor_handle<ParameterShard>>;

  /// Worker `index` of `count`, pushing to and pulling from `shards` (in
  /// parameter order). Throws lumen::data::dataset_error if the node has no
  /// Fashion-MNIST.
  static Worker* create(int index, int count, shard_handles shards,
                        worker_options options);

  /// The gradient of the loss on the next minibatch at `weights` (the whole
  /// flat vector).
  gradient_result gradient(std::vector<float> weights);

  /// `steps` asynchronous steps: pull the weights from every shard, then
  /// repeatedly compute a gradient, push each shard its slice and take the
  /// weights the shards return as the next ones.
  run_report run(std::int64_t steps);

  /// The node this worker lives on.
  std::string node();

  /// A random number drawn when this instance was created: it changes
  /// when the actor is re-created after its node died.
  std::uint64_t instance();

  /// Gradients this instance has computed (since its creation or restart).
  std::int64_t steps();

 private:
  Worker(int index, int count, shard_handles shards, worker_options options);

  /// Fills x_ and y_ with the next minibatch, reshuffling after each pass.
  void next_batch();

  /// The gradient at `weights` on the next minibatch; returns its loss.
  double compute(const std::vector<float>& weights);

  int index_;
  shard_handles shards_;
  worker_options options_;
  lumen::ml::mlp model_;
  lumen::data::image_dataset data_;
  std::vector<std::pair<std::size_t, std::size_t>> ranges_;
  std::vector<std::size_t> order_;
  std::size_t cursor_ = 0;
  std::int64_t steps_ = 0;
  std::uint64_t instance_;
  std::uint64_t passes_ = 0;
  std::vector<float> x_;
  std::vector<std::uint8_t> y_;
  std::vector<float> grad_;
};

} // namespace ps
