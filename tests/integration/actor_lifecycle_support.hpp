// The actor class and helpers shared by actor_lifecycle_test.cpp and
// actor_exit_test.cpp. al_Life is registered once, with LUMEN_REMOTE, in
// actor_lifecycle_test.cpp.
#pragma once

#include <atomic>
#include <exception>
#include <string>

#include "lumen/lumen.hpp"
#include "test_support.hpp"

/// Factory runs and destructor runs of al_Life.
inline std::atomic<int> al_made{0};
inline std::atomic<int> al_destroyed{0};

/// Holds `al_Life::hold` calls until the test opens it.
inline lumen_it::gate al_gate;
inline std::atomic<int> al_held{0};

inline void al_reset() {
  al_made = 0;
  al_destroyed = 0;
  al_held = 0;
  al_gate.close();
}

/// An actor that counts its births and deaths.
struct al_Life {
  static al_Life* create(int start) {
    auto* p = new al_Life;
    p->value = start;
    p->gen = ++al_made;
    p->born_restarted = lumen::was_current_actor_restarted();
    return p;
  }

  al_Life() = default;
  al_Life(const al_Life&) = delete;
  al_Life& operator=(const al_Life&) = delete;

  ~al_Life() {
    ++al_destroyed;
  }

  int add(int x) {
    return value += x;
  }

  int generation() const {
    return gen;
  }

  bool restarted() const {
    return lumen::was_current_actor_restarted();
  }

  bool restarted_at_birth() const {
    return born_restarted;
  }

  int quit() {
    lumen::exit_actor();
  }

  /// Waits for the gate, then ends the actor.
  int quit_after_gate() {
    ++al_held;
    al_gate.wait();
    lumen::exit_actor();
  }

  /// Waits for the gate; returns the instance's generation.
  int hold() {
    ++al_held;
    return al_gate.wait() ? gen : -1;
  }

  /// Waits for the gate longer than a test waits for a result, so that a
  /// result that only comes once this call returns shows up as a timeout.
  int hold_long() {
    ++al_held;
    return al_gate.wait(3 * lumen_it::patience) ? gen : -1;
  }

  /// Generation and call count of this instance: gen * 1000 + count.
  int bump() {
    return gen * 1000 + ++count;
  }

  int value = 0;
  int gen = 0;
  int count = 0;
  bool born_restarted = false;
};

/// What became of a call: "ok", "died" or the other exception's text.
template <class T>
std::string outcome(const lumen::object_ref<T>& r) {
  try {
    lumen::get(r, lumen_it::patience);
    return "ok";
  } catch (const lumen::actor_died_error&) {
    return "died";
  } catch (const std::exception& e) {
    return std::string{"other: "} + e.what();
  }
}
