#!/usr/bin/env bash
# Builds Lumen's libFuzzer targets with clang and runs each one, first over
# its seed corpus (tests/fuzz/corpus/<target>/), then on random inputs for a
# bounded time. Any crash, sanitizer report (AddressSanitizer,
# UndefinedBehaviorSanitizer), leak, timeout or out-of-memory fails it.
#
#   bash tests/fuzz/run_fuzzers.sh SOURCE_DIR BUILD_DIR [SECONDS] [TARGET...]
#
# SECONDS (default 20) is the random run of each target; targets run two at
# a time. Inputs found along the way go to BUILD_DIR/fuzz-work (never into
# the checked-in corpus); a failing input is saved as
# BUILD_DIR/fuzz-artifacts/<target>-crash-<hash> and can be replayed with
#   BUILD_DIR/tests/fuzz/<target> BUILD_DIR/fuzz-artifacts/<file>
# ctest runs this as fuzz.decoders. Without clang it fails: .ci/setup.sh
# installs it (Debian: clang libclang-rt-14-dev).
#
# For long runs that keep what they find, see tests/fuzz/fuzz.sh.
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 SOURCE_DIR BUILD_DIR [SECONDS] [TARGET...]" >&2
  exit 2
fi
src="$(cd "$1" && pwd)"
build="$2"
seconds="${3:-20}"
shift $(($# < 3 ? $# : 3))
targets=("$@")
# shellcheck source=build_fuzzers.sh
source "$src/tests/fuzz/build_fuzzers.sh"
if ((${#targets[@]} == 0)); then
  targets=("${lumen_fuzz_targets[@]}")
fi

# -- build ---------------------------------------------------------------------
lumen_fuzz_build "$src" "$build"

# -- run -----------------------------------------------------------------------
work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
# Report every leak and every UB, with stacks, and stop at the first.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# One-time thread_local registrations are not leaks (lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/tests/fuzz/lsan.supp}"

run_one() {
  local t="$1"
  local bin="$build/tests/fuzz/$t"
  local corpus="$src/tests/fuzz/corpus/$t"
  local log="$logs/$t.log"
  if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
    echo "fuzz: $t: no seed corpus in $corpus" >"$log"
    return 1
  fi
  rm -rf "${work:?}/$t"
  mkdir -p "$work/$t"
  {
    echo "== $t: the seed corpus ($(ls "$corpus" | wc -l) inputs)"
    "$bin" -rss_limit_mb=2048 -timeout=10 "$corpus"/* &&
      echo "== $t: random inputs for ${seconds}s" &&
      "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" "$work/$t" "$corpus"
  } >"$log" 2>&1
}

failed=()
pids=()
names=()
status_of() {
  local i="$1"
  if wait "${pids[$i]}"; then
    echo "fuzz: ${names[$i]}: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' \
      "$logs/${names[$i]}.log" | grep -Eo '[0-9]+$' || echo '?') runs)"
  else
    echo "fuzz: ${names[$i]}: FAILED; its log ($logs/${names[$i]}.log) ends:"
    tail -n 60 "$logs/${names[$i]}.log"
    failed+=("${names[$i]}")
  fi
}
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  # Two at a time (the machines this runs on have two cores).
  if ((${#pids[@]} % 2 == 0)); then
    status_of $((${#pids[@]} - 2))
    status_of $((${#pids[@]} - 1))
  fi
done
if ((${#pids[@]} % 2 == 1)); then
  status_of $((${#pids[@]} - 1))
fi

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $artifacts)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets passed"
