// The error of the data library: a dataset that is missing, unreadable or
// malformed.
//
// Thread safety: an exception value.
#pragma once

#include <lumen/error.hpp>

namespace lumen::data {

/// A dataset file is missing, unreadable or malformed; the message names
/// the file and, for a missing dataset, what to install. Retrying does not
/// help until the file is fixed.
class dataset_error : public lumen::error {
 public:
  using lumen::error::error;
};

} // namespace lumen::data
