// Object workloads of `lumen microbenchmark` (put, get, wait, large
// arrays, objects holding refs), placement groups, and this machine's
// memcpy and loopback TCP bandwidth to compare put_gigabytes and the
// 64 MiB transfers with. Shapes as in Ray's
// `ray microbenchmark` (ray/_private/ray_perf.py).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <lumen/lumen.hpp>

#include "bench/bench_remote.hpp"
#include "bench/bench_workloads.hpp"

namespace lumen::cli::bench {

namespace {

constexpr double gigabyte = 1e9;

/// Ray's large array: 100 Mi int64 (800 MiB); doubles here.
constexpr std::size_t large_array_elements = 100 * 1024 * 1024;

/// Ray's multi-client array (do_put): 10 Mi elements, 10 puts per task,
/// 10 tasks per step.
constexpr double multi_put_bytes = 10.0 * 10 * 10 * 1024 * 1024 * 8;

/// Bytes copied per memcpy step: far beyond any cache.
constexpr std::size_t memcpy_bytes = 256u << 20;

/// Ray's placement group workload: 100 groups of one bundle.
constexpr int num_pgs = 100;

workload one(const std::string& name, const std::string& unit, double ops,
             std::function<std::function<void()>()> setup) {
  return workload{{name}, [=](const timing& t) {
                    auto step = setup();
                    return std::vector<result>{
                      timeit(name, unit, ops, t, step)};
                  }};
}

/// A buffer whose pages are all touched (so copies into it never fault).
std::shared_ptr<std::vector<char>> faulted_buffer(std::size_t n, char fill) {
  auto b = std::make_shared<std::vector<char>>(n);
  std::memset(b->data(), fill, n);
  return b;
}

workload memcpy_warm() {
  return one("memcpy_gigabytes", "GB/s", memcpy_bytes / gigabyte, [] {
    auto src = faulted_buffer(memcpy_bytes, 7);
    auto dst = faulted_buffer(memcpy_bytes, 0);
    return [src, dst] {
      std::memcpy(dst->data(), src->data(), memcpy_bytes);
      check((*dst)[memcpy_bytes / 2] == 7 && dst->back() == 7, "memcpy");
    };
  });
}

/// Into fresh memory each time: what a copy into a new allocation costs
/// here (page faults), for comparison with the put workloads.
workload memcpy_fresh() {
  return one("memcpy_fresh_gigabytes", "GB/s", memcpy_bytes / gigabyte, [] {
    auto src = faulted_buffer(memcpy_bytes, 7);
    return [src] {
      std::unique_ptr<char[]> dst{new char[memcpy_bytes]};
      std::memcpy(dst.get(), src->data(), memcpy_bytes);
      check(dst[memcpy_bytes - 1] == 7, "memcpy into fresh memory");
    };
  });
}

/// Bytes per loopback step: a 64 MiB object's worth.
constexpr std::size_t loopback_bytes = 64u << 20;

/// Bytes per read or write call on loopback.
constexpr std::size_t loopback_io = 1u << 20;

/// A TCP connection on 127.0.0.1 whose far end, a thread, sends
/// `loopback_bytes` from a reused buffer each time it reads a byte.
struct loopback_pair {
  int near = -1;
  int far = -1;
  std::thread sender;

  loopback_pair() {
    int door = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    auto* sa = reinterpret_cast<sockaddr*>(&a);
    check(door >= 0 && ::bind(door, sa, sizeof(a)) == 0 &&
            ::listen(door, 1) == 0 && ::getsockname(door, sa, &len) == 0,
          "a listening socket on 127.0.0.1");
    near = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = near >= 0 && ::connect(near, sa, sizeof(a)) == 0;
    far = ok ? ::accept(door, nullptr, nullptr) : -1;
    ::close(door);
    check(far >= 0, "a loopback TCP connection");
    sender = std::thread{[fd = far] {
      auto src = faulted_buffer(loopback_bytes, 7);
      char go = 0;
      while (::recv(fd, &go, 1, 0) == 1) {
        for (std::size_t off = 0; off < loopback_bytes;) {
          auto n =
            ::send(fd, src->data() + off,
                   std::min(loopback_io, loopback_bytes - off), MSG_NOSIGNAL);
          if (n <= 0)
            return;
          off += static_cast<std::size_t>(n);
        }
      }
    }};
  }

  ~loopback_pair() {
    ::shutdown(near, SHUT_RDWR);
    sender.join();
    ::close(near);
    ::close(far);
  }

