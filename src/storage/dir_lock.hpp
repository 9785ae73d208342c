// A directory locked by the process that owns it: an exclusive flock on
// the directory, held for as long as the owner lives. The kernel drops it
// when the owner ends however it ends (a SIGKILLed process, a zombie not
// yet reaped), so whoever takes the lock knows the owner is gone, without
// looking at process ids (which `kill(pid, 0)` still finds for a zombie,
// and which the system may give to another process).
#pragma once

#include <string>

namespace lumen::detail {

/// Makes the directory `dir` (mode 0700, missing parents too) if missing,
/// opens it and locks it; returns the open descriptor (close it to
/// unlock), or -1 with the reason in `*why`. Retries while another process
/// holds the lock briefly (one removing a dead owner's directory), or
/// removed the directory between the open and the lock.
int make_locked_dir(const std::string& dir, std::string* why);

/// Locks the existing directory `dir` if no process holds its lock;
/// returns the open descriptor, or -1 if it is held (its owner lives, or
/// is this process), missing, or a symbolic link.
int lock_unheld_dir(const std::string& dir);

} // namespace lumen::detail
