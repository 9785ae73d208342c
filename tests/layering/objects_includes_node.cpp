// folder: objects
// expect: node/embedded_runtime.hpp: No such file or directory
//
// The object table is below the node that boots it: src/objects/ must not
// see src/node/. Compiled with lumen_objects' include path, this fails.
#include "node/embedded_runtime.hpp"
