// Where lumen::cancel goes in this process: the running runtime's object
// table, scheduler and actor directory, installed while it runs (see
// lumen/cancel.hpp and docs/cancel.md).
//
// The caller's runtime returns at once for a ready ref. Otherwise, with
// `force`, it fails the ref in its own table (the first value wins, so the
// late result is dropped), then hands the cancel to the scheduler and, for
// an actor call's ref (its entry names the actor's directory slot), to the
// actor's host. Cancels from one burst reach the scheduler in one batch
// (cancel_inbox).
//
// Thread safety: install and cancel may be called from any thread.
#pragma once

#include <memory>

#include "actors/scheduler.hpp"
#include "objects/object_table.hpp"
#include "scheduling/actor_directory.hpp"
#include "scheduling/cancel_state.hpp"

namespace lumen::detail {

struct cancel_target {
  cancel_target(object_table* t, scheduler_actor s, actor_directory* d)
    : table(t), scheduler(std::move(s)), directory(d) {}

  object_table* table;
  scheduler_actor scheduler;
  actor_directory* directory;
  cancel_inbox_ptr inbox = std::make_shared<cancel_inbox>();
};

/// Installs the running runtime's target (null: none runs any more).
void install_cancel_target(std::shared_ptr<cancel_target> target);

} // namespace lumen::detail
