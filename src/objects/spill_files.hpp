// Spill files: the bytes of objects moved out of memory, one file per
// object, in a directory that belongs to one node.
//
// The directory is made with the first file and removed, with every file
// in it, by `remove_all` (at shutdown). It is private (mode 0700, files
// 0600, missing parents 0700), and locked (flock on the directory) for as
// long as this object lives: a node killed before its shutdown leaves a
// directory nobody holds locked, and `remove_dead`, run by every node at
// start and by `lumen stop`, removes it. A lock is held by a live process
// only, so the directories of live nodes, of this cluster or of another
// sharing the runtime directory, are kept. Files are
// written and read with plain POSIX calls and never synced: they only have to
// outlive memory pressure, not a crash. `capacity` bounds the bytes of all
// files together (0: until the disk is full, i.e. until a write fails).
//
// Failures are values: `write` and `read` return no result and say why in
// a string, which the object table puts into the object_store_full_error
// or object_lost_error message its caller sees.
//
// Thread safety: all members may be called from any thread; different
// files may be written, read and removed at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "lumen/detail/byte_buffer.hpp"
#include "lumen/ids.hpp"

namespace lumen::detail {

class spill_files {
 public:
  /// One object's bytes on disk.
  struct file {
    std::string path;
    std::size_t size = 0;
  };

  /// Files go to `directory` (made when needed, parents included), at most
  /// `capacity` bytes of them (0: no limit but the disk's).
  spill_files(std::string directory, std::size_t capacity);

  /// Leaves the files (`remove_all` deletes them) and releases the lock.
  ~spill_files();

  /// Removes the spill directories `<root>/lumen-spill-*` no process holds
  /// locked: those of nodes that ended without removing them. Returns how
  /// many directories went; never throws.
  static std::size_t remove_dead(const std::string& root) noexcept;

  spill_files(const spill_files&) = delete;
  spill_files& operator=(const spill_files&) = delete;

  /// Writes `n` bytes at `data` into a new file named after `id`. Returns
  /// nothing, with the reason in `*why`, if the capacity would be passed,
  /// the directory cannot be made or a write fails (a full disk); no file
  /// is left behind then.
  std::optional<file> write(const object_id& id, const char* data,
                            std::size_t n, std::string* why);

  /// Reads `f` into `out`, replacing its contents. Returns false, with the
  /// reason in `*why`, if the file is missing, shorter or unreadable.
  bool read(const file& f, byte_buffer& out, std::string* why) const;

  /// Deletes `f` and gives its bytes back to the capacity.
  void remove(const file& f) noexcept;

  /// Deletes the directory with everything in it; later writes fail.
  void remove_all() noexcept;

  /// Where the files go.
  const std::string& directory() const noexcept {
    return dir_;
  }

  /// The limit on all files' bytes (0: none but the disk's).
  std::size_t capacity() const noexcept {
    return capacity_;
  }

  /// Bytes in files now.
  std::size_t used_bytes() const noexcept {
    return used_.load(std::memory_order_relaxed);
  }

  /// Files now.
  std::size_t file_count() const noexcept {
    return files_.load(std::memory_order_relaxed);
  }

 private:
  /// Makes the directory once; false with the reason in `*why`.
  bool make_directory(std::string* why);

  std::string dir_;
  std::size_t capacity_;
  std::atomic<std::size_t> used_{0};
  std::atomic<std::size_t> files_{0};
  /// Makes file names unique even for an id that comes back.
  std::atomic<std::uint64_t> serial_{0};
  std::mutex dir_mtx_;
  /// The open, locked directory (-1 until made).
  int lock_fd_ = -1;
  bool made_ = false;
  bool removed_ = false;
};

} // namespace lumen::detail
