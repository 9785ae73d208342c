// Unit tests of the MLP and Adam of libs/ml: the gradient against finite
// differences, training on real Fashion-MNIST images lowers the loss, and
// bad input is rejected.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "lumen/data/image_dataset.hpp"
#include "lumen/ml/adam.hpp"
#include "lumen/ml/mlp.hpp"

using lumen::ml::adam;
using lumen::ml::mlp;

TEST_CASE("ml: the MLP lays out weights then biases, layer by layer",
          "[ml][mlp]") {
  mlp net{{784, 256, 128, 10}};
  CHECK(net.num_parameters() ==
        784u * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10); // 235146
  CHECK(net.weights_offset(0) == 0);
  CHECK(net.bias_offset(0) == 784u * 256);
  CHECK(net.weights_offset(1) == 784u * 256 + 256);
  CHECK(net.bias_offset(2) == net.num_parameters() - 10);
  CHECK_THROWS_AS(net.weights_offset(3), std::out_of_range);
  auto p = net.initial_parameters(7);
  CHECK(p == net.initial_parameters(7));
  CHECK(p != net.initial_parameters(8));
  for (std::size_t i = net.bias_offset(0); i < net.weights_offset(1); ++i)
    CHECK(p[i] == 0.0f);
  CHECK_THROWS_AS(mlp({784}), std::invalid_argument);
  CHECK_THROWS_AS(mlp({784, 0, 10}), std::invalid_argument);
}

TEST_CASE("ml: the MLP gradient matches central finite differences",
          "[ml][mlp]") {
  mlp net{{6, 5, 4, 3}};
  std::mt19937 rng{3};
  std::normal_distribution<float> normal{0.0f, 1.0f};
  auto params = net.initial_parameters(11);
  // Non-zero biases, so that no ReLU input sits at its kink.
  for (auto& p : params)
    p += 0.1f * normal(rng);
  const std::size_t batch = 7;
  std::vector<float> x(batch * 6);
  for (auto& v : x)
    v = normal(rng);
  std::vector<std::uint8_t> y{0, 1, 2, 2, 1, 0, 1};
  std::vector<float> grad;
  double loss = net.loss_and_gradient(params, x.data(), y.data(), batch, grad);
  REQUIRE(grad.size() == net.num_parameters());
  CHECK(loss == Approx(net.loss(params, x.data(), y.data(), batch)));
  const float h = 1e-3f;
  int checked = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto plus = params;
    auto minus = params;
    plus[i] += h;
    minus[i] -= h;
    double numeric = (net.loss(plus, x.data(), y.data(), batch) -
                      net.loss(minus, x.data(), y.data(), batch)) /
                     (2.0 * static_cast<double>(h));
    INFO("parameter " << i);
    CHECK(grad[i] == Approx(numeric).margin(2e-3).epsilon(2e-2));
    ++checked;
  }
  CHECK(checked == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
}

TEST_CASE("ml: training on Fashion-MNIST images lowers the loss",
          "[ml][mlp][fashion_mnist]") {
  auto train = lumen::data::load_fashion_mnist(lumen::data::split::train);
  auto test = lumen::data::load_fashion_mnist(lumen::data::split::test);
  mlp net{{784, 64, 10}};
  auto params = net.initial_parameters(1);
  adam opt{params.size()};
  const std::size_t n = 2048;
  const std::size_t batch = 64;
  std::vector<float> x(n * 784);
  train.copy_as_float(0, n, x.data());
  std::vector<float> tx(1000 * 784);
  test.copy_as_float(0, 1000, tx.data());
  double before = net.loss(params, x.data(), train.labels.data(), n);
  double acc_before = net.accuracy(params, tx.data(), test.labels.data(), 1000);
  std::vector<float> grad;
  for (int epoch = 0; epoch < 3; ++epoch)
    for (std::size_t first = 0; first + batch <= n; first += batch) {
      net.loss_and_gradient(params, x.data() + first * 784,
                            train.labels.data() + first, batch, grad);
      opt.step(params, grad);
    }
  double after = net.loss(params, x.data(), train.labels.data(), n);
  double acc_after = net.accuracy(params, tx.data(), test.labels.data(), 1000);
  INFO("loss " << before << " -> " << after << ", test accuracy " << acc_before
               << " -> " << acc_after);
  CHECK(opt.steps() == 3 * 32);
  CHECK(after < 0.5 * before);
  CHECK(acc_after > 0.7);
  CHECK(acc_after > acc_before + 0.3);
}

TEST_CASE("ml: the MLP rejects bad parameters, labels and batches",
          "[ml][mlp]") {
  mlp net{{4, 3, 2}};
  auto params = net.initial_parameters(1);
  std::vector<float> x(8, 0.5f);
  std::vector<std::uint8_t> y{0, 2};
  std::vector<float> grad;
  CHECK_THROWS_AS(net.loss_and_gradient(params, x.data(), y.data(), 2, grad),
                  std::invalid_argument); // label 2 of 2 classes
  y[1] = 1;
  CHECK_NOTHROW(net.loss_and_gradient(params, x.data(), y.data(), 2, grad));
  CHECK_THROWS_AS(net.loss_and_gradient(params, x.data(), y.data(), 0, grad),
                  std::invalid_argument);
  params.pop_back();
  CHECK_THROWS_AS(net.loss(params, x.data(), y.data(), 2),
                  std::invalid_argument);
}

TEST_CASE("ml: Adam's first step moves each weight by the learning rate",
          "[ml][adam]") {
  adam opt{3, {.learning_rate = 0.01f}};
  std::vector<float> w{1.0f, 2.0f, 3.0f};
  opt.step(w, {0.5f, -4.0f, 1e-3f});
  // Bias-corrected: m / sqrt(v) = g / |g| on the first step.
  CHECK(w[0] == Approx(0.99f));
  CHECK(w[1] == Approx(2.01f));
  CHECK(w[2] == Approx(2.99f).epsilon(1e-4));
  // It minimizes a quadratic: f(w) = sum (w - 5)^2.
  for (int i = 0; i < 3000; ++i) {
    std::vector<float> g;
    for (auto v : w)
      g.push_back(2.0f * (v - 5.0f));
    opt.step(w, g);
  }
  for (auto v : w)
    CHECK(v == Approx(5.0f).margin(0.05));
  CHECK_THROWS_AS(opt.step(w, {1.0f}), std::invalid_argument);
  CHECK_THROWS_AS(adam(3, {.learning_rate = 0.0f}), std::invalid_argument);
}

TEST_CASE("ml: Adam's learning rate decays in inverse time", "[ml][adam]") {
  adam opt{1, {.learning_rate = 0.1f, .decay_steps = 10}};
  CHECK(opt.learning_rate() == Approx(0.1));
  std::vector<float> w{0.0f};
  opt.step(w, {1.0f});
  CHECK(w[0] == Approx(-0.1f)); // the first step still uses the full rate
  for (int i = 0; i < 9; ++i)
    opt.step(w, {1.0f});
  CHECK(opt.learning_rate() == Approx(0.05));
  CHECK(adam(1, {.learning_rate = 0.1f}).learning_rate() == Approx(0.1));
  CHECK_THROWS_AS(adam(1, {.decay_steps = -1}), std::invalid_argument);
}
