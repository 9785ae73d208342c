// Task and object ids: derivation and printing.
#include "lumen/ids.hpp"

#include <random>

#include <unistd.h>

namespace lumen {

namespace {

/// SplitMix64's finalizer: a bijective 64-bit mixer.
std::uint64_t mix(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

} // namespace

task_id task_id::derive(const task_id& parent, std::uint64_t n) noexcept {
  task_id result;
  result.hi = mix(parent.hi ^ mix(n));
  result.lo = mix(parent.lo + mix(result.hi ^ n));
  if (result.nil())
    result.lo = 1;
  return result;
}

task_id task_id::random() {
  // Seeded once per thread: a random_device and a fresh engine per id
  // cost more than the rest of a placement group's creation. Seeded again
  // in a child process (fork), which would otherwise draw its parent's
  // ids, its node id among them.
  thread_local std::mt19937_64 gen;
  thread_local pid_t seeded_in = 0;
  if (auto pid = ::getpid(); pid != seeded_in) {
    std::random_device rd;
    std::seed_seq seed{rd(), rd(), rd(), rd()};
    gen.seed(seed);
    seeded_in = pid;
  }
  task_id result;
  result.hi = gen();
  result.lo = gen();
  if (result.nil())
    result.lo = 1;
  return result;
}

void task_id::write_hex(char* out) const noexcept {
  // By hand, not snprintf: lineage collection turns every collected id
  // into text (its GCS key), tens of thousands a second.
  static constexpr char hex[] = "0123456789abcdef";
  for (auto half : {hi, lo})
    for (int shift = 60; shift >= 0; shift -= 4)
      *out++ = hex[(half >> shift) & 0xf];
}

std::string task_id::to_string() const {
  std::string out(32, '0');
  write_hex(out.data());
  return out;
}

std::string object_id::to_string() const {
  auto result = task.to_string();
  result += is_put() ? ".p" : ".";
  result += std::to_string(index & ~put_flag);
  return result;
}

} // namespace lumen
