// Labelled image datasets in the MNIST layout (one IDX file of images, one
// of labels), and Fashion-MNIST as packaged by Debian.
//
//   auto train = lumen::data::load_fashion_mnist(lumen::data::split::train);
//   // train.size() == 60000, train.rows == train.cols == 28
//   std::vector<float> x(train.image_size() * 64);
//   train.copy_as_float(0, 64, x.data());        // 64 images, scaled to [0, 1]
//
// Fashion-MNIST comes from the Debian package `dataset-fashion-mnist`, which
// puts the four gzip-compressed IDX files in
// /usr/share/datasets/fashion-mnist/ (LUMEN_FASHION_MNIST_DIR overrides).
//
// Thread safety: free functions without shared state; an image_dataset is a
// plain value, safe to read from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lumen/data/dataset_error.hpp"

namespace lumen::data {

/// Where Debian's dataset-fashion-mnist installs the files.
inline constexpr const char* fashion_mnist_default_dir =
  "/usr/share/datasets/fashion-mnist";

/// n grey-scale images of rows x cols bytes and their labels.
struct image_dataset {
  std::size_t rows = 0;
  std::size_t cols = 0;
  /// size() * image_size() bytes, image after image, each row-major.
  std::vector<std::uint8_t> pixels{};
  /// One class label per image.
  std::vector<std::uint8_t> labels{};

  std::size_t size() const noexcept {
    return labels.size();
  }

  std::size_t image_size() const noexcept {
    return rows * cols;
  }

  /// The first pixel of image `i`.
  const std::uint8_t* image(std::size_t i) const noexcept {
    return pixels.data() + i * image_size();
  }

  /// Images [begin, end) as a dataset of their own; throws dataset_error if
  /// the range is out of bounds.
  image_dataset subset(std::size_t begin, std::size_t end) const;

  /// Writes images [first, first + count) as floats in [0, 1] (pixel / 255)
  /// to `out`, image after image; throws dataset_error if out of bounds.
  void copy_as_float(std::size_t first, std::size_t count, float* out) const;

  /// Writes the images at `indices[0..count)` as floats in [0, 1] to `out`,
  /// and their labels to `labels_out`.
  void gather_as_float(const std::size_t* indices, std::size_t count,
                       float* out, std::uint8_t* labels_out) const;
};

/// The two splits of a dataset.
enum class split { train, test };

/// Reads a dataset from an IDX file of images (3 dimensions: n, rows, cols;
/// unsigned bytes) and one of labels (1 dimension: n; unsigned bytes), each
/// plain or gzip. Throws dataset_error if either is missing or malformed or
/// their counts differ.
image_dataset load_idx_images(const std::string& images_path,
                              const std::string& labels_path);

/// The Fashion-MNIST directory: $LUMEN_FASHION_MNIST_DIR if set, else
/// fashion_mnist_default_dir.
std::string fashion_mnist_dir();

/// Loads a split of Fashion-MNIST (train: 60,000 images; test: 10,000; 28 x
/// 28; labels 0-9) from `dir`, from `<name>.gz` or, failing that, `<name>`
/// (`train-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, ...). If the files
/// are missing, the dataset_error says to install `dataset-fashion-mnist`.
image_dataset load_fashion_mnist(split which,
                                 const std::string& dir = fashion_mnist_dir());

/// The name of Fashion-MNIST class `label` ("T-shirt/top", "Trouser", ...,
/// "Ankle boot"); throws dataset_error outside 0-9.
const char* fashion_mnist_class_name(int label);

} // namespace lumen::data
