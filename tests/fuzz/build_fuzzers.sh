# Sourced by run_fuzzers.sh and fuzz.sh: configures BUILD_DIR for the
# libFuzzer targets with clang (LUMEN_FUZZ=ON) and builds them.
#
#   lumen_fuzz_build SOURCE_DIR BUILD_DIR
#
# LUMEN_FUZZ_CC / LUMEN_FUZZ_CXX pick the compilers (default clang-14 or
# clang). Without clang it fails with what to install.

lumen_fuzz_pick() {
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return
    fi
  done
}

lumen_fuzz_build() {
  local src="$1" build="$2"
  local cc cxx
  cc="${LUMEN_FUZZ_CC:-$(lumen_fuzz_pick clang-14 clang)}"
  cxx="${LUMEN_FUZZ_CXX:-$(lumen_fuzz_pick clang++-14 clang++)}"
  if [ -z "$cc" ] || [ -z "$cxx" ]; then
    echo "fuzz: FAILED: clang is not installed, so the fuzz targets cannot be" \
      "built. Install the Debian packages clang and libclang-rt-14-dev" \
      "(bash .ci/setup.sh does)." >&2
    return 1
  fi
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$src}"
  export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
  local generator=()
  if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
  echo "fuzz: configuring $build with $cxx"
  cmake -S "$src" -B "$build" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DLUMEN_FUZZ=ON -DBUILD_TESTING=OFF -DLUMEN_BUILD_EXAMPLES=OFF >/dev/null ||
    return 1
  echo "fuzz: building the fuzz targets"
  cmake --build "$build" --target lumen_fuzzers -j 2
}

# The targets, in the order they run by default.
lumen_fuzz_targets=(fuzz_task_spec fuzz_cluster_messages fuzz_gcs_rows
  fuzz_stash_record fuzz_object_codec fuzz_spill_file)
