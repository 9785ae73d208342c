# cmake -DROOT=<source dir> -P check_layout.cmake
#
# The layout rules the include paths cannot express (issue 21, DESIGN.md's
# Layout); fails listing every offence:
# * no `#include "../..."` (or "./...") in src/, actors/ or include/: a
#   folder reaches another only through the include roots its CMake target
#   is given;
# * no two source files of src/, actors/ and include/ share a name;
# * the public headers (include/lumen/) never include actors/, src/ folders
#   or CAF's io layer.
cmake_minimum_required(VERSION 3.22)
if(NOT ROOT)
  message(FATAL_ERROR "check_layout.cmake: pass -DROOT=<source dir>")
endif()
set(_offences "")
file(GLOB_RECURSE _files
  "${ROOT}/src/*.hpp" "${ROOT}/src/*.cpp" "${ROOT}/src/*.h"
  "${ROOT}/actors/*.hpp" "${ROOT}/actors/*.cpp"
  "${ROOT}/include/*.hpp" "${ROOT}/include/*.h")
set(_names "")
foreach(_f IN LISTS _files)
  file(RELATIVE_PATH _rel "${ROOT}" "${_f}")
  get_filename_component(_name "${_f}" NAME)
  if(_name IN_LIST _names)
    list(APPEND _offences "${_rel}: another source file is named ${_name}")
  endif()
  list(APPEND _names "${_name}")
  file(STRINGS "${_f}" _relative REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]\\.\\.?/")
  foreach(_line IN LISTS _relative)
    list(APPEND _offences "${_rel}: relative include: ${_line}")
  endforeach()
  if(_rel MATCHES "^include/")
    file(STRINGS "${_f}" _internal REGEX
      "^[ \t]*#[ \t]*include[ \t]*[\"<](actors|objects|scheduling|lineage|gcs|net|node|wire|storage|api|cli|bench)/|^[ \t]*#[ \t]*include[ \t]*<caf/io/")
    foreach(_line IN LISTS _internal)
      list(APPEND _offences "${_rel}: a public header includes internals: ${_line}")
    endforeach()
  endif()
endforeach()
if(_offences)
  list(JOIN _offences "\n" _text)
  message(FATAL_ERROR "layout rules broken:\n${_text}")
endif()
list(LENGTH _files _n)
message(STATUS "layout rules hold for ${_n} files")
