// Conversion between task specs / error infos and their Cap'n Proto form.
//
// Decoding reads untrusted bytes. Cap'n Proto checks the structure (bounds,
// pointer kinds, segment table) and reports it with kj::Exception; the
// traversal limit, derived from the input size, bounds the work a message
// with amplifying pointers can cause. Each pointer field is read exactly once
// so a well-formed message stays far below that limit. Meaning is checked
// here, and references are resolved only once the whole message is valid, so
// a rejected message never calls the resolver.
#include "wire/task_spec_codec.hpp"
#include "wire/task_spec_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "lumen/error.hpp"
#include "lumen/wire/task_spec.capnp.h"
#include "wire/codec_support.hpp"

namespace lumen::detail {

namespace {

using namespace wire_support;

// -- limits -------------------------------------------------------------------

// -- ids ----------------------------------------------------------------------

// -- encoding helpers ---------------------------------------------------------

/// Upper estimate of the words `spec` takes, so that the builder's first
/// segment usually holds the whole message (one allocation, one segment).
std::size_t estimate_words(const task_spec& spec) {
  std::size_t words = 32 + text_words(spec.function.size()) +
                      text_words(spec.options.name.size());
  for (const auto& arg : spec.args) {
    words += 8;
    if (arg.value)
      words += arg.value->bytes.size() / 8 + 1 + 4 * arg.value->refs.size();
  }
  for (const auto& [name, amount] : spec.options.resources)
    words += 3 + text_words(name.size());
  for (const auto& l : spec.lineage)
    words += 2 + l.size() / 8 + 1;
  return words;
}

[[noreturn]] void reject_arg(std::size_t i, const char* why) {
  throw std::invalid_argument("encode_task_spec: args[" + std::to_string(i) +
                              "] " + why);
}

void encode_arg(wire::Arg::Builder out, const task_arg& arg, std::size_t i,
                const ref_owner_fn* owner_of) {
  if (arg.value && arg.ref)
    reject_arg(i, "has both a value and a ref");
  if (arg.ref) {
    write_id(out.initRef(), arg.ref.id());
    if (owner_of != nullptr)
      out.setOwner(text((*owner_of)(arg.ref.get())));
    return;
  }
  if (!arg.value)
    reject_arg(i, "has neither a value nor a ref");
  const auto& obj = *arg.value;
  if (obj.error)
    reject_arg(i, "is an error object; pass it by ref");
  auto value = out.initValue();
  auto bytes = value.initBytes(element_count(obj.bytes.size(), "value"));
  if (!obj.bytes.empty())
    std::memcpy(bytes.begin(), obj.bytes.data(), obj.bytes.size());
  auto refs = value.initNestedRefs(element_count(obj.refs.size(), "refs"));
  for (std::size_t j = 0; j < obj.refs.size(); ++j)
    write_id(refs[static_cast<unsigned int>(j)], obj.refs[j].id());
  if (owner_of == nullptr || obj.refs.empty())
    return;
  auto owners =
    value.initNestedOwners(static_cast<unsigned int>(obj.refs.size()));
  for (std::size_t j = 0; j < obj.refs.size(); ++j)
    owners.set(static_cast<unsigned int>(j),
               text((*owner_of)(obj.refs[j].get())));
}

// -- decoding helpers ---------------------------------------------------------

/// An argument as read from the wire, before its refs are resolved.
struct parsed_arg {
  bool is_ref = false;
  object_id ref;
  byte_buffer bytes;
  std::vector<object_id> nested;
  /// Owners of `ref` (one) or of `nested` (same length), or empty.
  std::vector<std::string> owners;
};

/// Reads the spec except its arguments, which go to `args`.
task_spec read_spec(const char* what, wire::TaskSpec::Reader in,
                    std::vector<parsed_arg>& args) {
  task_spec spec;
  spec.id = read_id(in.getId());
  spec.parent = read_id(in.getParent());
  spec.job = read_id(in.getJob());
  spec.depth = in.getDepth();
  spec.function = to_std(in.getFunction());
  if (spec.function.empty())
    fail(what, "function is empty");
  spec.options.name = to_std(in.getName());
  spec.options.num_cpus = in.getNumCpus();
  if (!std::isfinite(spec.options.num_cpus) || spec.options.num_cpus < 0)
    fail(what, "numCpus is " + num(spec.options.num_cpus) +
                 ", must be finite and >= 0");
  auto resources = in.getResources();
  for (unsigned int i = 0; i < resources.size(); ++i) {
    auto resource = resources[i];
    auto field = [i] {
      return "resources[" + std::to_string(i) + "]";
    };
    auto name = to_std(resource.getName());
    if (name.empty())
      fail(what, field() + ".name is empty");
    auto amount = resource.getAmount();
    if (!std::isfinite(amount) || amount < 0)
      fail(what,
           field() + ".amount is " + num(amount) + ", must be finite and >= 0");
    if (!spec.options.resources.emplace(std::move(name), amount).second)
      fail(what,
           field() + ".name repeats '" + to_std(resource.getName()) + "'");
  }
  spec.options.max_retries = in.getMaxRetries();
  spec.return_id = read_id(in.getReturnId());
  spec.attempt = in.getAttempt();
  spec.options.retry_exceptions = in.getRetryExceptions();
  if (auto stream = in.getStream(); stream != 0) {
    spec.options.streaming = true;
    spec.options.max_unconsumed = stream - 1;
  }
  spec.ns = to_std(in.getNs());
  spec.options.capture_pg = to_std(in.getCapturePg());
  for (auto type : in.getRetryOn())
    spec.options.retry_on.push_back(to_std(type));
  for (auto entry : in.getLineage())
    spec.lineage.emplace_back(reinterpret_cast<const char*>(entry.begin()),
                              entry.size());
  auto wire_args = in.getArgs();
  args.resize(wire_args.size());
  for (unsigned int i = 0; i < wire_args.size(); ++i) {
    auto arg = wire_args[i];
    auto& out = args[i];
    switch (arg.which()) {
    case wire::Arg::REF:
      out.is_ref = true;
      out.ref = read_id(arg.getRef());
      if (arg.hasOwner())
        out.owners.push_back(to_std(arg.getOwner()));
      break;
    case wire::Arg::VALUE: {
      auto value = arg.getValue();
      auto bytes = value.getBytes();
      out.bytes.append(bytes.begin(), bytes.size());
      auto nested = value.getNestedRefs();
      out.nested.reserve(nested.size());
      for (auto id : nested)
        out.nested.push_back(read_id(id));
      auto owners = value.getNestedOwners();
      if (owners.size() != 0 && owners.size() != nested.size())
        fail(what, "args[" + std::to_string(i) + "].value has " +
                     std::to_string(owners.size()) + " nestedOwners for " +
                     std::to_string(nested.size()) + " nestedRefs");
      out.owners.reserve(owners.size());
      for (auto owner : owners)
        out.owners.push_back(to_std(owner));
      break;
    }
    default:
      fail(what, "args[" + std::to_string(i) + "] has unknown kind " +
                   std::to_string(static_cast<unsigned>(arg.which())));
    }
  }
  return spec;
}

/// Marks a ref argument in `resolve_arg`, as opposed to a nested ref.
constexpr std::size_t no_index = static_cast<std::size_t>(-1);

/// Resolves the ref of args[i] (`j` is `no_index`) or its nestedRefs[j].
ref_ptr resolve_arg(const char* what, const owned_ref_resolver& resolve,
                    const object_id& id, const std::string& owner,
                    std::size_t i, std::size_t j) {
  auto result = resolve(id, owner);
  if (!result) {
    auto field = "args[" + std::to_string(i) + "]";
    field += j == no_index ? ".ref" : ".nestedRefs[" + std::to_string(j) + "]";
    fail(what, field + ": no reference for object " + id.to_string());
  }
  return result;
}

} // namespace

// -- task specs ---------------------------------------------------------------

namespace {

/// Writes `spec` (and its lineage only if `with_lineage`) into `builder`.
void build_spec(capnp::MessageBuilder& builder, const task_spec& spec,
                bool with_lineage, const ref_owner_fn* owner_of = nullptr) {
  auto out = builder.initRoot<wire::TaskSpec>();
  write_id(out.initId(), spec.id);
  write_id(out.initParent(), spec.parent);
  write_id(out.initJob(), spec.job);
  out.setDepth(spec.depth);
  out.setFunction(text(spec.function));
  out.setName(text(spec.options.name));
  auto args = out.initArgs(element_count(spec.args.size(), "args"));
  for (std::size_t i = 0; i < spec.args.size(); ++i)
    encode_arg(args[static_cast<unsigned int>(i)], spec.args[i], i, owner_of);
  out.setNumCpus(spec.options.num_cpus);
  auto resources = out.initResources(
    element_count(spec.options.resources.size(), "resources"));
  unsigned int i = 0;
  for (const auto& [name, amount] : spec.options.resources) {
    auto resource = resources[i++];
    resource.setName(text(name));
    resource.setAmount(amount);
  }
  out.setMaxRetries(static_cast<std::int32_t>(spec.options.max_retries));
  write_id(out.initReturnId(), spec.return_id);
  out.setAttempt(spec.attempt);
  out.setRetryExceptions(spec.options.retry_exceptions);
  if (spec.options.streaming)
    out.setStream(spec.options.max_unconsumed + 1);
  if (!spec.ns.empty())
    out.setNs(text(spec.ns));
  if (!spec.options.capture_pg.empty())
    out.setCapturePg(text(spec.options.capture_pg));
  if (auto& types = spec.options.retry_on; !types.empty()) {
    auto list = out.initRetryOn(element_count(types.size(), "retryOn"));
    for (std::size_t j = 0; j < types.size(); ++j)
      list.set(static_cast<unsigned int>(j), text(types[j]));
  }
  // Without it, the same bytes as a copy of `spec` with no lineage.
  auto n = with_lineage ? spec.lineage.size() : 0;
  auto lineage = out.initLineage(element_count(n, "lineage"));
  for (std::size_t j = 0; j < n; ++j)
    lineage.set(static_cast<unsigned int>(j),
                capnp::Data::Reader{
                  reinterpret_cast<const capnp::byte*>(spec.lineage[j].data()),
                  spec.lineage[j].size()});
}

/// Words of the zeroed first segment each thread reuses for specs that
/// fit (MallocMessageBuilder zeroes what it used again when it is done).
constexpr std::size_t scratch_words = 1024;

} // namespace

byte_buffer encode_task_spec(const task_spec& spec) {
  return encode_task_spec(spec, ref_owner_fn{});
}

byte_buffer encode_task_spec(const task_spec& spec,
                             const ref_owner_fn& owner_of) {
  try {
    // Oversized specs fail below, on the field that does not fit.
    auto first_segment = std::min(estimate_words(spec), max_elements);
    capnp::MallocMessageBuilder builder{
      static_cast<unsigned int>(first_segment)};
    build_spec(builder, spec, true, owner_of ? &owner_of : nullptr);
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_task_spec: " + to_std(e.getDescription()));
  }
}

void append_task_spec(std::string& out, const task_spec& spec) {
  if (write_task_spec(out, spec))
    return;
  // What the direct writer leaves: the builder reports what is wrong.
  thread_local std::unique_ptr<capnp::word[]> scratch{
    new capnp::word[scratch_words]()};
  auto append = [&](capnp::MessageBuilder& builder) {
    build_spec(builder, spec, false);
    auto bytes =
      capnp::computeSerializedSizeInWords(builder) * sizeof(capnp::word);
    auto at = out.size();
    out.resize(at + bytes);
    kj::ArrayOutputStream stream{
      kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data() + at), bytes)};
    capnp::writeMessage(stream, builder);
  };
  try {
    auto words = std::min(estimate_words(spec), max_elements);
    if (words <= scratch_words) {
      capnp::MallocMessageBuilder builder{
        kj::arrayPtr(scratch.get(), scratch_words)};
      append(builder);
    } else {
      capnp::MallocMessageBuilder builder{static_cast<unsigned int>(words)};
      append(builder);
    }
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_task_spec: " + to_std(e.getDescription()));
  }
}

