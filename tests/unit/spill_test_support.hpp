// Helpers shared by the spilling unit tests (runtime_spill_files_test.cpp,
// runtime_object_table_spill_test.cpp): a real temporary directory and a
// look at the files in it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace spill_test {

/// A fresh directory under the system's temp directory, removed with
/// everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    auto tmpl =
      (std::filesystem::temp_directory_path() / "lumen-spill-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }

  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

  /// `path()/name`.
  std::string sub(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

/// Names of the regular files in `dir` (none if it does not exist).
inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> result;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    if (it->is_regular_file())
      result.push_back(it->path().filename().string());
  return result;
}

/// Whether a file in `dir` belongs to the object whose id renders as `id`
/// (spill files are named `<id>-<serial>`).
inline bool has_file_for(const std::string& dir, const std::string& id) {
  for (auto& f : files_in(dir))
    if (f.rfind(id + "-", 0) == 0)
      return true;
  return false;
}

} // namespace spill_test
