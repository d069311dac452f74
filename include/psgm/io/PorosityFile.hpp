// User-supplied porosity fields (spec model.md §2, "a user-supplied porosity
// field read from a file"): an HDF5 data set of shape (N) (one field) or
// (count, N), any floating-point type, at a path the user names. Used by
// `psgm generate` with porosity.source = "file" instead of GP draws.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm::io {

/// `count` porosity fields of N cells, row-major (field k at values[k N .. k N + N)).
struct PorosityFields {
  std::int64_t count = 0;
  int num_points = 0;
  std::vector<double> values;
  double operator()(std::int64_t field, int cell) const { return values[field * num_points + cell]; }
};

/// Reads and checks the data set `dataset` of the HDF5 file `path`.
/// psgm::IoError for a missing file, a file that is not HDF5, a missing data
/// set, a non-numeric type, or a rank other than 1 or 2. psgm::InvalidArgument
/// for an empty field, for a cell count other than `expected_points` (when >
/// 0), and for the first value that is NaN/Inf or not in (0, 1), naming its
/// field, cell and flat index and the value.
PorosityFields read_porosity_fields(std::string const& path, std::string const& dataset, int expected_points = 0);

/// Writes fields as a (count, N) float64 data set `dataset` (groups created as
/// needed) of a new HDF5 file; psgm::IoError if `path` exists and `overwrite`
/// is false. For preparing inputs of `psgm generate` from C++.
void write_porosity_fields(std::string const& path, std::string const& dataset, PorosityFields const& fields,
                           bool overwrite = false);

}  // namespace psgm::io