task_spec decode_task_spec(const char* data, std::size_t size,
                           const ref_resolver& resolve) {
  return decode_task_spec_owned(
    data, size, [&resolve](const object_id& id, const std::string&) {
      return resolve(id);
    });
}

task_spec decode_task_spec_owned(const char* data, std::size_t size,
                                 const owned_ref_resolver& resolve) {
  constexpr const char* what = "decode_task_spec";
  std::vector<parsed_arg> parsed;
  auto spec = with_message(what, data, size, [&](auto& reader) {
    return read_spec(what, reader.template getRoot<wire::TaskSpec>(), parsed);
  });
  spec.args.reserve(parsed.size());
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    auto& in = parsed[i];
    task_arg arg;
    if (in.is_ref) {
      static const std::string unknown;
      arg.ref =
        resolve_arg(what, resolve, in.ref,
                    in.owners.empty() ? unknown : in.owners[0], i, no_index);
    } else {
      auto obj = std::make_shared<object_data>();
      obj->bytes = std::move(in.bytes);
      obj->refs.reserve(in.nested.size());
      for (std::size_t j = 0; j < in.nested.size(); ++j)
        obj->refs.push_back(
          resolve_arg(what, resolve, in.nested[j],
                      in.owners.empty() ? std::string{} : in.owners[j], i, j));
      arg.value = std::move(obj);
    }
    spec.args.push_back(std::move(arg));
  }
  return spec;
}

