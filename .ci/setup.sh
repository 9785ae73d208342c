#!/usr/bin/env bash
# Install what Lumen needs (Debian bookworm, run as root), configure, build,
# then run the demo or the tests.
#
#   bash .ci/setup.sh demo   # build, then run the hello example
#   bash .ci/setup.sh test   # build, then run every test with ctest
#   bash .ci/setup.sh build  # build only
#
# Works from any directory. Uses ccache automatically when it is installed.
set -euo pipefail

# Debian packages Lumen needs to build, test and run its demos. Extend here.
# clang and libclang-rt-14-dev (libFuzzer, sanitizer runtimes) build the fuzz
# targets that the test fuzz.decoders runs (tests/fuzz/).
LUMEN_PACKAGES="g++ cmake ninja-build pkg-config libcaf-dev capnproto libcapnp-dev librocksdb-dev libboost-program-options-dev catch2 libssl-dev libjemalloc-dev libspdlog-dev zlib1g-dev libeigen3-dev dataset-fashion-mnist clang libclang-rt-14-dev"

mode="${1:-test}"
case "$mode" in
  demo | test | build) ;;
  *)
    echo "usage: bash .ci/setup.sh demo|test|build" >&2
    exit 2
    ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd)"
BUILD_DIR="$ROOT/build"

# -- (a) packages ------------------------------------------------------------
missing=()
for pkg in $LUMEN_PACKAGES; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# -- (b) configure -----------------------------------------------------------
# ccache: share hits between clones in different folders (CI uses a fresh
# clone elsewhere). CMake picks ccache up by itself when it is installed.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

# A build/ made with another generator cannot be reconfigured with Ninja.
if [ -f "$BUILD_DIR/CMakeCache.txt" ] &&
  ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$BUILD_DIR/CMakeCache.txt"; then
  echo "setup: $BUILD_DIR was not configured with Ninja; removing it"
  rm -rf "$BUILD_DIR"
fi

cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

# -- (c) build ---------------------------------------------------------------
cmake --build "$BUILD_DIR"

# -- (d) run -----------------------------------------------------------------
case "$mode" in
  demo)
    hello="$BUILD_DIR/examples/hello/hello"
    if [ ! -x "$hello" ]; then
      hello="$(find "$BUILD_DIR" -type f -name hello -perm -u+x -print -quit)"
    fi
    if [ -z "$hello" ] || [ ! -x "$hello" ]; then
      echo "setup: the hello example was not built (examples/hello/main.cpp missing?)" >&2
      exit 1
    fi
    exec "$hello"
    ;;
  test)
    exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 600
    ;;
  build) ;;
esac
