// Conditions (l, U0, F_right) of the porous-electrode ensemble (spec model.md §7):
// the random reference design, other random designs, user-given lists, and
// held-out evaluation conditions. Host-only.
//
// Random designs draw condition k from its own generator
// psgm::random::make_generator(seed, psgm::random::conditions, k): the k-th
// condition depends only on (seed, k) and the ranges, never on how many are
// drawn, so a design of 40 conditions is the first 40 of the design of 1000
// with the same seed. Held-out conditions use the same stream at item indices
// from `heldout_item_offset` on: independent of the training design drawn with
// the same seed, and reproducible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm::pde {

/// One condition: the triplet the score model is conditioned on.
struct Condition {
  double l = 0.0;        ///< GP correlation length [m]
  double U0 = 0.0;       ///< applied voltage [V]
  double F_right = 0.0;  ///< applied ionic current at x = L

  friend bool operator==(Condition const& a, Condition const& b) {
    return a.l == b.l && a.U0 == b.U0 && a.F_right == b.F_right;
  }
  friend bool operator!=(Condition const& a, Condition const& b) { return !(a == b); }
};

/// Throws psgm::InvalidArgument unless l is finite and > 0 and U0, F_right are
/// finite. `where` names the condition in the message (e.g. "condition 3").
void validate_condition(Condition const& c, std::string const& where = "condition");

/// How each coordinate of a random design is distributed.
enum class Spacing {
  uniform,      ///< uniform on [min, max]
  log_uniform,  ///< log-uniform on [min, max] (min > 0)
};
char const* to_string(Spacing spacing);
/// "uniform" / "log_uniform"; anything else throws psgm::InvalidArgument.
Spacing spacing_from_string(std::string const& name);

/// Ranges of a random design. Defaults: the reference ranges of spec model.md §7
/// for L = 1e-4 m.
struct ConditionRanges {
  double l_min = 1e-4 / 50;  ///< L/50
  double l_max = 1e-4 / 5;   ///< L/5
  Spacing l_spacing = Spacing::log_uniform;
  double U0_min = -0.2;
  double U0_max = 0.2;
  double F_right_min = 0.0;
  double F_right_max = 50.0;

  /// The reference ranges for an electrode of thickness L: l log-uniform on
  /// [L/50, L/5], U0 uniform on [-0.2, 0.2] V, F_right uniform on [0, 50].
  static ConditionRanges reference(double L = 1e-4);

  /// Throws psgm::InvalidArgument naming the range, its values and what is
  /// expected: finite bounds, min <= max, l_min > 0.
  void validate() const;
};

/// `count` conditions drawn from `ranges` with `seed` (stream `conditions`,
/// items 0..count-1). Each condition draws three uniforms u in [0, 1) from its
/// generator, in the order l, U0, F_right, and maps them to
/// min + u (max - min) (uniform) or min (max/min)^u (log-uniform).
std::vector<Condition> random_conditions(ConditionRanges const& ranges, std::int64_t count, std::uint64_t seed);

/// The reference design: 1000 conditions from the reference ranges for L.
inline constexpr std::int64_t reference_num_conditions = 1000;
/// Realisations per condition of the reference data set.
inline constexpr std::int64_t reference_realisations_per_condition = 25;
std::vector<Condition> reference_conditions(std::uint64_t seed, double L = 1e-4);

/// Item offset of held-out conditions in the `conditions` stream (2^48): far
/// beyond any training design, so the two never share a generator.
inline constexpr std::uint64_t heldout_item_offset = std::uint64_t(1) << 48;
/// `count` held-out conditions from the same ranges: like random_conditions()
/// but from items heldout_item_offset + k, so they are independent of the
/// training design with the same seed (pass another seed for another set).
std::vector<Condition> heldout_conditions(ConditionRanges const& ranges, std::int64_t count, std::uint64_t seed);

/// The reference evaluation condition of spec model.md §7: l = L/10, U0 = 0, F_right = 25.
Condition reference_evaluation_condition(double L = 1e-4);

/// Rows of three numbers (l, U0, F_right) -> validated conditions. `source`
/// names where the rows came from, for messages ("conditions.list", a file).
std::vector<Condition> conditions_from_rows(std::vector<std::vector<double>> const& rows,
                                            std::string const& source);

/// Reads conditions from a CSV text file: one condition per line, three
/// comma-separated numbers l, U0, F_right; an optional header line whose first
/// field is not a number (e.g. "l,U0,F_right") is skipped, as are blank lines
/// and lines starting with '#'. Throws psgm::IoError for a missing file and
/// psgm::InvalidArgument, with the line number, for malformed or invalid rows.
std::vector<Condition> read_conditions_csv(std::string const& path);

}  // namespace psgm::pde
