# LumenDeps.cmake -- find every third-party dependency of Lumen.
#
# Every find is QUIET; a missing dependency stops configure with a message
# that names the Debian package(s) to install (.ci/setup.sh installs them
# all). See /work/shared/TOOLCHAIN.md for the traps behind each one.

# lumen_missing_dependency(<what> <debian packages...>)
function(lumen_missing_dependency what)
  string(REPLACE ";" " " _pkgs "${ARGN}")
  message(FATAL_ERROR
    "Lumen: ${what} was not found.\n"
    "Install the Debian package(s): ${_pkgs}\n"
    "  apt-get install --no-install-recommends ${_pkgs}\n"
    "(or run 'bash .ci/setup.sh test', which installs everything Lumen needs).")
endfunction()

# pkg-config: Cap'n Proto's CMake config builds its targets from .pc files.
find_package(PkgConfig QUIET)
if(NOT PKG_CONFIG_FOUND)
  lumen_missing_dependency("pkg-config" pkg-config)
endif()

find_package(Threads QUIET)
if(NOT Threads_FOUND)
  lumen_missing_dependency("Threads (pthreads)" libc6-dev)
endif()

# OpenSSL: needed by caf_openssl (libcaf-dev does not pull it in) and by
# Cap'n Proto's config.
find_package(OpenSSL QUIET COMPONENTS SSL Crypto)
if(NOT OpenSSL_FOUND OR NOT TARGET OpenSSL::SSL)
  lumen_missing_dependency("OpenSSL (headers and libssl/libcrypto)" libssl-dev)
endif()

# CAF 0.17: no CMake config, see cmake/FindCAF.cmake.
find_package(CAF 0.17 QUIET COMPONENTS core io openssl)
if(NOT CAF_FOUND)
  lumen_missing_dependency(
    "CAF 0.17 (C++ Actor Framework: caf_core, caf_io, caf_openssl)" libcaf-dev)
endif()

# Cap'n Proto: its config needs the C language enabled (libatomic check)
# and pkg-config; the schema compiler comes from the 'capnproto' package.
find_package(CapnProto QUIET CONFIG)
if(NOT CapnProto_FOUND OR NOT TARGET CapnProto::capnp)
  lumen_missing_dependency("Cap'n Proto (CapnProto CMake config, libcapnp)"
                           libcapnp-dev capnproto)
endif()
if(NOT CAPNP_EXECUTABLE OR NOT EXISTS "${CAPNP_EXECUTABLE}"
   OR NOT CAPNPC_CXX_EXECUTABLE OR NOT EXISTS "${CAPNPC_CXX_EXECUTABLE}")
  lumen_missing_dependency(
    "the Cap'n Proto schema compiler (capnp, capnpc-c++)" capnproto)
endif()

# RocksDB: RocksDB::rocksdb-shared is the shared library (RocksDB::rocksdb is
# the static archive and drags in gflags, snappy, zlib, bz2, lz4, zstd).
find_package(RocksDB QUIET CONFIG)
if(NOT RocksDB_FOUND OR NOT TARGET RocksDB::rocksdb-shared)
  lumen_missing_dependency("RocksDB (RocksDB CMake config)" librocksdb-dev)
endif()

# Boost.ProgramOptions (the Debian package ships BoostConfig.cmake; asking
# for CONFIG avoids FindBoost, which newer CMake versions no longer ship).
find_package(Boost 1.74 QUIET CONFIG COMPONENTS program_options)
if(NOT Boost_FOUND OR NOT TARGET Boost::program_options)
  lumen_missing_dependency("Boost.ProgramOptions >= 1.74"
                           libboost-program-options-dev)
endif()

# spdlog: the logger behind src/log/log.cpp (only that file includes
# it). Debian's CAF 0.17.6 is built with CAF_LOG_LEVEL_QUIET, so CAF's own
# logger is compiled out; spdlog::spdlog is Debian's shared build on fmt 9.
find_package(spdlog 1.10 QUIET CONFIG)
if(NOT spdlog_FOUND OR NOT TARGET spdlog::spdlog)
  lumen_missing_dependency("spdlog >= 1.10 (spdlog CMake config)"
                           libspdlog-dev)
endif()

# jemalloc: the allocator of the `lumen` tool (nodes, microbenchmark). Where
# one thread frees what another allocated, glibc malloc takes arena locks;
# jemalloc took about a quarter off the CPU per task (README "Performance").
pkg_check_modules(JEMALLOC QUIET IMPORTED_TARGET jemalloc)
if(NOT JEMALLOC_FOUND)
  lumen_missing_dependency("jemalloc (jemalloc.pc)" libjemalloc-dev)
endif()

message(STATUS "Lumen dependencies: CAF ${CAF_VERSION}, "
               "Cap'n Proto ${CapnProto_VERSION}, RocksDB ${RocksDB_VERSION}, "
               "Boost ${Boost_VERSION}, OpenSSL ${OPENSSL_VERSION}, "
               "spdlog ${spdlog_VERSION}")
