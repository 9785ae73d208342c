#!/usr/bin/env bash
# The soak: builds lumen_soak (tests/soak/soak_main.cpp) and the `lumen`
# tool in BUILD_DIR, then runs a head and two workers on 127.0.0.1 under a
# mixed load of tasks, actors, puts and transfers while a fault thread
# SIGKILLs (and replaces) or SIGSTOPs a random worker every period, and
# the head twice. It checks every result, reports the slope of each
# process's resident memory after warm-up, and checks at the end that the
# resources are full again and that no process or file is left behind.
#
#   bash tests/soak/soak.sh [-B BUILD_DIR] [lumen_soak flags...]
#
# Defaults: 30 minutes, a fault every 60 s (a worker SIGKILL or a 3 s
# SIGSTOP, at random), the head SIGKILLed and started again twice. Flags
# (lumen_soak --help): --duration S, --fault-every S, --stop-ms MS,
# --faults kill,stop, --head-faults N, --head-fault kill|stop|mix,
# --warmup S, --seed N, --samples FILE (every memory sample as CSV), ...
# A stop longer than failure detection tolerates (--stop-ms 8000) gets
# the worker declared dead: it must exit with status 75 saying why, and
# the run replaces it, as a supervisor would.
# The output goes to stderr and to BUILD_DIR/soak.log; the exit status is
# 0 when every check passed. The 3-minute version is the ctest soak.short
# (ctest -L soak). Not part of CI's default run: it takes the duration.
set -euo pipefail

src="$(cd "$(dirname "$0")/../.." && pwd)"
build="$src/build"
if [ "${1:-}" = "-B" ]; then
  build="${2:?}"
  shift 2
fi
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$src}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
nice cmake --build "$build" --target lumen_soak lumen_cli \
  lumen_cluster_test_tasks >/dev/null
bin="$(find "$build" -name lumen_soak -type f -perm -u+x | head -n 1)"
if [ -z "$bin" ]; then
  echo "soak: lumen_soak was not built in $build" >&2
  exit 1
fi
set +e
"$bin" "$@" 2>&1 | tee "$build/soak.log" >&2
exit "${PIPESTATUS[0]}"
