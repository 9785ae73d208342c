#!/usr/bin/env bash
# The `fuzz` command: runs Lumen's libFuzzer targets for as long as asked,
# KEEPS the corpus each one grows between runs, and merges what adds
# coverage into the checked-in corpus (tests/fuzz/corpus/<target>/).
#
#   bash tests/fuzz/fuzz.sh [options] SECONDS [TARGET...]
#   bash tests/fuzz/fuzz.sh [options] --runs N [TARGET...]
#
#   SECONDS      random inputs for this long per target (-max_total_time)
#   --runs N     N executions per target instead (-runs)
#   -B DIR       the fuzz build directory (default: build/fuzz, the one the
#                ctest fuzz.decoders uses); configured and built here
#   -j N         targets run N at a time (default 1; the machines this runs
#                on are small and shared)
#   --corpus DIR where the kept corpora live, one directory per target
#                (default: DIR-of--B/fuzz-corpus); never wiped, so the next
#                run goes on from where this one stopped
#   --no-merge   leave tests/fuzz/corpus alone
#   --nice N     run the targets at this niceness (default 10)
#
# TARGET defaults to every target (build_fuzzers.sh). Each target first
# runs over its kept corpus and the checked-in one, then on random inputs;
# new inputs go to the kept corpus. At the end, `-merge=1` adds to
# tests/fuzz/corpus/<target>/ only the kept inputs that cover something the
# checked-in ones do not: commit them (the short CI run, fuzz.decoders,
# starts from there). A crash, sanitizer report, leak, timeout (10 s) or
# out-of-memory (2 GiB) stops that target: its input is saved as
# <build>/fuzz-artifacts/<target>-crash-<hash> (replay it with
# <build>/tests/fuzz/<target> FILE); fix the decoder, then copy the input
# into tests/fuzz/corpus/<target>/ as a regression seed. The summary gives
# libFuzzer's own count of executions per target; the whole output of each
# is in <build>/fuzz-logs/<target>.fuzz.log.
#
# Exit status: 0 if every target ran clean, 1 if one failed, 2 on bad use.
set -euo pipefail

usage() {
  sed -n '6,20p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

src="$(cd "$(dirname "$0")/../.." && pwd)"
build="$src/build/fuzz"
jobs=1
kept=""
merge=1
niceness=10
seconds=""
runs=""
while (($# > 0)); do
  case "$1" in
  -B) build="${2:?}"; shift 2 ;;
  -j) jobs="${2:?}"; shift 2 ;;
  --corpus) kept="${2:?}"; shift 2 ;;
  --no-merge) merge=0; shift ;;
  --nice) niceness="${2:?}"; shift 2 ;;
  --runs) runs="${2:?}"; shift 2 ;;
  -h | --help) usage ;;
  -*) echo "fuzz: unknown option $1" >&2; usage ;;
  *)
    if [ -z "$seconds" ] && [ -z "$runs" ]; then
      seconds="$1"
      shift
    else
      break
    fi
    ;;
  esac
done
if [ -z "$seconds" ] && [ -z "$runs" ]; then
  echo "fuzz: give SECONDS or --runs N" >&2
  usage
fi
for n in "$jobs" "$niceness" ${seconds:+"$seconds"} ${runs:+"$runs"}; do
  if ! [[ "$n" =~ ^[0-9]+$ ]]; then
    echo "fuzz: '$n' is not a whole number" >&2
    usage
  fi
done
((jobs >= 1)) || jobs=1
mkdir -p "$build"
build="$(cd "$build" && pwd)"
kept="${kept:-$build/fuzz-corpus}"

# shellcheck source=build_fuzzers.sh
source "$src/tests/fuzz/build_fuzzers.sh"
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=("${lumen_fuzz_targets[@]}")
fi
for t in "${targets[@]}"; do
  if [[ ! " ${lumen_fuzz_targets[*]} " == *" $t "* ]]; then
    echo "fuzz: unknown target $t (known: ${lumen_fuzz_targets[*]})" >&2
    exit 2
  fi
done

lumen_fuzz_build "$src" "$build"

artifacts="$build/fuzz-artifacts"
logs="$build/fuzz-logs"
mkdir -p "$artifacts" "$logs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# One-time thread_local registrations are not leaks (lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/tests/fuzz/lsan.supp}"

if [ -n "$runs" ]; then
  limit=(-runs="$runs")
  echo "fuzz: ${targets[*]}: $runs executions each, $jobs at a time"
else
  limit=(-max_total_time="$seconds")
  echo "fuzz: ${targets[*]}: ${seconds}s each, $jobs at a time"
fi
echo "fuzz: kept corpora in $kept"

# One target: fuzz, then merge into the checked-in corpus.
run_one() {
  local t="$1"
  local bin="$build/tests/fuzz/$t"
  local seeds="$src/tests/fuzz/corpus/$t"
  local log="$logs/$t.fuzz.log"
  mkdir -p "$kept/$t" "$seeds"
  {
    echo "== $t: fuzzing from $(ls "$kept/$t" | wc -l) kept and" \
      "$(ls "$seeds" | wc -l) checked-in inputs"
    nice -n "$niceness" "$bin" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$kept/$t" "$seeds" || return 1
    if ((merge)); then
      local before
      before=$(ls "$seeds" | wc -l)
      echo "== $t: merging into $seeds"
      nice -n "$niceness" "$bin" -merge=1 -rss_limit_mb=2048 -timeout=10 \
        -max_len=65536 "$seeds" "$kept/$t" || return 1
      echo "== $t: checked-in corpus $before -> $(ls "$seeds" | wc -l) inputs"
    fi
  } >"$log" 2>&1
}

summary() {
  local t="$1" ok="$2"
  local log="$logs/$t.fuzz.log"
  local n rate
  n=$(grep -aEo 'stat::number_of_executed_units: *[0-9]+' "$log" |
    grep -Eo '[0-9]+$' | tail -n 1 || true)
  rate=$(grep -aEo 'stat::average_exec_per_sec: *[0-9]+' "$log" |
    grep -Eo '[0-9]+$' | tail -n 1 || true)
  if ((ok)); then
    echo "fuzz: $t: ok, ${n:-?} executions (${rate:-?}/s);" \
      "$(grep -aEo 'checked-in corpus .*' "$log" || echo 'no merge')"
  else
    echo "fuzz: $t: FAILED after ${n:-?} executions; its log ($log) ends:"
    tail -n 60 "$log"
  fi
}

failed=()
pids=()
names=()
finish() {
  local i="$1"
  if wait "${pids[$i]}"; then
    summary "${names[$i]}" 1
  else
    summary "${names[$i]}" 0
    failed+=("${names[$i]}")
  fi
}
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if ((${#pids[@]} % jobs == 0)); then
    for ((i = ${#pids[@]} - jobs; i < ${#pids[@]}; ++i)); do
      finish "$i"
    done
  fi
done
for ((i = ${#pids[@]} - ${#pids[@]} % jobs; i < ${#pids[@]}; ++i)); do
  finish "$i"
done

echo "fuzz: checked-in corpus: $(du -sh "$src/tests/fuzz/corpus" | cut -f1)"
if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $artifacts)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran clean"
