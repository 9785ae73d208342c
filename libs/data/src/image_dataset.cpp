// Labelled image datasets from IDX files; Fashion-MNIST's files and names.
#include "lumen/data/image_dataset.hpp"

#include <cstdlib>
#include <sys/stat.h>

#include "lumen/data/idx.hpp"

namespace lumen::data {

namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// `dir/name.gz` if it exists, else `dir/name` if that does, else throws
/// with what to install.
std::string find_fashion_mnist_file(const std::string& dir,
                                    const std::string& name) {
  auto base = dir + "/" + name;
  if (is_file(base + ".gz"))
    return base + ".gz";
  if (is_file(base))
    return base;
  throw dataset_error(
    "Fashion-MNIST not found: no " + base + ".gz (nor " + name +
    "). Install it with `apt-get install dataset-fashion-mnist` (Debian; "
    "files in " +
    fashion_mnist_default_dir +
    "), or set LUMEN_FASHION_MNIST_DIR to a directory holding "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz");
}

const char* const class_names[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot",
};

} // namespace

image_dataset image_dataset::subset(std::size_t begin, std::size_t end) const {
  if (begin > end || end > size())
    throw dataset_error("image_dataset::subset: range [" +
                        std::to_string(begin) + ", " + std::to_string(end) +
                        ") outside 0.." + std::to_string(size()));
  image_dataset result;
  result.rows = rows;
  result.cols = cols;
  result.pixels.assign(image(begin), image(end));
  result.labels.assign(labels.begin() + static_cast<std::ptrdiff_t>(begin),
                       labels.begin() + static_cast<std::ptrdiff_t>(end));
  return result;
}

void image_dataset::copy_as_float(std::size_t first, std::size_t count,
                                  float* out) const {
  if (first > size() || count > size() - first)
    throw dataset_error(
      "image_dataset::copy_as_float: images [" + std::to_string(first) + ", " +
      std::to_string(first + count) + ") outside 0.." + std::to_string(size()));
  const std::uint8_t* in = image(first);
  std::size_t n = count * image_size();
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(in[i]) * (1.0f / 255.0f);
}

void image_dataset::gather_as_float(const std::size_t* indices,
                                    std::size_t count, float* out,
                                    std::uint8_t* labels_out) const {
  std::size_t len = image_size();
  for (std::size_t k = 0; k < count; ++k) {
    std::size_t i = indices[k];
    if (i >= size())
      throw dataset_error("image_dataset::gather_as_float: image " +
                          std::to_string(i) + " outside 0.." +
                          std::to_string(size()));
    const std::uint8_t* in = image(i);
    for (std::size_t p = 0; p < len; ++p)
      out[k * len + p] = static_cast<float>(in[p]) * (1.0f / 255.0f);
    labels_out[k] = labels[i];
  }
}

image_dataset load_idx_images(const std::string& images_path,
                              const std::string& labels_path) {
  auto images = read_idx(images_path);
  auto labels = read_idx(labels_path);
  if (images.type != idx_type::u8 || images.dims.size() != 3)
    throw dataset_error(images_path +
                        ": expected unsigned bytes in 3 dimensions "
                        "(images, rows, columns)");
  if (labels.type != idx_type::u8 || labels.dims.size() != 1)
    throw dataset_error(labels_path +
                        ": expected unsigned bytes in 1 dimension (labels)");
  if (images.dims[0] != labels.dims[0])
    throw dataset_error(images_path + " holds " +
                        std::to_string(images.dims[0]) + " images but " +
                        labels_path + " " + std::to_string(labels.dims[0]) +
                        " labels");
  image_dataset result;
  result.rows = images.dims[1];
  result.cols = images.dims[2];
  result.pixels = std::move(images.bytes);
  result.labels = std::move(labels.bytes);
  return result;
}

std::string fashion_mnist_dir() {
  if (const char* env = std::getenv("LUMEN_FASHION_MNIST_DIR");
      env != nullptr && *env != '\0')
    return env;
  return fashion_mnist_default_dir;
}

image_dataset load_fashion_mnist(split which, const std::string& dir) {
  const char* prefix = which == split::train ? "train" : "t10k";
  auto images =
    find_fashion_mnist_file(dir, std::string{prefix} + "-images-idx3-ubyte");
  auto labels =
    find_fashion_mnist_file(dir, std::string{prefix} + "-labels-idx1-ubyte");
  auto result = load_idx_images(images, labels);
  std::size_t expected = which == split::train ? 60000 : 10000;
  if (result.size() != expected || result.rows != 28 || result.cols != 28)
    throw dataset_error(
      images + ": expected " + std::to_string(expected) +
      " images of 28 x 28, found " + std::to_string(result.size()) + " of " +
      std::to_string(result.rows) + " x " + std::to_string(result.cols));
  for (auto label : result.labels)
    if (label > 9)
      throw dataset_error(labels + ": label " + std::to_string(label) +
                          " outside 0-9");
  return result;
}

const char* fashion_mnist_class_name(int label) {
  if (label < 0 || label > 9)
    throw dataset_error("Fashion-MNIST has classes 0-9, not " +
                        std::to_string(label));
  return class_names[label];
}

} // namespace lumen::data
