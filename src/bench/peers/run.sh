#!/usr/bin/env bash
# Lumen next to its peers, on the same workloads, in the same window.
#
#   bash src/bench/peers/run.sh [--lumen PATH] [--rounds K] [--duration S]
#                               [--only NAME] [--peer dask|erlang|caf]
#                               [--json FILE]
#
# For each workload, K rounds (default 3): Lumen's own figure
# (`lumen microbenchmark --filter '^NAME$' --duration S`, with --nodes 2
# for two_node_*) and each peer's, one after the other (Lumen first in odd
# rounds, last in even ones), then one table: workload, peer, Lumen's
# median, the peer's median, and Lumen / peer. Every program uses Lumen's
# harness (timeit in the microbenchmark's bench_harness.hpp): a warm-up
# of S/4 clamped to 0.2..1 s, then steps for S seconds; rate = operations
# per second; every result is checked (value 1 per task or call, and the
# sum of each batch).
# A figure alone says little on a shared 2-core machine: read the ratios,
# and only from a quiet window.
#
# What is compared (Lumen's workloads: the microbenchmark's bench_tasks.cpp
# and bench_objects.cpp; a task is `small_value()`, which returns 1, and an
# actor method `bench_actor::small_value()`, which returns 1):
#
# single_client_tasks_sync: one task submitted, its value got, then the
#   next (Lumen: task(small_value).remote() then get).
#   - dask: client.submit(small_value, pure=False).result() (pure=False
#     gives each task its own key; Dask runs an identical pure call once).
#   - erlang: spawn a process that computes small_value() and sends it to
#     the caller, which receives it.
#   - caf (blocking): the main thread spawns an event-based actor, requests
#     through a scoped_actor and blocks for its reply; the actor replies 1
#     and quits. Lumen's shape: a driver thread blocked per task.
#   - caf (chain): the same, but the caller is an event-based actor: CAF's
#     floor per task one at a time (spawn + request + reply + quit).
# single_client_tasks_async: 1000 tasks submitted, then all got and summed
#   (Lumen: 1000 task(small_value).remote(), then get of the 1000 refs).
#   - dask: 1000 client.submit(small_value, pure=False), client.gather.
#   - erlang: 1000 processes spawned as above, then 1000 replies received.
#   - caf (64 / 1000 in flight): a coordinator actor keeps 64 (or all
#     1000) task actors in flight until 1000 replied; the main thread
#     blocks once per 1000. This is the floor a task-as-actor design pays
#     (issue 21's reference: 64 in flight).
# single_client_put_calls: one small value stored, its ref dropped at once
#   (Lumen: lumen::put(0)).
#   - dask: client.scatter(0, hash=False), the future dropped. Dask has no
#     local object store: a scatter sends the value to a worker process
#     and registers it with the scheduler, so this is Dask's put, not the
#     same mechanism.
# single_client_get_calls: get of one stored small value, repeatedly
#   (Lumen: lumen::get of put(0)).
#   - dask: future.result() of a scattered 0 (the client fetches it from
#     the worker each time; Dask keeps no client-side copy).
# 1_1_actor_calls_sync: one call on one actor, its value got, then the next.
#   - dask: a Dask actor (client.submit(BenchActor, actor=True)); each step
#     a.small_value().result().
#   - erlang: gen_server:call to a gen_server whose call returns 1.
# 1_1_actor_calls_async: 1000 calls on one actor, then all got and summed.
#   - dask: 1000 a.small_value(), then the 1000 ActorFuture results.
#   - erlang: 1000 gen_server:send_request, then 1000 wait_response (OTP's
#     async request API; each request monitors the server, so a dead server
#     is an error, as a dead actor is for Lumen's get).
# two_node_tasks_async: 1000 tasks placed on a second node on loopback,
#   all got (Lumen: node_affinity to a second node, a child process).
#   - erlang: a second node started with OTP's peer module (127.0.0.1,
#     Erlang distribution over TCP); 1000 erlang:spawn_request(Node,
#     peer_bench, remote_task, [Caller, Ref], [{reply, error_only}]) (an
#     asynchronous remote spawn, as a Lumen submit does not wait; spawn/4
#     would wait a round trip for each pid), each task sending
#     small_value() back.
# two_node_actor_calls_async: 1000 calls on an actor on the second node.
#   - erlang: a gen_server started on the second node; 1000 send_request
#     from the first, then 1000 wait_response.
#
# Mechanisms differ, and that is the comparison: Lumen runs a local task
# as a function call on a worker thread of its own process; Dask runs
# every task in a worker process (2 workers of 1 thread: one task at a time
# per CPU, as Lumen and Ray run tasks), reached through its scheduler
# process; Erlang runs processes on its own schedulers (one per core).
# Not compared: workloads with no honest equivalent here (multi_client_*,
# n_n_*, puts of large arrays, placement groups, object pushes and pulls:
# Erlang has no object store, Dask's multi-client shapes differ), and
# Dask on two nodes (a LocalCluster is already worker processes on
# loopback). Not done yet: single_client_wait_1k_refs against Dask's
# wait(return_when=FIRST_COMPLETED), and 1_1_actor_calls_concurrent
# against a Dask actor with async methods.
#
# Peers are installed here when missing (Debian packages: python3-dask
# and python3-distributed 2022.12 for Dask, erlang-base 25 for Erlang,
# g++ and libcaf-dev 0.17 for CAF); the Erlang module and the CAF program
# are compiled into build/peers/. The two-node Erlang workloads run an epmd
# of their own on 127.0.0.1 and a free port from 24369, stopped at exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
here="$root/src/bench/peers"
lumen="$root/build/bin/lumen"
rounds=3
duration=2
only=""
only_peer=""
json=""

