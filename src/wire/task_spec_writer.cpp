// TaskSpec as Cap'n Proto words, written directly (task_spec_writer.hpp).
#include "wire/task_spec_writer.hpp"

#include <cstdint>
#include <cstring>

#include "wire/codec_support.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

namespace {

using word_index = std::size_t;

// Struct sizes (data words, pointers) as the schema compiler laid them out.
template <class T>
constexpr std::uint64_t data_words = T::_capnpPrivate::dataWordSize;
template <class T>
constexpr std::uint64_t pointers = T::_capnpPrivate::pointerCount;

static_assert(data_words<wire::TaskSpec> == 4 &&
              pointers<wire::TaskSpec> == 12);
static_assert(data_words<wire::TaskId> == 2 && pointers<wire::TaskId> == 0);
static_assert(data_words<wire::ObjectId> == 1 && pointers<wire::ObjectId> == 1);
static_assert(data_words<wire::Arg> == 1 && pointers<wire::Arg> == 2);
static_assert(data_words<wire::ValueArg> == 0 && pointers<wire::ValueArg> == 3);
static_assert(data_words<wire::Resource> == 1 && pointers<wire::Resource> == 1);

template <class T>
constexpr std::size_t struct_words = data_words<T> + pointers<T>;

/// Words of a Text of n bytes (with its NUL), or of Data of n bytes.
constexpr std::size_t text_size(std::size_t n) {
  return (n + 8) / 8;
}
constexpr std::size_t data_size(std::size_t n) {
  return (n + 7) / 8;
}

/// Words an ObjectId takes with its TaskId.
constexpr std::size_t object_id_words =
  struct_words<wire::ObjectId> + struct_words<wire::TaskId>;

/// A composite list of n elements of `each` words (with its tag), or
/// nothing (a null pointer reads as an empty list).
constexpr std::size_t list_words(std::size_t n, std::size_t each) {
  return n == 0 ? 0 : 1 + n * each;
}

/// The message's segment, written in place in a zeroed buffer.
class segment_writer {
 public:
  explicit segment_writer(char* base) : base_(base) {}

  word_index alloc(std::size_t words) {
    auto at = next_;
    next_ += words;
    return at;
  }

  void put64(word_index w, std::size_t byte, std::uint64_t v) {
    std::memcpy(base_ + w * 8 + byte, &v, sizeof(v));
  }
  void put32(word_index w, std::size_t byte, std::uint32_t v) {
    std::memcpy(base_ + w * 8 + byte, &v, sizeof(v));
  }
  void put16(word_index w, std::size_t byte, std::uint16_t v) {
    std::memcpy(base_ + w * 8 + byte, &v, sizeof(v));
  }
  void put_double(word_index w, std::size_t byte, double v) {
    std::memcpy(base_ + w * 8 + byte, &v, sizeof(v));
  }
  void put_bytes(word_index w, const void* p, std::size_t n) {
    if (n > 0)
      std::memcpy(base_ + w * 8, p, n);
  }

  /// Pointer word `at` -> a struct T at `target`.
  template <class T>
  void struct_ptr(word_index at, word_index target) {
    put64(at, 0,
          offset_bits(at, target) | (data_words<T> << 32) |
            (pointers<T> << 48));
  }

  /// Pointer word `at` -> a list at `target` (element size code, count).
  void list_ptr(word_index at, word_index target, std::uint64_t code,
                std::uint64_t count) {
    put64(at, 0, offset_bits(at, target) | 1 | (code << 32) | (count << 35));
  }

  /// A composite list at `at`'s target: n elements of struct T; returns
  /// the first element's word.
  template <class T>
  word_index composite(word_index at, std::size_t n) {
    auto tag = alloc(1 + n * struct_words<T>);
    list_ptr(at, tag, 7, n * struct_words<T>);
    put64(tag, 0,
          (std::uint64_t{n} << 2) | (data_words<T> << 32) |
            (pointers<T> << 48));
    return tag + 1;
  }

  /// Pointer word `at` -> Text `s` (null for an empty one).
  void text(word_index at, const std::string& s) {
    if (s.empty())
      return;
    auto w = alloc(text_size(s.size()));
    list_ptr(at, w, 2, s.size() + 1);
    put_bytes(w, s.data(), s.size());
  }

  void task_id_at(word_index at, const task_id& id) {
    auto w = alloc(struct_words<wire::TaskId>);
    struct_ptr<wire::TaskId>(at, w);
    put64(w, 0, id.hi);
    put64(w + 1, 0, id.lo);
  }

  /// The ObjectId struct at `w` (its TaskId allocated after).
  void object_id_body(word_index w, const object_id& id) {
    put32(w, 0, id.index);
    task_id_at(w + 1, id.task);
  }

  void object_id_at(word_index at, const object_id& id) {
    auto w = alloc(struct_words<wire::ObjectId>);
    struct_ptr<wire::ObjectId>(at, w);
    object_id_body(w, id);
  }

 private:
  static std::uint64_t offset_bits(word_index at, word_index target) {
    auto offset =
      static_cast<std::int64_t>(target) - static_cast<std::int64_t>(at) - 1;
    return static_cast<std::uint32_t>(static_cast<std::uint32_t>(offset) << 2);
  }

