// Actor classes shared by actor_basics_test.cpp and actor_names_test.cpp.
// They are registered once, with LUMEN_REMOTE, in actor_basics_test.cpp.
#pragma once

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

/// The exception the test actors throw.
struct ab_oops : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Factories that ran, by class.
inline std::atomic<int> ab_counters_made{0};

/// A counter whose factory returns a raw pointer.
struct ab_Counter {
  static ab_Counter* create(int start) {
    ++ab_counters_made;
    return new ab_Counter{start};
  }

  int add(int x) {
    return value += x;
  }

  int read() const {
    return value;
  }

  void set(int x) {
    value = x;
  }

  std::string concat(std::string a, std::string b) {
    return a + b + std::to_string(value);
  }

  int fail(std::string msg) {
    throw ab_oops(msg);
  }

  int fail_odd() {
    throw 42;
  }

  /// Declares an object_ref parameter: receives the ref itself.
  int add_ref(lumen::object_ref<int> r) {
    return value += lumen::get(r, lumen_it::patience);
  }

  int not_registered() {
    return -1;
  }

  int value = 0;
};

/// A bag of numbers whose factory returns a unique_ptr.
struct ab_Box {
  static std::unique_ptr<ab_Box> make(std::string label, std::vector<int> xs) {
    auto b = std::make_unique<ab_Box>();
    b->label = std::move(label);
    b->items = std::move(xs);
    return b;
  }

  void push(int x) {
    items.push_back(x);
  }

  int sum() const {
    int s = 0;
    for (int x : items)
      s += x;
    return s;
  }

  std::string label_of() const {
    return label;
  }

  std::string label;
  std::vector<int> items;
};

/// An actor that talks to other actors through handles it is given.
struct ab_Relay {
  static ab_Relay* create() {
    return new ab_Relay;
  }

  int poke(lumen::actor_handle<ab_Counter> c, int x) {
    return lumen::get(c.task(&ab_Counter::add).remote(x), lumen_it::patience);
  }

  void keep(lumen::actor_handle<ab_Counter> c) {
    kept = std::move(c);
  }

  int poke_kept(int x) {
    return lumen::get(kept.task(&ab_Counter::add).remote(x),
                      lumen_it::patience);
  }

  lumen::actor_handle<ab_Counter> kept;
};

namespace ab_types {

/// A struct holding an actor handle, encoded through inspect.
struct ab_Holder {
  std::string tag;
  lumen::actor_handle<ab_Counter> counter;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ab_Holder& h) {
  return f(caf::meta::type_name("ab_Holder"), h.tag, h.counter);
}

} // namespace ab_types

using ab_types::ab_Holder;
