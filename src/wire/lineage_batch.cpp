// Lineage batches: rows packed into one byte string.
#include "wire/lineage_batch.hpp"

#include <cstdint>

#include "lumen/error.hpp"
#include "wire/le_u32.hpp"

namespace lumen::detail {

namespace {

void put_u32(std::string& out, std::size_t n) {
  char b[4];
  store_le_u32(b, n);
  out.append(b, 4);
}

} // namespace

void append_lineage_row(std::string& batch, std::string_view id,
                        std::string_view spec) {
  if (id.empty())
    throw error("lineage batch: an empty task id");
  if (id.size() > UINT32_MAX || spec.size() > UINT32_MAX)
    throw error("lineage batch: a row of 4 GiB or more");
  put_u32(batch, id.size());
  batch.append(id);
  put_u32(batch, spec.size());
  batch.append(spec);
}

std::size_t begin_lineage_row(std::string& batch, std::string_view id) {
  if (id.empty())
    throw error("lineage batch: an empty task id");
  if (id.size() > UINT32_MAX)
    throw error("lineage batch: a row of 4 GiB or more");
  put_u32(batch, id.size());
  batch.append(id);
  auto mark = batch.size();
  put_u32(batch, 0);
  return mark;
}

void end_lineage_row(std::string& batch, std::size_t mark) {
  auto n = batch.size() - mark - 4;
  if (n > UINT32_MAX)
    throw error("lineage batch: a row of 4 GiB or more");
  store_le_u32(batch.data() + mark, n);
}

std::optional<lineage_row_view> read_lineage_row(std::string_view batch,
                                                 std::size_t& pos) {
  auto id_size = load_le_u32(batch, pos);
  if (!id_size || *id_size == 0 || batch.size() - pos - 4 < *id_size)
    return std::nullopt;
  auto at = pos + 4 + *id_size;
  auto spec_size = load_le_u32(batch, at);
  if (!spec_size || batch.size() - at - 4 < *spec_size)
    return std::nullopt;
  lineage_row_view row{batch.substr(pos + 4, *id_size),
                       batch.substr(at + 4, *spec_size)};
  pos = at + 4 + *spec_size;
  return row;
}

std::optional<std::size_t> count_lineage_rows(std::string_view batch) {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < batch.size(); ++n)
    if (!read_lineage_row(batch, pos))
      return std::nullopt;
  return n;
}

std::optional<std::vector<std::pair<lineage_row_view, std::size_t>>>
split_lineage_batch(std::string_view batch) {
  std::vector<std::pair<lineage_row_view, std::size_t>> rows;
  std::size_t pos = 0;
  while (pos < batch.size()) {
    auto start = pos;
    auto row = read_lineage_row(batch, pos);
    if (!row)
      return std::nullopt;
    rows.emplace_back(*row, start);
  }
  return rows;
}

} // namespace lumen::detail
