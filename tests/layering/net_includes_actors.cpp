// folder: net
// expect: actors/gcs.hpp: No such file or directory
//
// The transport is below the actors that use it (a cycle until issue 21):
// src/net/ must not see actors/. Compiled with lumen_net's include path,
// this fails.
#include "actors/gcs.hpp"
