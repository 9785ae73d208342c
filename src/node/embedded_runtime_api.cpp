// The embedded runtime as the API calls it: objects (put, get, wait,
// lookup), task submission, and the node's snapshot. Booting and stopping
// the node: embedded_runtime.cpp.
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/scheduler.hpp"
#include "lineage/stash.hpp"
#include "lumen/cancel.hpp"
#include "lumen/error.hpp"
#include "node/embedded_runtime.hpp"
#include "node/embedded_runtime_impl.hpp"
#include "node/lineage_collection.hpp"
#include "objects/object_table.hpp"
#include "scheduling/cancel_state.hpp"
#include "scheduling/context_info.hpp"
#include "scheduling/execution_context.hpp"
#include "scheduling/stream_channel.hpp"
#include "scheduling/resources.hpp"
#include "wire/task_spec.hpp"

namespace lumen::detail {

namespace {

std::optional<object_table::clock::time_point>
deadline_of(std::chrono::nanoseconds timeout) {
  if (timeout == no_timeout)
    return std::nullopt;
  return object_table::clock::now() + timeout;
}

std::string describe(std::chrono::nanoseconds timeout) {
  using namespace std::chrono;
  return std::to_string(duration_cast<milliseconds>(timeout).count()) + " ms";
}

} // namespace

ref_ptr embedded_runtime::put(object_data&& data) {
  auto& ctx = impl_->context();
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  // Put objects get a task part of their own, derived like a child task's,
  // so the counter never wraps into another object's id.
  object_id id{task_id::derive(ctx.task, n), object_id::put_flag};
  return impl_->table.put(id,
                          std::make_shared<const object_data>(std::move(data)));
}

object_ptr embedded_runtime::get(const ref_ptr& ref,
                                 std::chrono::nanoseconds timeout) {
  if (auto obj = impl_->table.try_get(ref.get()))
    return obj;
  std::vector<object_ptr> found;
  {
    impl_->fetch_if_elsewhere({ref.get()});
    std::optional<block_scope> blocking;
    if (timeout != std::chrono::nanoseconds::zero())
      blocking.emplace();
    found = impl_->table.wait({ref.get()}, 1, deadline_of(timeout));
  }
  if (!found[0])
    throw timeout_error("lumen::get: object " + ref.id().to_string() +
                        " not ready after " + describe(timeout));
  return std::move(found[0]);
}

std::vector<object_ptr>
embedded_runtime::get_all(const std::vector<const ref_header*>& headers,
                          std::chrono::nanoseconds timeout) {
  std::vector<object_ptr> result;
  result.reserve(headers.size());
  for (auto* h : headers) {
    auto obj = impl_->table.try_get(h);
    if (!obj)
      break;
    result.push_back(std::move(obj));
  }
  if (result.size() == headers.size())
    return result;
  // Values held while blocked could not spill: let them go meanwhile.
  result.clear();
  {
    impl_->fetch_if_elsewhere(headers);
    std::optional<block_scope> blocking;
    if (timeout != std::chrono::nanoseconds::zero())
      blocking.emplace();
    result = impl_->table.wait(headers, headers.size(), deadline_of(timeout));
  }
  for (std::size_t i = 0; i < result.size(); ++i)
    if (!result[i])
      throw timeout_error("lumen::get: object " + headers[i]->id.to_string() +
                          " not ready after " + describe(timeout));
  return result;
}

bool embedded_runtime::ready(const ref_header* ref) {
  return impl_->table.ready(ref);
}

std::vector<bool>
embedded_runtime::wait(const std::vector<const ref_header*>& headers,
                       std::size_t num_returns,
                       std::chrono::nanoseconds timeout) {
  // The first num_returns ready ones, in order, are enough: the usual
  // wait-for-one over a list that completes front first returns at once.
  std::vector<bool> result(headers.size());
  std::size_t ready = 0;
  for (std::size_t i = 0; i < headers.size() && ready < num_returns; ++i)
    if (impl_->table.ready(headers[i])) {
      result[i] = true;
      ++ready;
    }
  // Readiness only: a spilled value stays on disk.
  if (ready >= num_returns)
    return result;
  if (timeout == std::chrono::nanoseconds::zero())
    return impl_->table.wait_ready(headers, num_returns, deadline_of({}));
  impl_->fetch_if_elsewhere(headers);
  block_scope blocking;
  return impl_->table.wait_ready(headers, num_returns, deadline_of(timeout));
}

ref_ptr embedded_runtime::lookup(const object_id& id) {
  auto result = impl_->table.lookup(id);
  if (!result)
    throw object_lost_error("object " + id.to_string() +
                            " is not known to this process");
  return result;
}

ref_ptr embedded_runtime::submit(task_request&& req) {
  auto& opts = req.options;
  if (!std::isfinite(opts.num_cpus) || opts.num_cpus < 0)
    throw error("task '" + opts.name +
                "': num_cpus must be a finite, non-negative number");
  resource_set::from_doubles(opts.resources); // validates names and amounts
  if (opts.resources.count(cpu_resource) > 0)
    throw error("task '" + opts.name + "': set CPUs with num_cpus()");
  auto& ctx = impl_->context();
  if (ctx.info != nullptr)
    inherit_context(*ctx.info, opts);
  if (!opts.pg_id.empty()) {
    opts.resources = in_bundle(std::move(opts.resources), opts.num_cpus,
                               opts.pg_id, opts.pg_bundle);
    opts.num_cpus = 0;
  }
  auto n = ctx.counter.fetch_add(1, std::memory_order_relaxed) + 1;
  auto spec = std::make_shared<task_spec>();
  spec->id = task_id::derive(ctx.task, n);
  spec->parent = ctx.task;
  spec->job = ctx.job.nil() ? impl_->root.job : ctx.job;
  spec->ns = ctx.info != nullptr && ctx.info->ns != nullptr
               ? *ctx.info->ns
               : impl_->cfg.base.ns;
  spec->depth = ctx.child_depth;
  spec->function = std::move(req.function);
  spec->entry = req.entry;
  spec->args = std::move(req.args);
  spec->options = std::move(req.options);
  spec->return_id = object_id{spec->id, 1};
  auto result = impl_->pins ? owned_return(impl_->table, *impl_->pins, *spec)
                            : impl_->table.create_pending(spec->return_id);
  if (spec->options.streaming)
    spec->stream = open_local_stream(spec->id, spec->options.max_unconsumed,
                                     impl_->table, result);
  // Queued in the stash as it is (encoded there, not in this thread).
  if (impl_->stash && impl_->cfg.base.lineage == lineage_mode::stash &&
      impl_->stash->append(spec))
    caf::anon_send(impl_->stash_actor, tick_atom::value);
  caf::anon_send(impl_->scheduler, submit_atom::value,
                 task_ptr{std::move(spec)});
  if (ctx.cancel != nullptr &&
      ctx.cancel->load(std::memory_order_relaxed) == cancel_requested_recursive)
    cancel_ref(result, false, true); // its submitter was cancelled so
  return result;
}

node_stats embedded_runtime::snapshot() {
  node_stats result;
  caf_thread_guard guard;
  caf::scoped_actor self{*impl_->sys};
  self->request(impl_->scheduler, caf::infinite, stats_atom::value)
    .receive(
      [&](node_stats& st) {
        result = std::move(st);
      },
      [&](const caf::error& err) {
        throw error("the scheduler did not answer: " + impl_->sys->render(err));
      });
  auto objs = impl_->table.get_stats();
  result.objects = objs.objects;
  result.object_bytes = objs.used_bytes;
  result.object_capacity = objs.capacity_bytes;
  result.spilled_objects = objs.spilled_objects;
  result.spilled_bytes = objs.spilled_bytes;
  result.restored_objects = objs.restored_objects;
  return result;
}

} // namespace lumen::detail
