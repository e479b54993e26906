// Attribute directions in latent space: two sets of latents (A, e.g. "negative", and B,
// "positive") give a direction, either the difference of their means or the normal of a
// logistic-regression classifier between them, with the classifier's cross-validated
// accuracy (how linearly the model encodes the attribute). Saved beside a model as
// directions/NAME.safetensors: the tensor "direction" (D,) and, in the header's metadata,
// a small JSON with the rest.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace latent {

struct Direction {
  std::string name;          // [A-Za-z0-9_.-], 1-64 characters, not starting with '.'
  std::string method;        // mean | logistic
  std::string label_a = "A", label_b = "B";
  at::Tensor vector;         // (D,) float32. Scaled so that alpha = 1 moves by the distance between
                             // the two sets' means along it (mean: exactly mean_B - mean_A).
  double accuracy = 0;       // cross-validated accuracy of the method's classifier (0..1)
  int folds = 0;             // folds of that cross-validation
  int64_t n_a = 0, n_b = 0;  // set sizes
};

// a (Na, D), b (Nb, D): each set needs at least 2 latents. Folds: min(5, Na, Nb),
// stratified, shuffled with seed. mean: nearest-mean classifier (the midpoint threshold
// along mean_B - mean_A); logistic: L2-regularised logistic regression fitted by Newton's
// method in float64.
Direction compute_direction(const at::Tensor& a, const at::Tensor& b, const std::string& method, uint64_t seed = 0);

// z (D,) or (N, D) + alpha * direction.
at::Tensor apply_direction(const at::Tensor& z, const Direction& d, double alpha);

// The model folder's directions, by name. A damaged file is an error naming it.
std::vector<Direction> load_directions(const std::string& model_dir);
// Writes model_dir/directions/NAME.safetensors atomically (replacing one of the same name).
void save_direction(const std::string& model_dir, const Direction& d);
void remove_direction(const std::string& model_dir, const std::string& name);
// Throws when name cannot be a direction's name.
void check_direction_name(const std::string& name);

}  // namespace latent
