// The parameter server's actors, registered with LUMEN_REMOTE.
#include "ps_actors.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include <lumen/lumen.hpp>

namespace ps {

namespace {

/// How long a worker waits for a shard: far longer than any step, short
/// enough that a lost shard surfaces as an error instead of a hang.
constexpr auto shard_patience = std::chrono::seconds(120);

std::uint64_t random_id() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) | rd();
}

} // namespace

lumen::ml::mlp make_model() {
  return lumen::ml::mlp{{784, 256, 128, 10}};
}

std::vector<std::pair<std::size_t, std::size_t>> shard_ranges(std::size_t n,
                                                              int k) {
  if (k < 1 || static_cast<std::size_t>(k) > n)
    throw lumen::error("parameter server: cannot cut " + std::to_string(n) +
                       " parameters into " + std::to_string(k) + " shards");
  std::vector<std::pair<std::size_t, std::size_t>> result;
  auto parts = static_cast<std::size_t>(k);
  for (std::size_t i = 0; i < parts; ++i)
    result.emplace_back(i * n / parts, (i + 1) * n / parts);
  return result;
}

// -- ParameterShard -----------------------------------------------------------

ParameterShard::ParameterShard(std::vector<float> initial, float learning_rate,
                               double decay_steps)
  : weights_(std::move(initial)),
    optimizer_(weights_.size(),
               lumen::ml::adam_options{.learning_rate = learning_rate,
                                       .decay_steps = decay_steps}) {}

ParameterShard* ParameterShard::create(std::vector<float> initial,
                                       float learning_rate,
                                       double decay_steps) {
  return new ParameterShard{std::move(initial), learning_rate, decay_steps};
}

std::vector<float> ParameterShard::get() {
  return weights_;
}

std::vector<float> ParameterShard::update(std::vector<float> gradient) {
  optimizer_.step(weights_, gradient);
  return weights_;
}

std::int64_t ParameterShard::version() {
  return optimizer_.steps();
}

std::string ParameterShard::node() {
  return lumen::node_id();
}

// -- Worker -------------------------------------------------------------------

Worker::Worker(int index, int count, shard_handles shards,
               worker_options options)
  : index_(index), shards_(std::move(shards)), options_(std::move(options)),
    model_(make_model()), instance_(random_id()) {
  if (count < 1 || index < 0 || index >= count)
    throw lumen::error("parameter server: worker " + std::to_string(index) +
                       " of " + std::to_string(count));
  if (options_.batch_size < 1)
    throw lumen::error("parameter server: batch size must be positive");
  auto train = lumen::data::load_fashion_mnist(
    lumen::data::split::train, options_.data_dir.empty()
                                 ? lumen::data::fashion_mnist_dir()
                                 : options_.data_dir);
  auto n = train.size();
  auto parts = static_cast<std::size_t>(count);
  auto i = static_cast<std::size_t>(index);
  data_ = train.subset(i * n / parts, (i + 1) * n / parts);
  if (data_.size() < static_cast<std::size_t>(options_.batch_size))
    throw lumen::error("parameter server: worker " + std::to_string(index) +
                       " has fewer images than one batch");
  ranges_ =
    shard_ranges(model_.num_parameters(), static_cast<int>(shards_.size()));
  order_.resize(data_.size());
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  cursor_ = order_.size(); // shuffle before the first batch
  auto b = static_cast<std::size_t>(options_.batch_size);
  x_.resize(b * model_.num_inputs());
  y_.resize(b);
}

Worker* Worker::create(int index, int count, shard_handles shards,
                       worker_options options) {
  return new Worker{index, count, std::move(shards), std::move(options)};
}

void Worker::next_batch() {
  auto b = static_cast<std::size_t>(options_.batch_size);
  if (cursor_ + b > order_.size()) {
    // A new pass over this worker's images, in an order of its own.
    std::mt19937_64 rng{options_.seed * 1000003u +
                        static_cast<std::uint64_t>(index_) * 7919u + passes_};
    std::shuffle(order_.begin(), order_.end(), rng);
    cursor_ = 0;
    ++passes_;
  }
  data_.gather_as_float(order_.data() + cursor_, b, x_.data(), y_.data());
  cursor_ += b;
}

double Worker::compute(const std::vector<float>& weights) {
  next_batch();
  ++steps_;
  return model_.loss_and_gradient(weights, x_.data(), y_.data(), y_.size(),
                                  grad_);
}

gradient_result Worker::gradient(std::vector<float> weights) {
  gradient_result result;
  result.loss = compute(weights);
  result.samples = options_.batch_size;
  result.gradient = grad_;
  return result;
}

run_report Worker::run(std::int64_t steps) {
  run_report report;
  // Pull: every shard's current slice, all requests in flight at once.
  std::vector<lumen::object_ref<std::vector<float>>> pending;
  for (auto& s : shards_)
    pending.push_back(s.task(&ParameterShard::get).remote());
  std::vector<float> weights(model_.num_parameters());
  for (std::int64_t step = 0;; ++step) {
    auto slices = lumen::get(pending, shard_patience);
    for (std::size_t k = 0; k < slices.size(); ++k) {
      if (slices[k].size() != ranges_[k].second - ranges_[k].first)
        throw lumen::error(
          "parameter server: shard " + std::to_string(k) + " holds " +
          std::to_string(slices[k].size()) + " weights, expected " +
          std::to_string(ranges_[k].second - ranges_[k].first));
      std::copy(slices[k].begin(), slices[k].end(),
                weights.begin() +
                  static_cast<std::ptrdiff_t>(ranges_[k].first));
    }
    if (step == steps)
      break;
    report.loss_sum += compute(weights);
    report.samples += options_.batch_size;
    ++report.steps;
    // Push: each shard its slice of the gradient; the replies are the
    // weights for the next step.
    pending.clear();
    for (std::size_t k = 0; k < shards_.size(); ++k)
      pending.push_back(
        shards_[k]
          .task(&ParameterShard::update)
          .remote(std::vector<float>(
            grad_.begin() + static_cast<std::ptrdiff_t>(ranges_[k].first),
            grad_.begin() + static_cast<std::ptrdiff_t>(ranges_[k].second))));
  }
  return report;
}

std::string Worker::node() {
  return lumen::node_id();
}

std::uint64_t Worker::instance() {
  return instance_;
}

std::int64_t Worker::steps() {
  return steps_;
}

} // namespace ps

LUMEN_REMOTE(ps::ParameterShard::create, &ps::ParameterShard::get,
             &ps::ParameterShard::update, &ps::ParameterShard::version,
             &ps::ParameterShard::node);
LUMEN_REMOTE(ps::Worker::create, &ps::Worker::gradient, &ps::Worker::run,
             &ps::Worker::node, &ps::Worker::instance, &ps::Worker::steps);
