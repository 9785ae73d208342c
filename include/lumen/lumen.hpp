// Umbrella header: everything a Lumen program uses.
#pragma once

#include "lumen/actor.hpp"
#include "lumen/cancel.hpp"
#include "lumen/async.hpp"
#include "lumen/cluster.hpp"
#include "lumen/codec.hpp"
#include "lumen/config.hpp"
#include "lumen/error.hpp"
#include "lumen/ids.hpp"
#include "lumen/init.hpp"
#include "lumen/kv.hpp"
#include "lumen/object_ref.hpp"
#include "lumen/objects.hpp"
#include "lumen/placement_group.hpp"
#include "lumen/remote.hpp"
#include "lumen/runtime_context.hpp"
#include "lumen/task.hpp"
