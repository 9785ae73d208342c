// folder: scheduling
// expect: COMPILES
//
// The control for the two checks beside it: the allowed direction compiles
// with the same machinery (src/scheduling/ sees src/objects/ and
// src/wire/, and CAF).
#include "objects/object_table.hpp"
#include "scheduling/local_scheduler.hpp"
#include "wire/task_spec.hpp"
