// The table of LUMEN_NATIVE factories, by name and by function pointer.
#include <map>
#include <mutex>

#include "lumen/native_actor.hpp"

namespace lumen::detail {

namespace {

struct native_table {
  std::mutex mtx;
  std::map<std::string, native_factory, std::less<>> by_name;
  std::map<std::string, std::string> key_to_name;
};

native_table& table() {
  static native_table t;
  return t;
}

} // namespace

void register_native(native_factory f, std::string pointer_key) {
  auto& t = table();
  std::lock_guard guard{t.mtx};
  t.key_to_name.emplace(std::move(pointer_key), f.name);
  t.by_name.emplace(f.name, std::move(f));
}

const native_factory* find_native(std::string_view name) {
  auto& t = table();
  std::lock_guard guard{t.mtx};
  auto i = t.by_name.find(name);
  return i == t.by_name.end() ? nullptr : &i->second;
}

const native_factory* find_native_by_key(const std::string& pointer_key) {
  auto& t = table();
  std::lock_guard guard{t.mtx};
  auto k = t.key_to_name.find(pointer_key);
  if (k == t.key_to_name.end())
    return nullptr;
  auto i = t.by_name.find(k->second);
  return i == t.by_name.end() ? nullptr : &i->second;
}

} // namespace lumen::detail
