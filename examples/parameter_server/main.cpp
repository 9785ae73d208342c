// A parameter server on Lumen: the weights of an MLP sharded over actors,
// workers computing gradients on Fashion-MNIST, trained synchronously or
// asynchronously, on the embedded one-node cluster or on a cluster.
//
//   ./parameter_server [--mode sync|async] [--workers N] [--shards K]
//                      [--epochs E] [--address HOST:PORT] ...   (--help)
//
// On a cluster, every node loads libparameter_server_tasks.so (lumen start
// --load ...), where the actors are registered; the README's "Parameter
// server" section has the commands.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include <lumen/data/image_dataset.hpp>
#include <lumen/lumen.hpp>

#include "training.hpp"

namespace {

const char* usage =
  "usage: parameter_server [options]\n"
  "  --mode sync|async    training mode (default async)\n"
  "  --workers N          worker actors, one data shard each (default 2)\n"
  "  --shards K           parameter server shards (default 2)\n"
  "  --epochs E           passes over the 60,000 training images, all\n"
  "                       workers together (default 2)\n"
  "  --batch B            minibatch size per worker (default 64)\n"
  "  --lr X               Adam learning rate (default 0.001)\n"
  "  --lr-decay E         the rate falls to half after E epochs, a third\n"
  "                       after 2 E, ... (default 1; 0: constant)\n"
  "  --report-every N     updates between progress lines (default: ~10 per "
  "epoch)\n"
  "  --eval-every N       test accuracy at every N-th line, 0: at the end "
  "(default 1)\n"
  "  --stop-at A          stop once test accuracy reaches A (default: never)\n"
  "  --target A           exit with status 1 if the final test accuracy is\n"
  "                       below A (default 0.85)\n"
  "  --seed S             seed of the initial weights and batches (default "
  "1)\n"
  "  --data-dir DIR       Fashion-MNIST directory on every node (default\n"
  "                       $LUMEN_FASHION_MNIST_DIR or "
  "/usr/share/datasets/fashion-mnist)\n"
  "  --address HOST:PORT  join this cluster (default: $LUMEN_ADDRESS, else "
  "the\n"
  "                       embedded one-node cluster)\n";

struct arguments {
  ps::train_options train;
  double target = 0.85;
  std::string address;
};

double to_number(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    throw lumen::error(flag + ": not a number: '" + text + "'");
  return v;
}

long long to_count(const std::string& flag, const std::string& text,
                   long long min) {
  double v = to_number(flag, text);
  if (v != static_cast<double>(static_cast<long long>(v)) || v < min)
    throw lumen::error(flag + ": expected a whole number of at least " +
                       std::to_string(min) + ", got '" + text + "'");
  return static_cast<long long>(v);
}

arguments parse(int argc, char** argv) {
  arguments a;
  auto& t = a.train;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= argc)
      throw lumen::error(flag + ": unknown option or missing value");
    std::string v = argv[++i];
    if (flag == "--mode")
      t.mode = ps::parse_training_mode(v);
    else if (flag == "--workers")
      t.workers = static_cast<int>(to_count(flag, v, 1));
    else if (flag == "--shards")
      t.shards = static_cast<int>(to_count(flag, v, 1));
    else if (flag == "--epochs")
      t.epochs = to_number(flag, v);
    else if (flag == "--batch")
      t.batch_size = to_count(flag, v, 1);
    else if (flag == "--lr")
      t.learning_rate = static_cast<float>(to_number(flag, v));
    else if (flag == "--lr-decay")
      t.lr_decay_epochs = to_number(flag, v);
    else if (flag == "--report-every")
      t.report_every = to_count(flag, v, 0);
    else if (flag == "--eval-every")
      t.eval_every = static_cast<int>(to_count(flag, v, 0));
    else if (flag == "--stop-at")
      t.stop_at = to_number(flag, v);
    else if (flag == "--target")
      a.target = to_number(flag, v);
    else if (flag == "--seed")
      t.seed = static_cast<std::uint64_t>(to_count(flag, v, 0));
    else if (flag == "--data-dir")
      t.data_dir = v;
    else if (flag == "--address")
      a.address = v;
    else
      throw lumen::error(flag + ": unknown option (see --help)");
  }
  if (!(t.epochs > 0))
    throw lumen::error("--epochs: must be positive");
  if (!(t.learning_rate > 0))
    throw lumen::error("--lr: must be positive");
  if (!(t.lr_decay_epochs >= 0))
    throw lumen::error("--lr-decay: must not be negative");
  return a;
}

/// "abcd1234 x2, ef567890 x1": how many actors each node hosts.
template <class Handles, class Method>
std::string placement(const Handles& handles, Method node) {
  std::map<std::string, int> count;
  for (auto& h : handles)
    ++count[lumen::get(h.task(node).remote()).substr(0, 8)];
  std::string out;
  for (auto& [id, n] : count)
    out += (out.empty() ? "" : ", ") + id + " x" + std::to_string(n);
  return out;
}

void print_progress(const ps::progress& p) {
  char acc[32] = "";
  if (p.evaluated)
    std::snprintf(acc, sizeof(acc), "  test acc %.4f", p.accuracy);
  std::printf("  step %6lld  epoch %5.2f  loss %.4f%s  %7.0f samples/s  "
              "%6.1f s\n",
              static_cast<long long>(p.step), p.epoch, p.loss, acc,
              p.samples_per_s, p.seconds);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  try {
    auto args = parse(argc, argv);
    auto& opt = args.train;
    // The driver evaluates on the test set: check the dataset before
    // starting anything.
    auto test = lumen::data::load_fashion_mnist(
      lumen::data::split::test,
      opt.data_dir.empty() ? lumen::data::fashion_mnist_dir() : opt.data_dir);
    // No address and no LUMEN_ADDRESS: the embedded one-node cluster. With
    // LUMEN_NODE_ROLE=worker this process serves a cluster as a worker
    // node instead, and init never returns.
    lumen::init_guard lumen{lumen::config{.address = args.address}};
    auto s = ps::make_server(opt);
    auto model = ps::make_model();
    std::printf("parameter server: %s training of a 784-256-128-10 MLP "
                "(%zu weights in %d shards), %d workers, batch %lld, "
                "%.2f epochs, Adam lr %g (halved after %g epochs)\n",
                ps::to_string(opt.mode), model.num_parameters(), opt.shards,
                opt.workers, static_cast<long long>(opt.batch_size), opt.epochs,
                static_cast<double>(opt.learning_rate), opt.lr_decay_epochs);
    std::printf("  shards on node %s; workers on %s\n",
                placement(s.shards, &ps::ParameterShard::node).c_str(),
                placement(s.workers, &ps::Worker::node).c_str());
    std::fflush(stdout);
    auto r = ps::train(s, opt, test, print_progress);
    std::printf("%s: test accuracy %.4f after %lld steps (%.2f epochs, "
                "%lld images) in %.1f s, %.0f samples/s%s\n",
                ps::to_string(opt.mode), r.accuracy,
                static_cast<long long>(r.steps),
                static_cast<double>(r.samples) / 60000.0,
                static_cast<long long>(r.samples), r.seconds, r.samples_per_s,
                r.stopped_at_target ? " (stopped at --stop-at)" : "");
    if (r.accuracy < args.target) {
      std::fprintf(stderr,
                   "parameter_server: test accuracy %.4f is below the "
                   "target %.4f\n",
                   r.accuracy, args.target);
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parameter_server: %s\n", e.what());
    return 1;
  }
}
