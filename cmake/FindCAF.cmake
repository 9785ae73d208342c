# FindCAF.cmake -- find the C++ Actor Framework (CAF) 0.17.
#
# CAF 0.17 (Debian package libcaf-dev) ships neither a CMake package config
# nor a pkg-config file, only headers and the libraries libcaf_core,
# libcaf_io and libcaf_openssl. This module finds them and creates the same
# imported target names newer CAF versions export:
#
#   CAF::core     libcaf_core, links Threads::Threads
#   CAF::io       libcaf_io, links CAF::core (libcaf_io alone fails to link:
#                 "DSO missing from command line")
#   CAF::openssl  libcaf_openssl, links CAF::io and OpenSSL::SSL
#
# Components: core, io, openssl (default: all three). Result variables:
#
#   CAF_FOUND, CAF_VERSION, CAF_INCLUDE_DIR, CAF_<comp>_FOUND,
#   CAF_<comp>_LIBRARY
#
# Hints: CAF_ROOT (or CMAKE_PREFIX_PATH).

include(FindPackageHandleStandardArgs)

set(_caf_all_components core io openssl)
if(CAF_FIND_COMPONENTS)
  set(_caf_components ${CAF_FIND_COMPONENTS})
else()
  set(_caf_components ${_caf_all_components})
endif()

# The components depend on each other: io needs core, openssl needs io.
if("openssl" IN_LIST _caf_components AND NOT "io" IN_LIST _caf_components)
  list(APPEND _caf_components io)
endif()
if("io" IN_LIST _caf_components AND NOT "core" IN_LIST _caf_components)
  list(APPEND _caf_components core)
endif()

find_path(CAF_INCLUDE_DIR
  NAMES caf/config.hpp
  DOC "Directory that contains caf/config.hpp")
mark_as_advanced(CAF_INCLUDE_DIR)

# Version: caf/config.hpp has "#define CAF_VERSION 1706" for 0.17.6.
unset(CAF_VERSION)
set(CAF_CONFIG_HPP "CAF_CONFIG_HPP-NOTFOUND")
if(CAF_INCLUDE_DIR AND EXISTS "${CAF_INCLUDE_DIR}/caf/config.hpp")
  set(CAF_CONFIG_HPP "${CAF_INCLUDE_DIR}/caf/config.hpp")
  file(STRINGS "${CAF_CONFIG_HPP}" _caf_version_line
       REGEX "^#define CAF_VERSION [0-9]+")
  if(_caf_version_line MATCHES "CAF_VERSION ([0-9]+)")
    set(_caf_v "${CMAKE_MATCH_1}")
    math(EXPR _caf_major "${_caf_v} / 10000")
    math(EXPR _caf_minor "(${_caf_v} / 100) % 100")
    math(EXPR _caf_patch "${_caf_v} % 100")
    set(CAF_VERSION "${_caf_major}.${_caf_minor}.${_caf_patch}")
  endif()
  unset(_caf_version_line)
  unset(_caf_v)
  unset(_caf_major)
  unset(_caf_minor)
  unset(_caf_patch)
endif()

foreach(_caf_comp IN LISTS _caf_all_components)
  if(NOT _caf_comp IN_LIST _caf_components)
    continue()
  endif()
  find_library(CAF_${_caf_comp}_LIBRARY
    NAMES caf_${_caf_comp}
    DOC "Path to libcaf_${_caf_comp}")
  mark_as_advanced(CAF_${_caf_comp}_LIBRARY)
  if(CAF_${_caf_comp}_LIBRARY AND CAF_CONFIG_HPP)
    set(CAF_${_caf_comp}_FOUND TRUE)
  else()
    set(CAF_${_caf_comp}_FOUND FALSE)
  endif()
endforeach()

# Dependencies of the components.
if(CAF_core_FOUND)
  find_package(Threads QUIET)
  if(NOT Threads_FOUND)
    set(CAF_core_FOUND FALSE)
  endif()
endif()
if(CAF_io_FOUND AND NOT CAF_core_FOUND)
  set(CAF_io_FOUND FALSE)
endif()
if(CAF_openssl_FOUND)
  if(NOT TARGET OpenSSL::SSL)
    find_package(OpenSSL QUIET COMPONENTS SSL Crypto)
  endif()
  if(NOT TARGET OpenSSL::SSL OR NOT CAF_io_FOUND)
    # libcaf-dev does not pull in libssl-dev, but caf/openssl needs it.
    set(CAF_openssl_FOUND FALSE)
  endif()
endif()

find_package_handle_standard_args(CAF
  REQUIRED_VARS CAF_INCLUDE_DIR CAF_CONFIG_HPP
  VERSION_VAR CAF_VERSION
  HANDLE_COMPONENTS)

if(CAF_FOUND)
  if(CAF_core_FOUND AND NOT TARGET CAF::core)
    add_library(CAF::core UNKNOWN IMPORTED)
    set_target_properties(CAF::core PROPERTIES
      IMPORTED_LOCATION "${CAF_core_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
  if(CAF_io_FOUND AND NOT TARGET CAF::io)
    add_library(CAF::io UNKNOWN IMPORTED)
    set_target_properties(CAF::io PROPERTIES
      IMPORTED_LOCATION "${CAF_io_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES CAF::core)
  endif()
  if(CAF_openssl_FOUND AND NOT TARGET CAF::openssl)
    add_library(CAF::openssl UNKNOWN IMPORTED)
    set_target_properties(CAF::openssl PROPERTIES
      IMPORTED_LOCATION "${CAF_openssl_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "CAF::io;OpenSSL::SSL")
  endif()
endif()

unset(_caf_comp)
unset(_caf_components)
unset(_caf_all_components)
