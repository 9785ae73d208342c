// Unit tests of frames (src/wire/frames.hpp) and of the outbox that
// gathers them per destination (src/scheduling/batch_outbox.hpp): what an
// actor's forwarder and its remote host send each other in batches.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lumen/error.hpp"
#include "scheduling/batch_outbox.hpp"
#include "wire/frames.hpp"

using namespace lumen::detail;

namespace {

std::vector<std::string> frames_of(const std::vector<char>& bytes) {
  std::vector<std::string> out;
  for (auto f : split_frames(bytes, "test"))
    out.emplace_back(f);
  return out;
}

/// What an outbox sent, by destination, and how often it asked for a flush.
struct sink {
  std::map<int, std::vector<std::vector<char>>> sent;
  int posts = 0;
  bool owner_alive = true;

  batch_outbox<int> outbox(std::size_t max_bytes) {
    return batch_outbox<int>{max_bytes,
                             [this] {
                               ++posts;
                               return owner_alive;
                             },
                             [this](const int& to, std::vector<char> b) {
                               sent[to].push_back(std::move(b));
                             }};
  }

  /// Every frame sent to `to`, in order.
  std::vector<std::string> frames_to(int to) {
    std::vector<std::string> out;
    for (auto& b : sent[to])
      for (auto& f : frames_of(b))
        out.push_back(f);
    return out;
  }
};

} // namespace

TEST_CASE("frames: round trip, empty frames and binary bytes", "[wire]") {
  std::vector<char> bytes;
  append_frame(bytes, "call one");
  append_frame(bytes, "");
  std::string binary{"\0\xff\x01z", 4};
  append_frame(bytes, binary);
  CHECK(bytes.size() == 4 + 8 + 4 + 0 + 4 + 4);
  CHECK(frames_of(bytes) == std::vector<std::string>{"call one", "", binary});
  CHECK(split_frames({}, "test").empty());
}

TEST_CASE("frames: cut-off and overlong sizes are decode errors", "[wire]") {
  std::vector<char> good;
  append_frame(good, "abc");
  append_frame(good, "defgh");
  SECTION("the last frame cut short") {
    auto bad = good;
    bad.pop_back();
    CHECK_THROWS_AS(split_frames(bad, "test"), lumen::decode_error);
  }
  SECTION("a size cut off") {
    auto bad = good;
    bad.push_back('\x01');
    bad.push_back('\x00');
    CHECK_THROWS_AS(split_frames(bad, "test"), lumen::decode_error);
  }
  SECTION("a size far past the end") {
    std::vector<char> bad{'\xff', '\xff', '\xff', '\xff', 'x'};
    CHECK_THROWS_WITH(split_frames(bad, "calls"),
                      Catch::Contains("calls") &&
                        Catch::Contains("runs past the end"));
  }
}

TEST_CASE("batch_outbox: frames wait for the flush, one post per batch",
          "[runtime]") {
  sink s;
  auto box = s.outbox(1 << 20);
  box.add(1, "a");
  box.add(2, "b");
  box.add(1, "c");
  CHECK(s.posts == 1);
  CHECK(s.sent.empty());
  CHECK(box.pending_bytes() == 3 * 5);
  box.flush();
  CHECK(box.pending_bytes() == 0);
  CHECK(s.sent[1].size() == 1);
  CHECK(s.sent[2].size() == 1);
  CHECK(s.frames_to(1) == std::vector<std::string>{"a", "c"});
  CHECK(s.frames_to(2) == std::vector<std::string>{"b"});
  // The next frame asks again.
  box.add(1, "d");
  CHECK(s.posts == 2);
  box.flush();
  box.flush(); // nothing left: sends nothing
  CHECK(s.frames_to(1) == std::vector<std::string>{"a", "c", "d"});
  CHECK(s.sent[1].size() == 2);
}

TEST_CASE("batch_outbox: a full batch leaves at once", "[runtime]") {
  sink s;
  auto box = s.outbox(16);
  box.add(7, "0123456789"); // 14 bytes
  CHECK(s.sent.empty());
  box.add(7, "ab"); // 20 bytes: full
  REQUIRE(s.sent[7].size() == 1);
  CHECK(s.frames_to(7) == std::vector<std::string>{"0123456789", "ab"});
  CHECK(box.pending_bytes() == 0);
  box.add(7, "x");
  box.flush();
  CHECK(s.frames_to(7) == std::vector<std::string>{"0123456789", "ab", "x"});
}

TEST_CASE("batch_outbox: without an owner, or closed, the adder sends",
          "[runtime]") {
  sink s;
  auto box = s.outbox(1 << 20);
  SECTION("the owner is gone") {
    s.owner_alive = false;
    box.add(3, "late");
    CHECK(s.frames_to(3) == std::vector<std::string>{"late"});
    CHECK(box.pending_bytes() == 0);
  }
  SECTION("closed: what waited leaves, later frames leave one by one") {
    box.add(3, "waiting");
    box.close();
    CHECK(s.frames_to(3) == std::vector<std::string>{"waiting"});
    box.add(3, "after");
    box.add(3, "close");
    CHECK(s.sent[3].size() == 3);
    CHECK(s.frames_to(3) ==
          std::vector<std::string>{"waiting", "after", "close"});
  }
  SECTION("cleared frames never leave") {
    box.add(3, "dropped");
    box.clear();
    box.flush();
    CHECK(s.sent.empty());
  }
}

TEST_CASE("batch_outbox: frames from several threads all arrive once",
          "[runtime]") {
  std::mutex mtx;
  std::map<std::string, int> seen;
  std::atomic<int> posts{0};
  batch_outbox<int> box{256,
                        [&] {
                          ++posts;
                          return true;
                        },
                        [&](const int&, std::vector<char> b) {
                          std::lock_guard guard{mtx};
                          for (auto f : split_frames(b, "test"))
                            ++seen[std::string{f}];
                        }};
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&box, t] {
      for (int i = 0; i < per_thread; ++i) {
        box.add(i % 3, std::to_string(t) + ":" + std::to_string(i));
        if (i % 100 == 0)
          box.flush();
      }
    });
  for (auto& t : ts)
    t.join();
  box.flush();
  CHECK(seen.size() == std::size_t{threads * per_thread});
  bool once = true;
  for (auto& kv : seen)
    once = once && kv.second == 1;
  CHECK(once);
  CHECK(posts.load() > 0);
}
