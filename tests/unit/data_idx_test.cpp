// Unit tests of the IDX reader and the image datasets of libs/data, on the
// real Fashion-MNIST files of Debian's dataset-fashion-mnist and on small
// files written here (plain and gzip, well-formed and broken).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <zlib.h>

#include "lumen/data/idx.hpp"
#include "lumen/data/image_dataset.hpp"

using namespace lumen::data;

namespace {

/// A temporary directory, removed with its files at scope exit.
class temp_dir {
 public:
  temp_dir() {
    char tmpl[] = "/tmp/lumen-data-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }

  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  std::string file(const std::string& name) const {
    return path_ + "/" + name;
  }

  const std::string& path() const {
    return path_;
  }

 private:
  std::string path_;
};

using bytes = std::vector<std::uint8_t>;

void write_plain(const std::string& path, const bytes& b) {
  std::ofstream out{path, std::ios::binary};
  out.write(reinterpret_cast<const char*>(b.data()),
            static_cast<std::streamsize>(b.size()));
}

void write_gzip(const std::string& path, const bytes& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) ==
          static_cast<int>(b.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

bytes read_plain(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return bytes{std::istreambuf_iterator<char>{in}, {}};
}

void put_be32(bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    b.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// A 2 x 3 IDX array of int32 values -1, 2, -3, 4, 70000, -70000.
bytes int32_file() {
  bytes b{0, 0, 0x0C, 2};
  put_be32(b, 2);
  put_be32(b, 3);
  for (std::int32_t v : {-1, 2, -3, 4, 70000, -70000})
    put_be32(b, static_cast<std::uint32_t>(v));
  return b;
}

/// An IDX file of `n` images of 2 x 2 bytes (image i: i, i+1, i+2, i+3).
bytes image_file(std::uint32_t n) {
  bytes b{0, 0, 0x08, 3};
  put_be32(b, n);
  put_be32(b, 2);
  put_be32(b, 2);
  for (std::uint32_t i = 0; i < n; ++i)
    for (std::uint32_t p = 0; p < 4; ++p)
      b.push_back(static_cast<std::uint8_t>(i + p));
  return b;
}

bytes label_file(std::uint32_t n) {
  bytes b{0, 0, 0x08, 1};
  put_be32(b, n);
  for (std::uint32_t i = 0; i < n; ++i)
    b.push_back(static_cast<std::uint8_t>(i % 10));
  return b;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const dataset_error& e) {
    return e.what();
  }
  return "(no dataset_error)";
}

} // namespace

TEST_CASE("data: IDX files of Fashion-MNIST read with their dimensions",
          "[data][idx]") {
  auto dir = fashion_mnist_dir();
  auto images = read_idx(dir + "/train-images-idx3-ubyte.gz");
  CHECK(images.type == idx_type::u8);
  CHECK(images.dims == std::vector<std::size_t>{60000, 28, 28});
  CHECK(images.size() == 60000u * 28 * 28);
  // The first image's pixels sum to 76247 (checked with Python's gzip).
  const std::uint8_t* px = images.as<std::uint8_t>();
  CHECK(std::accumulate(px, px + 784, 0L) == 76247);
  auto labels = read_idx(dir + "/t10k-labels-idx1-ubyte.gz");
  CHECK(labels.dims == std::vector<std::size_t>{10000});
  CHECK_THROWS_AS(labels.as<float>(), dataset_error);
}

TEST_CASE("data: Fashion-MNIST has 60000 and 10000 balanced images",
          "[data][fashion_mnist]") {
  auto train = load_fashion_mnist(split::train);
  auto test = load_fashion_mnist(split::test);
  REQUIRE(train.size() == 60000);
  REQUIRE(test.size() == 10000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  CHECK(train.pixels.size() == 60000u * 784);
  std::vector<int> train_count(10), test_count(10);
  for (auto l : train.labels)
    ++train_count.at(l);
  for (auto l : test.labels)
    ++test_count.at(l);
  CHECK(train_count == std::vector<int>(10, 6000));
  CHECK(test_count == std::vector<int>(10, 1000));
  // First labels, as Python's gzip reads them: 9 0 0 3 and 9 2 1 1.
  CHECK(bytes(train.labels.begin(), train.labels.begin() + 4) ==
        bytes{9, 0, 0, 3});
  CHECK(bytes(test.labels.begin(), test.labels.begin() + 4) ==
        bytes{9, 2, 1, 1});
  CHECK(std::string{fashion_mnist_class_name(9)} == "Ankle boot");
  CHECK_THROWS_AS(fashion_mnist_class_name(10), dataset_error);
}

TEST_CASE("data: images scale to floats and subsets keep their labels",
          "[data][fashion_mnist]") {
  auto test = load_fashion_mnist(split::test);
  auto part = test.subset(100, 110);
  REQUIRE(part.size() == 10);
  CHECK(part.labels[0] == test.labels[100]);
  CHECK(std::equal(part.image(0), part.image(0) + 784, test.image(100)));
  std::vector<float> x(2 * 784);
  test.copy_as_float(100, 2, x.data());
  for (std::size_t p = 0; p < 784; ++p)
    CHECK(x[784 + p] == Approx(test.image(101)[p] / 255.0f));
  std::vector<std::size_t> idx{5, 1};
  std::vector<std::uint8_t> y(2);
  test.gather_as_float(idx.data(), 2, x.data(), y.data());
  CHECK(y == bytes{test.labels[5], test.labels[1]});
  CHECK(x[0] == Approx(test.image(5)[0] / 255.0f));
  CHECK_THROWS_AS(test.subset(9990, 10001), dataset_error);
  CHECK_THROWS_AS(test.copy_as_float(9999, 2, x.data()), dataset_error);
}

TEST_CASE("data: IDX reads plain and gzip files alike, in host byte order",
          "[data][idx]") {
  temp_dir tmp;
  write_plain(tmp.file("a.idx"), int32_file());
  write_gzip(tmp.file("a.idx.gz"), int32_file());
  for (auto name : {"a.idx", "a.idx.gz"}) {
    auto a = read_idx(tmp.file(name));
    CHECK(a.type == idx_type::i32);
    CHECK(a.dims == std::vector<std::size_t>{2, 3});
    REQUIRE(a.size() == 6);
    auto* v = a.as<std::int32_t>();
    CHECK(std::vector<std::int32_t>(v, v + 6) ==
          std::vector<std::int32_t>{-1, 2, -3, 4, 70000, -70000});
  }
}

TEST_CASE("data: broken IDX files fail with a dataset_error naming them",
          "[data][idx]") {
  temp_dir tmp;
  CHECK_THAT(error_of([&] {
               read_idx(tmp.file("missing.idx"));
             }),
             Catch::Contains("missing.idx"));
  auto good = int32_file();
  auto truncated = bytes(good.begin(), good.end() - 3);
  write_plain(tmp.file("short.idx"), truncated);
  CHECK_THAT(error_of([&] {
               read_idx(tmp.file("short.idx"));
             }),
             Catch::Contains("short.idx") && Catch::Contains("truncated"));
  auto longer = good;
  longer.push_back(1);
  write_gzip(tmp.file("long.idx.gz"), longer);
  CHECK_THAT(error_of([&] {
               read_idx(tmp.file("long.idx.gz"));
             }),
             Catch::Contains("1 unexpected bytes"));
  auto magic = good;
  magic[2] = 0x07;
  write_plain(tmp.file("magic.idx"), magic);
  CHECK_THAT(error_of([&] {
               read_idx(tmp.file("magic.idx"));
             }),
             Catch::Contains("magic"));
  CHECK_THAT(error_of([&] {
               parse_idx(good.data(), 6, "six bytes");
             }),
             Catch::Contains("six bytes"));
  // A gzip stream cut in the middle.
  write_gzip(tmp.file("full.gz"), image_file(1000));
  auto gz = read_plain(tmp.file("full.gz"));
  write_plain(tmp.file("cut.gz"),
              bytes(gz.begin(), gz.begin() + gz.size() / 2));
  CHECK_THAT(error_of([&] {
               read_idx(tmp.file("cut.gz"));
             }),
             Catch::Contains("cut.gz"));
}

TEST_CASE("data: image datasets check that images and labels match",
          "[data][idx]") {
  temp_dir tmp;
  write_gzip(tmp.file("img.gz"), image_file(5));
  write_plain(tmp.file("lbl"), label_file(5));
  write_plain(tmp.file("lbl4"), label_file(4));
  auto d = load_idx_images(tmp.file("img.gz"), tmp.file("lbl"));
  CHECK(d.size() == 5);
  CHECK(d.rows == 2);
  CHECK(d.image(3)[1] == 4);
  CHECK_THAT(error_of([&] {
               load_idx_images(tmp.file("img.gz"), tmp.file("lbl4"));
             }),
             Catch::Contains("5 images") && Catch::Contains("4 labels"));
  CHECK_THAT(error_of([&] {
               load_idx_images(tmp.file("lbl"), tmp.file("lbl"));
             }),
             Catch::Contains("3 dimensions"));
}

TEST_CASE("data: a missing Fashion-MNIST says what to install",
          "[data][fashion_mnist]") {
  temp_dir tmp;
  CHECK_THAT(error_of([&] {
               load_fashion_mnist(split::test, tmp.path());
             }),
             Catch::Contains("apt-get install dataset-fashion-mnist") &&
               Catch::Contains("LUMEN_FASHION_MNIST_DIR"));
  // Plain (uncompressed) files are found too, but must be Fashion-MNIST.
  write_plain(tmp.file("t10k-images-idx3-ubyte"), image_file(5));
  write_plain(tmp.file("t10k-labels-idx1-ubyte"), label_file(5));
  CHECK_THAT(error_of([&] {
               load_fashion_mnist(split::test, tmp.path());
             }),
             Catch::Contains("expected 10000 images of 28 x 28"));
}