  loopback_pair(const loopback_pair&) = delete;
  loopback_pair& operator=(const loopback_pair&) = delete;
};

/// 64 MiB over loopback TCP into a reused buffer, 1 MiB per call: the
/// floor under the two-node 64 MiB transfers (which add the object's
/// encoding, decoding and the nodes' messages).
workload loopback_tcp() {
  return one(
    "loopback_tcp_64mib_gigabytes", "GB/s", loopback_bytes / gigabyte, [] {
      auto pair = std::make_shared<loopback_pair>();
      auto dst = faulted_buffer(loopback_bytes, 0);
      return [pair, dst] {
        char go = 1;
        check(::send(pair->near, &go, 1, MSG_NOSIGNAL) == 1,
              "loopback request");
        for (std::size_t off = 0; off < loopback_bytes;) {
          auto n = ::recv(pair->near, dst->data() + off,
                          std::min(loopback_io, loopback_bytes - off), 0);
          check(n > 0, "loopback read");
          off += static_cast<std::size_t>(n);
        }
        check(dst->back() == 7, "loopback bytes");
      };
    });
}

/// Puts `array`, gets it back and compares: the value survives a put.
void check_round_trip(const std::vector<double>& array) {
  auto back = lumen::get(lumen::put(array));
  check(back == array, "put/get of the large array changed it");
}

workload wait_1k_refs() {
  return one("single_client_wait_1k_refs", "/s", 1, [] {
    return [] {
      std::vector<lumen::object_ref<int>> not_ready;
      not_ready.reserve(1000);
      for (int i = 0; i < 1000; ++i)
        not_ready.push_back(lumen::task(lumen_bench::small_value).remote());
      std::vector<lumen::object_ref<int>> ready;
      ready.reserve(1000);
      for (int i = 0; i < 1000; ++i) {
        auto r = lumen::wait(std::move(not_ready), 1);
        check_eq(r.ready.size(), 1u, "wait: ready refs");
        ready.push_back(std::move(r.ready.front()));
        not_ready = std::move(r.unready);
      }
      check(not_ready.empty(), "wait: 1000 refs ready");
      lumen_bench::sum_checked(lumen::get(ready), 1000, "wait: values");
    };
  });
}

workload containing_10k_refs() {
  return one("single_client_get_object_containing_10k_refs", "/s", 1, [] {
    auto obj = lumen::task(lumen_bench::create_object_containing_ref).remote();
    long long sum = 0;
    for (int v : lumen::get(lumen::get(obj)))
      sum += v;
    check_eq(sum, 10000, "values of the 10k refs");
    return [obj] {
      auto refs = lumen::get(obj);
      check(refs.size() == 10000 && refs.back().valid(), "10k refs");
    };
  });
}

workload placement_groups() {
  return one("placement_group_create/removal", "/s", num_pgs, [] {
    return [] {
      std::vector<lumen::placement_group> pgs;
      pgs.reserve(num_pgs);
      for (int i = 0; i < num_pgs; ++i)
        pgs.push_back(lumen::create_placement_group({{{"custom", 0.001}}}));
      for (auto& pg : pgs)
        check(pg.wait(std::chrono::seconds(30)), "placement group placed");
      for (auto& pg : pgs)
        lumen::remove_placement_group(pg);
    };
  });
}

} // namespace

std::vector<workload> object_workloads() {
  std::vector<workload> ws;
  ws.push_back(memcpy_warm());
  ws.push_back(memcpy_fresh());
  ws.push_back(loopback_tcp());
  ws.push_back(one("single_client_get_calls", "/s", 1, [] {
    auto value = lumen::put(0);
    return [value] {
      check_eq(lumen::get(value), 0, "get of put(0)");
    };
  }));
  ws.push_back(one("single_client_put_calls", "/s", 1, [] {
    check_eq(lumen::get(lumen::put(12345)), 12345, "get of put(12345)");
    return [] {
      // The ref of each put is dropped at once, as in Ray's `ray.put(0)`.
      check(lumen::put(0).valid(), "put returned an invalid ref");
    };
  }));
  ws.push_back(one("multi_client_put_calls", "/s", 1000, [] {
    return [] {
      std::vector<lumen::object_ref<int>> refs;
      for (int i = 0; i < 10; ++i)
        refs.push_back(lumen::task(lumen_bench::do_put_small).remote());
      for (int n : lumen::get(refs))
        check_eq(n, 100, "do_put_small: puts");
    };
  }));
  ws.push_back(one("single_client_put_gigabytes", "GB/s",
                   large_array_elements * sizeof(double) / gigabyte, [] {
                     auto array = std::make_shared<std::vector<double>>(
                       large_array_elements, 0.0);
                     (*array)[large_array_elements - 1] = 42;
                     check_round_trip(*array);
                     return [array] {
                       check(lumen::put(*array).valid(), "put of 800 MiB");
                     };
                   }));
  ws.push_back(
    one("multi_client_put_gigabytes", "GB/s", multi_put_bytes / gigabyte, [] {
      return [] {
        std::vector<lumen::object_ref<long long>> refs;
        for (int i = 0; i < 10; ++i)
          refs.push_back(lumen::task(lumen_bench::do_put).remote());
        for (auto n : lumen::get(refs))
          check_eq(n, 10LL * 10 * 1024 * 1024 * 8, "do_put: bytes");
      };
    }));
  ws.push_back(containing_10k_refs());
  ws.push_back(wait_1k_refs());
  ws.push_back(placement_groups());
  return ws;
}

} // namespace lumen::cli::bench
