// Fuzz target: spill files read back (src/objects/spill_files.cpp). A
// spilled object's file may have been cut short, grown or replaced on disk
// by the time its object is read back; `read` must then report why, never
// return other bytes than were written or crash.
//
// Input: a damage byte, a piece for the value written, a piece for what
// replaces or extends the file (fuzz_support.hpp's splitter).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

#include "fuzz_support.hpp"
#include "lumen/detail/byte_buffer.hpp"
#include "objects/spill_files.hpp"

using namespace lumen;
using namespace lumen::detail;

namespace {

std::string dir;
std::unique_ptr<spill_files> files;
std::uint64_t serial = 0;

void remove_dir() {
  if (files)
    files->remove_all();
  files.reset();
  if (!dir.empty())
    std::filesystem::remove_all(dir);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dir = fuzz::scratch_dir("lumen-fuzz-spill");
  // A capacity, so that the bookkeeping of used bytes is checked too.
  files = std::make_unique<spill_files>(dir + "/spill", 1 << 20);
  std::atexit(remove_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fuzz::splitter in{data, size};
  auto damage = in.byte();
  auto value = in.next();
  auto other = in.next();
  object_id id{task_id{1, ++serial}, 1};
  std::string why;
  auto f = files->write(id, value.data(), value.size(), &why);
  if (!f) {
    fuzz::require(!why.empty(), "a failed write says why");
    return 0;
  }
  fuzz::require(f->size == value.size(), "a file records its size");
  bool intact = true;
  switch (damage % 4) {
  case 0: // untouched
    break;
  case 1: // cut short
    std::filesystem::resize_file(f->path, value.size() / 2);
    intact = value.size() / 2 == value.size();
    break;
  case 2: // grown by other bytes
    std::ofstream{f->path, std::ios::binary | std::ios::app}.write(
      other.data(), static_cast<std::streamsize>(other.size()));
    intact = other.empty();
    break;
  default: // replaced
    std::ofstream{f->path, std::ios::binary | std::ios::trunc}.write(
      other.data(), static_cast<std::streamsize>(other.size()));
    intact = other == value;
    break;
  }
  byte_buffer out;
  bool ok = files->read(*f, out, &why);
  if (intact) {
    fuzz::require(ok, "an intact spill file reads back");
  }
  if (ok) {
    // What comes back is exactly the recorded size, and it is the value
    // unless the file was replaced by bytes of the same length.
    fuzz::require(out.size() == f->size, "a read returns the recorded size");
    if (damage % 4 != 3)
      fuzz::require(out.size() == 0 ||
                      std::memcmp(out.data(), value.data(), out.size()) == 0,
                    "a read returns the bytes written");
  } else {
    fuzz::require(!why.empty(), "a failed read says why");
  }
  files->remove(*f);
  fuzz::require(files->used_bytes() == 0 && files->file_count() == 0,
                "removing every file gives its bytes back");
  return 0;
}
