// The runtime directory (`$LUMEN_RUNTIME_DIR`, else `/tmp/lumen-<uid>`):
// node files, logs, GCS tables, stashes and spill files of this user's
// nodes and drivers. It is private: made with mode 0700, and refused when
// another user owns it or others may write to it (they could plant node
// files that make `lumen stop` signal their processes, or read the GCS's
// rows). One that others may only read and enter (as an older lumen made
// it: nobody else could put anything in it) is made private, with a
// warning.
//
// Thread safety: plain functions.
#pragma once

#include <string>

namespace lumen::detail {

/// Throws lumen::error, saying what to do, if `dir` exists but is not a
/// directory of this user, or others may write to it; makes a directory of
/// this user that others may only read private (mode 0700).
void check_runtime_dir(const std::string& dir);

/// Makes `dir` (mode 0700; missing parents 0700 too) if missing, then
/// check_runtime_dir. Throws lumen::error if it cannot.
void prepare_runtime_dir(const std::string& dir);

} // namespace lumen::detail
