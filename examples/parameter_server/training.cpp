// The synchronous and asynchronous training loops of the driver.
#include "training.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <lumen/lumen.hpp>

namespace ps {

namespace {

using clock_type = std::chrono::steady_clock;

/// Training images in Fashion-MNIST: what an epoch counts.
constexpr double train_images = 60000;

/// How long the driver waits for any answer: many times a step, even with
/// a node dying and its workers restarting.
constexpr auto patience = std::chrono::seconds(180);

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// Counts updates and samples, and reports progress every
/// `report_every` updates, evaluating the weights on the test set.
class progress_meter {
 public:
  progress_meter(const server& s, const train_options& options,
                 std::int64_t samples_per_update,
                 const lumen::data::image_dataset& test,
                 const std::function<void(const progress&)>& on_progress)
    : server_(s), options_(options), model_(make_model()), test_(test),
      on_progress_(on_progress) {
    report_every_ =
      options.report_every > 0
        ? options.report_every
        : std::max<std::int64_t>(
            1, static_cast<std::int64_t>(
                 train_images / 10 / static_cast<double>(samples_per_update)));
    test_x_.resize(test.size() * test.image_size());
    test.copy_as_float(0, test.size(), test_x_.data());
    next_report_ = report_every_;
  }

  /// Records `steps` updates over `samples` images with losses summing to
  /// `loss_sum`; reports when a report is due.
  void add(std::int64_t steps, std::int64_t samples, double loss_sum,
           std::int64_t loss_count) {
    steps_ += steps;
    samples_ += samples;
    loss_sum_ += loss_sum;
    loss_count_ += loss_count;
    if (steps_ >= next_report_) {
      while (next_report_ <= steps_)
        next_report_ += report_every_;
      report();
    }
  }

  /// Whether an evaluation reached options.stop_at.
  bool reached_target() const noexcept {
    return reached_;
  }

  std::int64_t steps() const noexcept {
    return steps_;
  }

  /// The final evaluation.
  train_result finish() {
    train_result r;
    r.seconds = seconds_since(start_);
    r.steps = steps_;
    r.samples = samples_;
    r.samples_per_s = static_cast<double>(samples_) / r.seconds;
    r.accuracy = evaluate();
    r.stopped_at_target = reached_;
    return r;
  }

 private:
  double evaluate() {
    auto weights = pull_weights(server_);
    return model_.accuracy(weights, test_x_.data(), test_.labels.data(),
                           test_.size());
  }

  void report() {
    progress p;
    p.step = steps_;
    p.epoch = static_cast<double>(samples_) / train_images;
    p.loss =
      loss_count_ > 0 ? loss_sum_ / static_cast<double>(loss_count_) : 0.0;
    // Intervals run from report to report, test evaluations included.
    auto now = clock_type::now();
    auto interval = std::chrono::duration<double>(now - last_).count();
    p.samples_per_s =
      static_cast<double>(samples_ - last_samples_) / std::max(interval, 1e-9);
    last_ = now;
    last_samples_ = samples_;
    ++reports_;
    if (options_.eval_every > 0 && reports_ % options_.eval_every == 0) {
      p.evaluated = true;
      p.accuracy = evaluate();
      if (options_.stop_at > 0 && p.accuracy >= options_.stop_at)
        reached_ = true;
    }
    p.seconds = seconds_since(start_);
    on_progress_(p);
    loss_sum_ = 0;
    loss_count_ = 0;
  }

