// The process-wide function registry behind LUMEN_REMOTE.
#include "lumen/detail/registry.hpp"

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "lumen/error.hpp"

namespace lumen::detail {

namespace {

struct registry {
  std::shared_mutex mtx;
  // Entries live as long as the process; the maps point into them.
  std::vector<std::unique_ptr<function_entry>> entries;
  std::unordered_map<std::string, const function_entry*> by_name;
  std::unordered_map<std::string, const function_entry*> by_key;
  std::unordered_map<std::string, std::string> key_of_name;
};

registry& instance() {
  static registry r;
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' ||
                        s.front() == '\n' || s.front() == '&'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  if (s.size() > 2 && s.substr(0, 2) == "::")
    s.remove_prefix(2);
  return s;
}

} // namespace

void register_function(function_entry entry, std::string pointer_key) {
  auto& r = instance();
  std::unique_lock guard{r.mtx};
  if (auto i = r.key_of_name.find(entry.name); i != r.key_of_name.end()) {
    if (i->second == pointer_key)
      return;
    // The same name from another binary (a library loaded next to the
    // driver that also registers it) points at other code with the same
    // meaning; keep the first so pointers from both resolve to one name.
    if (auto j = r.by_key.find(pointer_key); j == r.by_key.end())
      r.by_key.emplace(std::move(pointer_key), r.by_name[entry.name]);
    return;
  }
  auto owned = std::make_unique<function_entry>(std::move(entry));
  auto* ptr = owned.get();
  r.entries.push_back(std::move(owned));
  r.by_name.emplace(ptr->name, ptr);
  r.key_of_name.emplace(ptr->name, pointer_key);
  r.by_key.emplace(std::move(pointer_key), ptr);
}

const function_entry* find_function(std::string_view name) {
  // As in find_function_by_key: a thread's last hit skips the lock (an
  // actor's worker thread calls the same methods over and over).
  thread_local const function_entry* last_entry = nullptr;
  if (last_entry != nullptr && last_entry->name == name)
    return last_entry;
  auto& r = instance();
  std::shared_lock guard{r.mtx};
  auto i = r.by_name.find(std::string{name});
  if (i == r.by_name.end())
    return nullptr;
  last_entry = i->second;
  return last_entry;
}

const function_entry* find_function_by_key(const std::string& pointer_key) {
  // Entries never move or go away, so a thread may remember its last hit
  // and skip the shared lock when it calls the same function again.
  thread_local std::string last_key;
  thread_local const function_entry* last_entry = nullptr;
  if (last_entry != nullptr && last_key == pointer_key)
    return last_entry;
  auto& r = instance();
  std::shared_lock guard{r.mtx};
  auto i = r.by_key.find(pointer_key);
  if (i == r.by_key.end())
    return nullptr;
  last_key = pointer_key;
  last_entry = i->second;
  return last_entry;
}

std::vector<std::string> split_remote_names(std::string_view text) {
  std::vector<std::string> result;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ',';
    if (c == '<' || c == '(' || c == '[')
      ++depth;
    else if (c == '>' || c == ')' || c == ']')
      --depth;
    else if (c == ',' && depth == 0) {
      auto name = trim(text.substr(start, i - start));
      if (name.empty())
        throw error("LUMEN_REMOTE: empty function name in '" +
                    std::string{text} + "'");
      result.emplace_back(name);
      start = i + 1;
    }
  }
  return result;
}

} // namespace lumen::detail
