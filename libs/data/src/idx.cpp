// Reading IDX files, plain or gzip-compressed (zlib).
#include "lumen/data/idx.hpp"

#include <cerrno>
#include <cstring>
#include <limits>

#include <zlib.h>

namespace lumen::data {

namespace {

/// An open gzFile, closed on scope exit.
class gz_file {
 public:
  explicit gz_file(const std::string& path)
    : file_(gzopen(path.c_str(), "rb")) {}

  ~gz_file() {
    if (file_ != nullptr)
      gzclose(file_);
  }

  gz_file(const gz_file&) = delete;
  gz_file& operator=(const gz_file&) = delete;

  gzFile get() const noexcept {
    return file_;
  }

 private:
  gzFile file_;
};

std::uint32_t read_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
         (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

bool valid_type(std::uint8_t t) {
  switch (t) {
  case 0x08:
  case 0x09:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x0E:
    return true;
  default:
    return false;
  }
}

/// Copies `n` elements of `width` bytes from big-endian `in` to host order.
void copy_from_big_endian(const std::uint8_t* in, std::uint8_t* out,
                          std::size_t n, std::size_t width) {
  if (width == 1) {
    std::memcpy(out, in, n);
    return;
  }
  const std::uint16_t probe = 1;
  bool little = *reinterpret_cast<const std::uint8_t*>(&probe) == 1;
  if (!little) {
    std::memcpy(out, in, n * width);
    return;
  }
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t b = 0; b < width; ++b)
      out[i * width + b] = in[i * width + (width - 1 - b)];
}

} // namespace

std::size_t idx_type_size(idx_type t) {
  switch (t) {
  case idx_type::u8:
  case idx_type::i8:
    return 1;
  case idx_type::i16:
    return 2;
  case idx_type::i32:
  case idx_type::f32:
    return 4;
  case idx_type::f64:
    return 8;
  }
  throw dataset_error("unknown IDX element type");
}

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  // gzread passes files without a gzip header through unchanged.
  gz_file in{path};
  if (in.get() == nullptr)
    throw dataset_error("cannot open " + path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> out;
  constexpr unsigned chunk = 1u << 20;
  for (;;) {
    auto old = out.size();
    out.resize(old + chunk);
    int n = gzread(in.get(), out.data() + old, chunk);
    if (n < 0) {
      int code = 0;
      const char* msg = gzerror(in.get(), &code);
      throw dataset_error("cannot read " + path + ": " +
                          (code == Z_ERRNO ? std::strerror(errno) : msg));
    }
    out.resize(old + static_cast<std::size_t>(n));
    if (n == 0)
      break;
  }
  // gzread stops quietly at a gzip stream cut short; gzerror says so.
  int code = Z_OK;
  const char* msg = gzerror(in.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END)
    throw dataset_error("cannot read " + path + ": " + msg);
  return out;
}

idx_array parse_idx(const std::uint8_t* data, std::size_t size,
                    const std::string& what) {
  auto bad = [&](const std::string& why) {
    return dataset_error(what + " is not a valid IDX file: " + why);
  };
  if (size < 4)
    throw bad("shorter than the 4-byte magic number");
  if (data[0] != 0 || data[1] != 0 || !valid_type(data[2]))
    throw bad("bad magic number (expected 00 00, a type byte of 08, 09, 0B, "
              "0C, 0D or 0E, and the number of dimensions)");
  idx_array result;
  result.type = static_cast<idx_type>(data[2]);
  std::size_t ndims = data[3];
  if (ndims == 0)
    throw bad("zero dimensions");
  std::size_t header = 4 + 4 * ndims;
  if (size < header)
    throw bad("truncated in its dimensions");
  std::size_t width = idx_type_size(result.type);
  std::size_t count = 1;
  for (std::size_t i = 0; i < ndims; ++i) {
    std::size_t d = read_be32(data + 4 + 4 * i);
    result.dims.push_back(d);
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d / width)
      throw bad("dimensions too large");
    count *= d;
  }
  std::size_t payload = size - header;
  if (payload < count * width)
    throw bad("truncated: " + std::to_string(count * width) +
              " bytes of elements expected, " + std::to_string(payload) +
              " present");
  if (payload > count * width)
    throw bad(std::to_string(payload - count * width) +
              " unexpected bytes after the elements");
  result.bytes.resize(count * width);
  copy_from_big_endian(data + header, result.bytes.data(), count, width);
  return result;
}

idx_array read_idx(const std::string& path) {
  auto bytes = read_maybe_gzip(path);
  return parse_idx(bytes.data(), bytes.size(), path);
}

} // namespace lumen::data
