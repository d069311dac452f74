// Observations of the fields (docs/posterior.md): a few probes, each
// measuring one channel at one position with Gaussian noise,
//
//   y_j = (H x)_j + e_j,     e_j ~ N(0, s_j²) independent,
//
// where H interpolates the channel linearly between the two grid points
// around the probe (a probe on a grid point reads that point). H is linear,
// so a Gaussian prior gives a Gaussian posterior in closed form
// (GaussianPosterior.hpp) and a score model can be guided by it
// (GuidedScore.hpp).
//
//   auto obs = psgm::posterior::read_observations("probes.csv", {"c", "phi"});
//   auto H = psgm::posterior::ObservationOperator(obs, grid_x, /*channels=*/2);
//   double y0 = H.apply(0, field);   // (H x)_0 of one field, (C, N) row-major
//
// Host-only, float64: m is a handful of probes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm {
namespace posterior {

/// One probe: channel `channel` at position `x` (the grid's unit) read
/// `value` with noise standard deviation `noise_std` (> 0).
struct Observation {
  int channel = 0;
  double x = 0;
  double value = 0;
  double noise_std = 0;
};

/// H of a list of observations on a grid of N increasing points and C
/// channels: each row holds two (flat index c·N + i, weight) pairs.
class ObservationOperator {
 public:
  ObservationOperator() = default;
  /// psgm::InvalidArgument, naming the observation, for a channel outside
  /// [0, channels), a position outside [x_0, x_{N-1}] (values beyond the
  /// outer grid points would be extrapolated), a non-finite value or a
  /// noise standard deviation that is not finite and > 0; and for a grid
  /// that is not finite and increasing with N >= 2.
  ObservationOperator(std::vector<Observation> observations, std::vector<double> const& grid, int channels);

  int size() const { return static_cast<int>(observations_.size()); }
  int channels() const { return channels_; }
  int num_points() const { return num_points_; }
  std::vector<Observation> const& observations() const { return observations_; }
  /// The two flat indices (c·N + i) and weights of row j (weights sum to 1;
  /// on a grid point the second weight is 0).
  std::int64_t index(int j, int k) const { return index_[std::size_t(2 * j + k)]; }
  double weight(int j, int k) const { return weight_[std::size_t(2 * j + k)]; }
  /// (H x)_j of one field x (C·N values, row-major (C, N)).
  double apply(int j, double const* x) const {
    return weight_[std::size_t(2 * j)] * x[index_[std::size_t(2 * j)]] +
           weight_[std::size_t(2 * j + 1)] * x[index_[std::size_t(2 * j + 1)]];
  }
  /// log p(y | x) up to its x-independent constant: −½ Σ_j ((y_j − (Hx)_j)/s_j)².
  double log_likelihood(double const* x) const;

 private:
  std::vector<Observation> observations_;
  std::vector<std::int64_t> index_;
  std::vector<double> weight_;
  int channels_ = 0, num_points_ = 0;
};

/// The channel named `name` (one of `channel_names`, or its index written
/// as a number). psgm::InvalidArgument naming `where` and the channels.
int channel_index(std::string const& name, std::vector<std::string> const& channel_names, std::string const& where);

/// Observations from CSV text: a header `channel,x,value,noise_std` (any
/// column order, these four names), then one probe per line; `#` starts a
/// comment. Channels by name or index (channel_index). psgm::InvalidArgument
/// naming `where` and the line for anything else.
std::vector<Observation> parse_observations_csv(std::string const& text, std::vector<std::string> const& channel_names,
                                                std::string const& where);

/// The observations as CSV text parse_observations_csv reads back exactly
/// (channels by name when `channel_names` has them; 17 significant digits).
std::string to_csv(std::vector<Observation> const& observations, std::vector<std::string> const& channel_names);

/// parse_observations_csv of a file; psgm::IoError when it cannot be read.
std::vector<Observation> read_observations_csv(std::string const& path,
                                               std::vector<std::string> const& channel_names);

}  // namespace posterior
}  // namespace psgm
