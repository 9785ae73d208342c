"""The Dask distributed peer of src/bench/peers/run.sh.

What each workload measures, and how it matches Lumen's, is in run.sh's
header comment. A LocalCluster of 2 worker processes with 1 thread each
(one task at a time per CPU on this 2-core machine, as Lumen and Ray run
tasks), no dashboard; the client is Dask's synchronous Client in this
process. Every result is checked, and the sum of each batch.

Timing is Lumen's harness (timeit in the microbenchmark's
bench_harness.hpp): a warm-up of duration/4 clamped to 0.2..1 s, then steps
for the duration; the rate is operations per second. Prints
`NAME VALUE /s`.

Usage: python3 dask_bench.py NAME DURATION_SECONDS
"""

import logging
import sys
import time

BATCH = 1000


def small_value():
    return 1


class BenchActor:
    def small_value(self):
        return 1


def check(ok, what):
    if not ok:
        sys.stderr.write("dask_bench: %s\n" % what)
        sys.exit(1)


def timeit(ops, duration, step):
    warmup = min(1.0, max(0.2, duration / 4))
    warm = 0
    t0 = time.monotonic()
    while True:
        step()
        warm += 1
        if time.monotonic() - t0 >= warmup:
            break
    batch = max(1, int(warm * duration / warmup / 500))
    steps = 0
    t0 = time.monotonic()
    while True:
        for _ in range(batch):
            step()
        steps += batch
        elapsed = time.monotonic() - t0
        if elapsed >= duration:
            break
    return ops * steps / elapsed


def workloads(client):
    """name -> (ops per step, setup returning the step)."""

    def tasks_sync():
        def step():
            # pure=False: a fresh key per task (the default hashes the call,
            # and Dask would run an identical call only once).
            check(client.submit(small_value, pure=False).result() == 1,
                  "task value")
        return step

    def tasks_async():
        def step():
            futures = [client.submit(small_value, pure=False)
                       for _ in range(BATCH)]
            values = client.gather(futures)
            check(len(values) == BATCH and sum(values) == BATCH,
                  "sum of the batch")
        return step

    def put_calls():
        check(client.scatter(12345, hash=False).result() == 12345,
              "scatter then result")

        def step():
            # hash=False: a fresh key per put, as each ray.put / lumen::put
            # makes a new object. The future is dropped at once.
            check(client.scatter(0, hash=False) is not None, "scatter")
        return step

    def get_calls():
        value = client.scatter(0, hash=False)

        def step():
            check(value.result() == 0, "result of scatter(0)")
        return step

    def actor():
        return client.submit(BenchActor, actor=True).result()

    def calls_sync():
        a = actor()

        def step():
            check(a.small_value().result() == 1, "actor call value")
        return step

    def calls_async():
        a = actor()

        def step():
            futures = [a.small_value() for _ in range(BATCH)]
            total = sum(f.result() for f in futures)
            check(total == BATCH, "sum of the replies")
        return step

    return {
        "single_client_tasks_sync": (1, tasks_sync),
        "single_client_tasks_async": (BATCH, tasks_async),
        "single_client_put_calls": (1, put_calls),
        "single_client_get_calls": (1, get_calls),
        "1_1_actor_calls_sync": (1, calls_sync),
        "1_1_actor_calls_async": (BATCH, calls_async),
    }


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: dask_bench.py NAME DURATION_SECONDS\n")
        return 2
    name, duration = sys.argv[1], float(sys.argv[2])
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        table = workloads(client)
        if name not in table:
            sys.stderr.write("dask_bench: unknown workload %s\n" % name)
            return 2
        ops, setup = table[name]
        rate = timeit(ops, duration, setup())
    print("%s %.1f /s" % (name, rate), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