usage() {
  sed -n '4,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,2\}//'
  exit "${1:-2}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --lumen) lumen=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --peer) only_peer=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage ;;
  esac
done

[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds: expected a positive integer" >&2; exit 2; }
[[ "$duration" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run.sh: --duration: expected seconds" >&2; exit 2; }
[ -x "$lumen" ] || { echo "run.sh: no lumen binary at $lumen (build it, or pass --lumen PATH)" >&2; exit 2; }
lumen=$(cd "$(dirname "$lumen")" && pwd)/$(basename "$lumen")

# workload  peer-label  runner  (runner: a function below, with its args)
rows=(
  "single_client_tasks_sync|dask|dask"
  "single_client_tasks_sync|erlang|erlang_local"
  "single_client_tasks_sync|caf (blocking)|caf blocking"
  "single_client_tasks_sync|caf (chain)|caf chain"
  "single_client_tasks_async|dask|dask"
  "single_client_tasks_async|erlang|erlang_local"
  "single_client_tasks_async|caf (64 in flight)|caf 64"
  "single_client_tasks_async|caf (1000 in flight)|caf 1000"
  "single_client_put_calls|dask|dask"
  "single_client_get_calls|dask|dask"
  "1_1_actor_calls_sync|dask|dask"
  "1_1_actor_calls_sync|erlang|erlang_local"
  "1_1_actor_calls_async|dask|dask"
  "1_1_actor_calls_async|erlang|erlang_local"
  "two_node_tasks_async|erlang (2 nodes)|erlang_two_nodes"
  "two_node_actor_calls_async|erlang (2 nodes)|erlang_two_nodes"
)

peer_of() { # runner -> dask|erlang|caf
  case "$1" in dask*) echo dask ;; erlang*) echo erlang ;; caf*) echo caf ;; esac
}

selected=()
for row in "${rows[@]}"; do
  IFS='|' read -r w label runner <<<"$row"
  [ -n "$only" ] && [ "$w" != "$only" ] && continue
  [ -n "$only_peer" ] && [ "$(peer_of "$runner")" != "$only_peer" ] && continue
  selected+=("$row")
done
[ ${#selected[@]} -gt 0 ] || { echo "run.sh: no workload matches --only '$only' --peer '$only_peer'" >&2; exit 2; }

needs() { # peer -> 0 if a selected row uses it
  local row w label runner
  for row in "${selected[@]}"; do
    IFS='|' read -r w label runner <<<"$row"
    [ "$(peer_of "$runner")" = "$1" ] && return 0
  done
  return 1
}

# --- install what is missing ------------------------------------------------
packages=()
needs dask && packages+=(python3-dask python3-distributed)
needs erlang && packages+=(erlang-base)
needs caf && packages+=(g++ libcaf-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "run.sh: not root: install them with apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- build the peers' programs ----------------------------------------------
out="$root/build/peers"
mkdir -p "$out"
logs=$(mktemp -d "${TMPDIR:-/tmp}/lumen-peers.XXXXXX")
python=/usr/bin/python3 # Debian's, where python3-distributed is
if needs caf && { [ ! -x "$out/caf_tasks" ] || [ "$here/caf_tasks.cc" -nt "$out/caf_tasks" ]; }; then
  echo "run.sh: compiling caf_tasks" >&2
  g++ -std=c++17 -O2 -Wall -Wextra -Werror "$here/caf_tasks.cc" \
    -o "$out/caf_tasks" -lcaf_core -pthread
fi
if needs erlang && { [ ! -f "$out/peer_bench.beam" ] || [ "$here/peer_bench.erl" -nt "$out/peer_bench.beam" ]; }; then
  erlc -Werror -o "$out" "$here/peer_bench.erl"
fi

# --- the two-node Erlang workloads' epmd ------------------------------------
epmd_pid=""
cleanup() {
  if [ -n "$epmd_pid" ]; then
    kill "$epmd_pid" 2>/dev/null || true
    wait "$epmd_pid" 2>/dev/null || true
  fi
  rm -rf "$logs"
}
trap cleanup EXIT
start_epmd() {
  [ -n "$epmd_pid" ] && return 0
  local port pid
  # Ports below the ephemeral range (32768 up), so no client socket holds
  # one; epmd exits on a port still in TIME_WAIT from an earlier run, and
  # a port where some epmd already answers is someone else's: next port.
  for port in $(seq 24369 24388); do
    epmd -port "$port" -names >/dev/null 2>&1 && continue
    epmd -port "$port" -address 127.0.0.1 >>"$logs/epmd.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
      if epmd -port "$port" -names >/dev/null 2>&1; then
        epmd_pid=$pid
        export ERL_EPMD_PORT=$port
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  echo "run.sh: could not start epmd on 127.0.0.1, ports 24369-24388:" >&2
  cat "$logs/epmd.log" >&2
  return 1
}
cookie="peers$RANDOM$RANDOM$RANDOM"

# --- runners: print `NAME VALUE /s` -----------------------------------------
limit=$(awk -v d="$duration" 'BEGIN { printf "%d", 4 * d + 120 }')
run_lumen() { # workload
  local nodes=()
  [[ "$1" == two_node_* ]] && nodes=(--nodes 2)
  timeout "$limit" "$lumen" microbenchmark --filter "^$1\$" \
    --duration "$duration" "${nodes[@]}"
}
run_peer() { # workload runner-words...
  local w=$1 kind=$2
  case "$kind" in
    dask) # Dask's worker space in our temporary folder, removed at exit
      DASK_TEMPORARY_DIRECTORY="$logs" timeout "$limit" "$python" \
        "$here/dask_bench.py" "$w" "$duration" ;;
    erlang_local)
      timeout "$limit" erl -noshell -pa "$out" \
        -run peer_bench main "$w" "$duration" -s init stop ;;
    erlang_two_nodes)
      start_epmd || return 1
      # -start_epmd false: only the epmd above, never a daemon of erl's.
      timeout "$limit" erl -noshell -start_epmd false \
        -name "peerbench$$@127.0.0.1" \
        -setcookie "$cookie" -kernel inet_dist_use_interface '{127,0,0,1}' \
        -pa "$out" -run peer_bench main "$w" "$duration" -s init stop ;;
    caf) timeout "$limit" "$out/caf_tasks" "$3" "$duration" "$w" ;;
  esac
}
# The value of metric $1 in a runner's stdout (file $2), or "failed".
value_of() {
  awk -v n="$1" '$1 == n && $3 == "/s" { v = $2 } END { print (v == "" ? "failed" : v) }' "$2"
}
median() { # values... ("failed" ones ignored)
  printf '%s\n' "$@" | { grep -v '^failed$' || true; } | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) print "failed";
      else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- the rounds ---------------------------------------------------------------