// -- error infos --------------------------------------------------------------

byte_buffer encode_error_info(const error_info& info) {
  try {
    auto words = 8 + text_words(info.type_name.size()) +
                 text_words(info.message.size()) +
                 text_words(info.task_name.size());
    capnp::MallocMessageBuilder builder{
      static_cast<unsigned int>(std::min(words, max_elements))};
    auto out = builder.initRoot<wire::ErrorInfo>();
    out.setKind(static_cast<std::uint8_t>(info.kind));
    out.setTypeName(text(info.type_name));
    out.setMessage(text(info.message));
    out.setTaskName(text(info.task_name));
    return flatten(builder);
  } catch (const kj::Exception& e) {
    throw lumen::error("encode_error_info: " + to_std(e.getDescription()));
  }
}

error_info decode_error_info(const char* data, std::size_t size) {
  constexpr const char* what = "decode_error_info";
  return with_message(what, data, size, [&](auto& reader) {
    auto in = reader.template getRoot<wire::ErrorInfo>();
    auto kind = in.getKind();
    if (!known_kind(kind))
      fail(what, "kind " + std::to_string(kind) + " is no error_kind");
    error_info result;
    result.kind = static_cast<error_kind>(kind);
    result.type_name = to_std(in.getTypeName());
    result.message = to_std(in.getMessage());
    result.task_name = to_std(in.getTaskName());
    return result;
  });
}

} // namespace lumen::detail
