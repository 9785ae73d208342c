// The driver's side of the parameter server: create the shards and the
// workers, then train synchronously or asynchronously, reporting progress.
// Part of libparameter_server_tasks.so, so that the example and the tests
// run the same loops.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <lumen/data/image_dataset.hpp>

#include "ps_actors.hpp"

namespace ps {

enum class training_mode {
  /// Every step waits for all workers' gradients on the same weights,
  /// averages them and applies one update.
  sync,
  /// Workers push gradients and pull weights on their own; every push is
  /// an update.
  async,
};

/// Parses "sync" or "async"; throws lumen::error otherwise.
training_mode parse_training_mode(const std::string& text);

const char* to_string(training_mode m);

struct train_options {
  training_mode mode = training_mode::async;
  int workers = 2;
  int shards = 2;
  std::int64_t batch_size = 64;
  /// Training length in passes over the 60,000 training images, counting
  /// the images of all workers together.
  double epochs = 2;
  float learning_rate = 1e-3f;
  /// The learning rate falls as 1 / (1 + epochs / lr_decay_epochs): to
  /// half after lr_decay_epochs epochs (0: constant).
  double lr_decay_epochs = 1;
  /// Updates between progress reports; 0: about ten per epoch.
  std::int64_t report_every = 0;
  /// Evaluate test accuracy at every n-th report (0: only at the end).
  int eval_every = 1;
  /// Stop as soon as an evaluation reaches this test accuracy (0: never).
  double stop_at = 0;
  std::uint64_t seed = 1;
  /// Where the nodes find Fashion-MNIST; empty: lumen::data's default.
  std::string data_dir{};
  /// Asynchronous mode: steps per Worker::run call.
  std::int64_t steps_per_call = 20;
  /// Custom resources each worker holds while it lives, e.g.
  /// {{"worker", 1}} to keep workers on nodes offering "worker".
  std::map<std::string, double> worker_resources{};
  /// Restarts allowed per worker when its node dies (-1: no limit).
  int max_restarts = -1;
};

/// One progress report.
struct progress {
  /// Updates applied to the shards so far.
  std::int64_t step = 0;
  /// Training images processed so far / 60,000.
  double epoch = 0;
  /// Mean minibatch loss since the previous report.
  double loss = 0;
  /// Test accuracy on the 10,000 test images, if evaluated at this report.
  bool evaluated = false;
  double accuracy = 0;
  /// Training images per second since the previous report.
  double samples_per_s = 0;
  /// Seconds since training started.
  double seconds = 0;
};

struct train_result {
  /// Test accuracy of the final weights.
  double accuracy = 0;
  double seconds = 0;
  std::int64_t steps = 0;
  std::int64_t samples = 0;
  /// samples / seconds, evaluations included.
  double samples_per_s = 0;
  /// Whether training stopped early at stop_at.
  bool stopped_at_target = false;
};

/// The actors of a run.
struct server {
  std::vector<lumen::actor_handle<ParameterShard>> shards;
  std::vector<lumen::actor_handle<Worker>> workers;
};

/// Creates `options.shards` shards holding the initial weights (seeded by
/// `options.seed`), placed on the head node when there is one, and
/// `options.workers` workers spread over the nodes, each restartable.
server make_server(const train_options& options);

/// Trains on `s` with `options` and returns the final test accuracy on
/// `test`; calls `on_progress` at every report (on this thread).
train_result train(const server& s, const train_options& options,
                   const lumen::data::image_dataset& test,
                   const std::function<void(const progress&)>& on_progress);

/// The current weights, gathered from every shard.
std::vector<float> pull_weights(const server& s);

} // namespace ps
