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
if ((${#targets[@]} == 0)); then
  targets=(fuzz_task_spec fuzz_cluster_messages fuzz_gcs_rows
    fuzz_stash_record fuzz_object_codec fuzz_spill_file)
fi

pick() {
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return
    fi
  done
}
cc="${LUMEN_FUZZ_CC:-$(pick clang-14 clang)}"
cxx="${LUMEN_FUZZ_CXX:-$(pick clang++-14 clang++)}"
if [ -z "$cc" ] || [ -z "$cxx" ]; then
  echo "fuzz: FAILED: clang is not installed, so the fuzz targets cannot be" \
    "built. Install the Debian packages clang and libclang-rt-14-dev" \
    "(bash .ci/setup.sh does)." >&2
  exit 1
fi

# -- build ---------------------------------------------------------------------
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$src}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
generator=()
if [ ! -f "$build/CMakeCache.txt" ]; then
  if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
fi
echo "fuzz: configuring $build with $cxx"
cmake -S "$src" -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DLUMEN_FUZZ=ON -DBUILD_TESTING=OFF -DLUMEN_BUILD_EXAMPLES=OFF >/dev/null
echo "fuzz: building the fuzz targets"
cmake --build "$build" --target lumen_fuzzers -j 2

# -- run -----------------------------------------------------------------------
work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
# Report every leak and every UB, with stacks, and stop at the first.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

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
