// Functions and actors the runtime-context tests run on node processes
// (issue 24: lumen::context(), namespaces, actor conveniences, native
// actors across nodes); registered in the cluster test library, which the
// nodes load and the test driver links.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/typed_actor.hpp>

#include <lumen/actor.hpp>
#include <lumen/native_actor.hpp>

namespace context_tasks {

/// lumen::context() where it runs, as text: [0] job, [1] task, [2] actor
/// (empty outside one), [3] node, [4] namespace, [5] "restarted" or "",
/// then "name=amount" for each resource held.
std::vector<std::string> info();

/// info() of a child task it submits (no options of its own), and waits
/// for.
std::vector<std::string> child_info();

/// Creates a detached Probe named `name` without a namespace (it gets
/// the caller's) and returns its node.
std::string make_named_probe(std::string name);

/// Whether a Probe named `name` is found without a namespace (the
/// caller's) from where this runs.
bool probe_visible(std::string name);

/// Asks the native adder named `name` (namespace: the caller's) for
/// a + b from where this runs; -1 if not found or not answered.
int add_via_native(std::string name, int a, int b);

/// Throws std::invalid_argument when `kind` is 1, std::out_of_range when
/// 2, std::logic_error otherwise, and counts its runs in the file `path`.
int fail_with(std::string path, int kind);

/// An actor reporting its context.
struct Probe {
  static Probe* create();

  std::vector<std::string> info();

  /// Throws std::runtime_error("probe failed").
  int fail();

  std::string node();
};

using where_atom = caf::atom_constant<caf::atom("ctx_where")>;

/// A native adder that also says where it runs.
using native_adder =
  caf::typed_actor<caf::replies_to<int, int>::with<int>,
                   caf::replies_to<where_atom>::with<std::string>>;

/// Its factory, registered with LUMEN_NATIVE; `offset` is added to every
/// sum.
native_adder::behavior_type make_native_adder(int offset);

/// Asks `a` for x + y (from any thread); -1 on an error.
int ask_native(const native_adder& a, int x, int y);

/// Asks `a` where it runs; "" on an error.
std::string native_node(const native_adder& a);

} // namespace context_tasks