  const server& server_;
  const train_options& options_;
  lumen::ml::mlp model_;
  const lumen::data::image_dataset& test_;
  const std::function<void(const progress&)>& on_progress_;
  std::vector<float> test_x_;
  std::int64_t report_every_ = 1;
  std::int64_t next_report_ = 1;
  std::int64_t steps_ = 0;
  std::int64_t samples_ = 0;
  double loss_sum_ = 0;
  std::int64_t loss_count_ = 0;
  int reports_ = 0;
  bool reached_ = false;
  clock_type::time_point start_ = clock_type::now();
  clock_type::time_point last_ = start_;
  std::int64_t last_samples_ = 0;
};

/// Cuts `v` into the shards' slices.
std::vector<std::vector<float>>
slice(const std::vector<float>& v,
      const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  std::vector<std::vector<float>> result;
  for (auto [begin, end] : ranges)
    result.emplace_back(v.begin() + static_cast<std::ptrdiff_t>(begin),
                        v.begin() + static_cast<std::ptrdiff_t>(end));
  return result;
}

/// Joins the shards' slices into one vector of `n` weights.
std::vector<float> join(const std::vector<std::vector<float>>& slices,
                        std::size_t n) {
  std::vector<float> result;
  result.reserve(n);
  for (auto& s : slices)
    result.insert(result.end(), s.begin(), s.end());
  if (result.size() != n)
    throw lumen::error("parameter server: the shards hold " +
                       std::to_string(result.size()) + " weights, expected " +
                       std::to_string(n));
  return result;
}

/// Images behind one update: one minibatch per worker in sync mode, one
/// minibatch in async mode.
std::int64_t samples_per_update(const train_options& o) {
  return o.mode == training_mode::sync
           ? o.batch_size * static_cast<std::int64_t>(o.workers)
           : o.batch_size;
}

std::int64_t total_updates(const train_options& o) {
  return std::max<std::int64_t>(
    1,
    static_cast<std::int64_t>(std::ceil(
      o.epochs * train_images / static_cast<double>(samples_per_update(o)))));
}

train_result train_sync(const server& s, const train_options& o,
                        progress_meter& meter) {
  auto model = make_model();
  auto n = model.num_parameters();
  auto ranges = shard_ranges(n, static_cast<int>(s.shards.size()));
  auto per_update = samples_per_update(o);
  auto updates = total_updates(o);
  auto weights = pull_weights(s);
  std::vector<float> sum(n);
  for (std::int64_t step = 0; step < updates && !meter.reached_target();
       ++step) {
    // Every worker computes a gradient on the same weights, put once.
    auto w = lumen::put(weights);
    std::vector<lumen::object_ref<gradient_result>> refs;
    for (auto& worker : s.workers)
      refs.push_back(worker.task(&Worker::gradient).remote(w));
    auto grads = lumen::get(refs, patience);
    std::fill(sum.begin(), sum.end(), 0.0f);
    double loss_sum = 0;
    for (auto& g : grads) {
      if (g.gradient.size() != n)
        throw lumen::error("parameter server: a gradient of " +
                           std::to_string(g.gradient.size()) + " values");
      for (std::size_t i = 0; i < n; ++i)
        sum[i] += g.gradient[i];
      loss_sum += g.loss;
    }
    auto scale = 1.0f / static_cast<float>(grads.size());
    for (auto& x : sum)
      x *= scale;
    // One update per shard, all in flight at once; the replies are the
    // new weights.
    auto parts = slice(sum, ranges);
    std::vector<lumen::object_ref<std::vector<float>>> updated;
    for (std::size_t k = 0; k < s.shards.size(); ++k)
      updated.push_back(
        s.shards[k].task(&ParameterShard::update).remote(parts[k]));
    weights = join(lumen::get(updated, patience), n);
    meter.add(1, per_update, loss_sum, static_cast<std::int64_t>(grads.size()));
  }
  return meter.finish();
}

train_result train_async(const server& s, const train_options& o,
                         progress_meter& meter) {
  auto updates = total_updates(o);
  std::int64_t submitted = 0;
  // The Worker::run call in flight for each worker (invalid: none).
  std::vector<lumen::object_ref<run_report>> inflight(s.workers.size());
  auto submit = [&](std::size_t i) {
    auto steps = std::min(o.steps_per_call, updates - submitted);
    if (steps <= 0 || meter.reached_target())
      return;
    inflight[i] = s.workers[i].task(&Worker::run).remote(steps);
    submitted += steps;
  };
  for (std::size_t i = 0; i < s.workers.size(); ++i)
    submit(i);
  for (;;) {
    std::vector<lumen::object_ref<run_report>> pending;
    for (auto& r : inflight)
      if (r.valid())
        pending.push_back(r);
    if (pending.empty())
      break;
    auto done = lumen::wait(pending, 1, patience);
    if (done.ready.empty())
      throw lumen::timeout_error("parameter server: no worker finished a "
                                 "call within 180 s");
    for (std::size_t i = 0; i < inflight.size(); ++i) {
      if (!(inflight[i].valid() && inflight[i] == done.ready.front()))
        continue;
      auto report = lumen::get(inflight[i], patience);
      inflight[i] = {};
      submit(i); // first, so the worker does not idle during a report
      meter.add(report.steps, report.samples, report.loss_sum, report.steps);
      break;
    }
  }
  return meter.finish();
}

} // namespace

training_mode parse_training_mode(const std::string& text) {
  if (text == "sync")
    return training_mode::sync;
  if (text == "async")
    return training_mode::async;
  throw lumen::error("unknown training mode '" + text +
                     "' (expected sync or async)");
}

const char* to_string(training_mode m) {
  return m == training_mode::sync ? "sync" : "async";
}

server make_server(const train_options& o) {
  if (o.workers < 1)
    throw lumen::error("parameter server: at least one worker is needed");
  auto model = make_model();
  auto initial = model.initial_parameters(o.seed);
  auto ranges = shard_ranges(initial.size(), o.shards);
  // Each shard counts updates, of samples_per_update images each.
  double decay_steps = o.lr_decay_epochs * train_images /
                       static_cast<double>(samples_per_update(o));
  std::string head;
  for (auto& n : lumen::nodes())
    if (n.alive && n.head)
      head = n.id;
  server s;
  for (auto& part : slice(initial, ranges)) {
    auto creator = lumen::actor(ParameterShard::create);
    // On the head, which lives as long as the cluster: a worker node that
    // dies takes no weights with it. Soft: elsewhere if the head cannot
    // hold actors (no CPU).
    if (!head.empty())
      creator.node_affinity(head, /*soft=*/true);
    s.shards.push_back(creator.remote(part, o.learning_rate, decay_steps));
  }
  worker_options wo;
  wo.batch_size = o.batch_size;
  wo.seed = o.seed;
  wo.data_dir = o.data_dir;
  for (int i = 0; i < o.workers; ++i) {
    auto creator = lumen::actor(Worker::create);
    creator.spread().max_restarts(o.max_restarts).max_task_retries(-1);
    if (!o.worker_resources.empty())
      creator.resources(o.worker_resources);
    s.workers.push_back(creator.remote(i, o.workers, s.shards, wo));
  }
  return s;
}

std::vector<float> pull_weights(const server& s) {
  std::vector<lumen::object_ref<std::vector<float>>> refs;
  for (auto& shard : s.shards)
    refs.push_back(shard.task(&ParameterShard::get).remote());
  return join(lumen::get(refs, patience), make_model().num_parameters());
}

train_result train(const server& s, const train_options& options,
                   const lumen::data::image_dataset& test,
                   const std::function<void(const progress&)>& on_progress) {
  if (!(options.epochs > 0) || options.batch_size < 1 ||
      options.steps_per_call < 1)
    throw lumen::error("parameter server: epochs, batch size and steps per "
                       "call must be positive");
  if (s.workers.size() != static_cast<std::size_t>(options.workers))
    throw lumen::error(
      "parameter server: train options for " + std::to_string(options.workers) +
      " workers, server with " + std::to_string(s.workers.size()));
  progress_meter meter{s, options, samples_per_update(options), test,
                       on_progress};
  return options.mode == training_mode::sync ? train_sync(s, options, meter)
                                             : train_async(s, options, meter);
}

} // namespace ps