declare -A lumen_values peer_values
workloads=()
for row in "${selected[@]}"; do
  IFS='|' read -r w label runner <<<"$row"
  [[ " ${workloads[*]} " == *" $w "* ]] || workloads+=("$w")
done
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "run.sh: $(nproc) hardware threads; load average $load_at_start;" \
  "$rounds round(s) of ${duration} s per workload" >&2
failures=0
for w in "${workloads[@]}"; do
  for r in $(seq "$rounds"); do
    order=(lumen peers)
    [ $((r % 2)) = 0 ] && order=(peers lumen)
    for who in "${order[@]}"; do
      if [ "$who" = lumen ]; then
        log="$logs/lumen.$w.$r"
        run_lumen "$w" >"$log" 2>"$log.err" || true
        v=$(value_of "$w" "$log")
        [ "$v" = failed ] && { failures=$((failures + 1)); echo "run.sh: lumen $w round $r failed:" >&2; tail -5 "$log.err" >&2; }
        lumen_values[$w]+=" $v"
        echo "  round $r: $w lumen $v" >&2
      else
        for row in "${selected[@]}"; do
          IFS='|' read -r rw label runner <<<"$row"
          [ "$rw" = "$w" ] || continue
          log="$logs/peer.$w.${runner// /_}.$r"
          # shellcheck disable=SC2086 # runner is words on purpose
          run_peer "$w" $runner >"$log" 2>"$log.err" || true
          v=$(value_of "$w" "$log")
          [ "$v" = failed ] && { failures=$((failures + 1)); echo "run.sh: $label $w round $r failed:" >&2; tail -5 "$log.err" >&2; }
          peer_values[$w|$label]+=" $v"
          echo "  round $r: $w $label $v" >&2
        done
      fi
    done
  done
