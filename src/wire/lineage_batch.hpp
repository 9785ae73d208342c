// A batch of lineage rows as one byte string: what a node's stash sends
// the GCS in one message and what the GCS keeps as one row of its log.
//
// Rows follow each other without padding: `[u32 id size][id][u32 spec
// size][spec]`, sizes little-endian, ids non-empty (the task id as text).
// Reading treats the bytes as untrusted: a size that runs past the end or
// an empty id makes the row malformed.
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lumen::detail {

/// One row, viewing the batch it was read from.
struct lineage_row_view {
  std::string_view id;
  std::string_view spec;
};

/// Appends one row to `batch`. Throws lumen::error if `id` is empty or
/// a size does not fit in 32 bits.
void append_lineage_row(std::string& batch, std::string_view id,
                        std::string_view spec);

/// Starts a row of `id` at the end of `batch`, whose spec the caller then
/// appends in place; returns the mark that end_lineage_row takes. Throws
/// as append_lineage_row.
std::size_t begin_lineage_row(std::string& batch, std::string_view id);

/// Ends the row begun at `mark`: its spec is what was appended since.
/// Throws lumen::error if that is 4 GiB or more.
void end_lineage_row(std::string& batch, std::size_t mark);

/// The row at `pos` of `batch`, moving `pos` past it; nullopt if the row
/// is malformed (`pos` is then unchanged).
std::optional<lineage_row_view> read_lineage_row(std::string_view batch,
                                                 std::size_t& pos);

/// How many rows `batch` holds, or nullopt if any row is malformed: the
/// check split_lineage_batch makes, without building the list.
std::optional<std::size_t> count_lineage_rows(std::string_view batch);

/// Every row with its offset, or nullopt if any row is malformed.
std::optional<std::vector<std::pair<lineage_row_view, std::size_t>>>
split_lineage_batch(std::string_view batch);

} // namespace lumen::detail