  char* base_;
  word_index next_ = 0;
};

/// Words `spec` takes, or 0 if write_task_spec leaves it to the builder.
std::size_t words_of(const task_spec& spec) {
  using wire_support::max_elements;
  auto fits = [](std::size_t n) {
    return n <= max_elements;
  };
  if (!fits(spec.function.size() + 1) || !fits(spec.options.name.size() + 1) ||
      !fits(spec.args.size()) || !fits(spec.options.resources.size()) ||
      !fits(spec.ns.size() + 1) || !fits(spec.options.capture_pg.size() + 1))
    return 0;
  // A list of retried exception types is rare: left to the builder.
  if (!spec.options.retry_on.empty())
    return 0;
  std::size_t words =
    1 + struct_words<wire::TaskSpec> + 3 * struct_words<wire::TaskId> +
    text_size(spec.function.size()) +
    (spec.options.name.empty() ? 0 : text_size(spec.options.name.size())) +
    (spec.ns.empty() ? 0 : text_size(spec.ns.size())) +
    (spec.options.capture_pg.empty()
       ? 0
       : text_size(spec.options.capture_pg.size())) +
    list_words(spec.args.size(), struct_words<wire::Arg>) +
    list_words(spec.options.resources.size(), struct_words<wire::Resource>) +
    object_id_words;
  for (const auto& arg : spec.args) {
    if (static_cast<bool>(arg.value) == static_cast<bool>(arg.ref))
      return 0;
    if (arg.ref) {
      words += object_id_words;
      continue;
    }
    const auto& obj = *arg.value;
    if (obj.error || !fits(obj.bytes.size()) || !fits(obj.refs.size()))
      return 0;
    words += struct_words<wire::ValueArg> + data_size(obj.bytes.size()) +
             list_words(obj.refs.size(), struct_words<wire::ObjectId>) +
             obj.refs.size() * struct_words<wire::TaskId>;
  }
  for (const auto& [name, amount] : spec.options.resources) {
    if (!fits(name.size() + 1))
      return 0;
    words += name.empty() ? 0 : text_size(name.size());
  }
  return fits(words) ? words : 0;
}

void write_arg(segment_writer& w, word_index arg_at, const task_arg& arg) {
  auto ptr = arg_at + data_words<wire::Arg>;
  if (arg.ref) {
    w.put16(arg_at, 0, static_cast<std::uint16_t>(wire::Arg::REF));
    w.object_id_at(ptr, arg.ref.id());
    return;
  }
  // Arg::VALUE is 0: the discriminant stays as zeroed.
  static_assert(wire::Arg::VALUE == 0);
  const auto& obj = *arg.value;
  auto value = w.alloc(struct_words<wire::ValueArg>);
  w.struct_ptr<wire::ValueArg>(ptr, value);
  if (!obj.bytes.empty()) {
    auto bytes = w.alloc(data_size(obj.bytes.size()));
    w.list_ptr(value, bytes, 2, obj.bytes.size());
    w.put_bytes(bytes, obj.bytes.data(), obj.bytes.size());
  }
  if (!obj.refs.empty()) {
    auto first = w.composite<wire::ObjectId>(value + 1, obj.refs.size());
    for (std::size_t j = 0; j < obj.refs.size(); ++j)
      w.object_id_body(first + j * struct_words<wire::ObjectId>,
                       obj.refs[j].id());
  }
}

} // namespace

bool write_task_spec(std::string& out, const task_spec& spec) {
  auto words = words_of(spec);
  if (words == 0)
    return false;
  auto at = out.size();
  out.resize(at + 8 * (1 + words)); // zeroed: every field not set is 0
  // The segment table: one segment of `words` words.
  auto count = static_cast<std::uint32_t>(words);
  std::memcpy(out.data() + at + 4, &count, sizeof(count));
  segment_writer w{out.data() + at + 8};
  auto root = w.alloc(1);
  auto s = w.alloc(struct_words<wire::TaskSpec>);
  w.struct_ptr<wire::TaskSpec>(root, s);
  // Data section (offsets from the generated accessors).
  w.put32(s, 0, spec.depth);
  w.put32(s, 4, static_cast<std::uint32_t>(spec.options.max_retries));
  w.put_double(s + 1, 0, spec.options.num_cpus);
  w.put32(s + 2, 0, spec.attempt);
  if (spec.options.retry_exceptions)
    w.put16(s + 2, 4, 1); // bit 160
  if (spec.options.streaming)
    w.put32(s + 3, 0, spec.options.max_unconsumed + 1); // stream: bits 192..
  auto p = s + data_words<wire::TaskSpec>;
  w.task_id_at(p + 0, spec.id);
  w.task_id_at(p + 1, spec.parent);
  w.text(p + 2, spec.function);
  w.text(p + 3, spec.options.name);
  if (!spec.args.empty()) {
    auto first = w.composite<wire::Arg>(p + 4, spec.args.size());
    for (std::size_t i = 0; i < spec.args.size(); ++i)
      write_arg(w, first + i * struct_words<wire::Arg>, spec.args[i]);
  }
  if (!spec.options.resources.empty()) {
    auto first =
      w.composite<wire::Resource>(p + 5, spec.options.resources.size());
    std::size_t i = 0;
    for (const auto& [name, amount] : spec.options.resources) {
      auto r = first + i++ * struct_words<wire::Resource>;
      w.put_double(r, 0, amount);
      w.text(r + 1, name);
    }
  }
  w.object_id_at(p + 6, spec.return_id);
  // p + 7, lineage: none.
  w.task_id_at(p + 8, spec.job);
  w.text(p + 9, spec.ns);
  w.text(p + 10, spec.options.capture_pg);
  // p + 11, retryOn: none (see words_of).
  return true;
}

} // namespace lumen::detail