done

# --- the table ----------------------------------------------------------------
fmt() { # a rate, with thousands separators and its unit
  [ "$1" = failed ] && { echo failed; return; }
  awk -v v="$1" 'BEGIN { s = sprintf(v >= 100 ? "%.0f" : "%.1f", v);
    split(s, p, "."); i = p[1]; o = "";
    while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
    printf "%s%s%s /s", i, o, (p[2] == "" ? "" : "." p[2]) }'
}
ratio() {
  if [ "$1" = failed ] || [ "$2" = failed ]; then echo "—"; return; fi
  awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; printf (r >= 10 ? "%.0fx" : "%.2fx"), r }'
}
command="bash src/bench/peers/run.sh --rounds $rounds --duration $duration"
[ "$lumen" != "$root/build/bin/lumen" ] && command+=" --lumen $lumen"
[ -n "$only" ] && command+=" --only $only"
[ -n "$only_peer" ] && command+=" --peer $only_peer"
echo
echo "Medians of $rounds round(s) of \`$command\`, $(nproc) hardware threads"
echo
echo "| workload | peer | Lumen | peer | Lumen / peer |"
echo "| --- | --- | ---: | ---: | ---: |"
json_rows=()
for row in "${selected[@]}"; do
  IFS='|' read -r w label runner <<<"$row"
  # shellcheck disable=SC2086
  lm=$(median ${lumen_values[$w]})
  # shellcheck disable=SC2086
  pm=$(median ${peer_values[$w|$label]})
  echo "| $w | $label | $(fmt "$lm") | $(fmt "$pm") | $(ratio "$lm" "$pm") |"
  to_json_list() { printf '%s\n' "$@" | awk '{ printf "%s%s", (NR > 1 ? ", " : ""), ($1 == "failed" ? "null" : $1) }'; }
  null_if_failed() { [ "$1" = failed ] && echo null || echo "$1"; }
  # shellcheck disable=SC2086
  json_rows+=("    {\"workload\": \"$w\", \"peer\": \"$label\", \"unit\": \"/s\", \"lumen\": [$(to_json_list ${lumen_values[$w]})], \"peer_values\": [$(to_json_list ${peer_values[$w|$label]})], \"lumen_median\": $(null_if_failed "$lm"), \"peer_median\": $(null_if_failed "$pm")}")
done
if [ -n "$json" ]; then
  {
    echo "{"
    echo "  \"command\": \"$command\","
    echo "  \"lumen\": \"$lumen\","
    echo "  \"hardware_threads\": $(nproc),"
    echo "  \"load_average_at_start\": \"$load_at_start\","
    echo "  \"rounds\": $rounds,"
    echo "  \"duration_seconds\": $duration,"
    echo "  \"rows\": ["
    for i in "${!json_rows[@]}"; do
      sep=","
      [ "$i" = $((${#json_rows[@]} - 1)) ] && sep=""
      echo "${json_rows[$i]}$sep"
    done
    echo "  ]"
    echo "}"
  } >"$json"
fi
[ "$failures" = 0 ] || { echo "run.sh: $failures run(s) failed" >&2; exit 1; }
