// What the condition columns of a data set and a model mean: their names,
// units and which of them enter every regression as a logarithm
// (docs/design.md §10, "The model layer"). The schema is data, stored in model
// files; nothing in the generic layers spells a column count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psgm {
namespace model {

struct ConditionSchema {
  std::vector<std::string> names;  ///< one per column, e.g. "l"
  std::vector<std::string> units;  ///< one per column, e.g. "m" ("1": dimensionless)
  std::vector<std::uint8_t> log;   ///< 1: the column enters models as log(value) (values must be > 0)

  /// The porous electrode's conditions (spec model.md): correlation length l
  /// [m] (logarithmic), applied voltage U0 [V], dimensionless flux F_right.
  static ConditionSchema porous_electrode();

  int size() const { return static_cast<int>(names.size()); }
  /// Throws psgm::InvalidArgument unless names, units and log have one entry per
  /// column, names are distinct and non-empty, and there is at least one column.
  void validate() const;
  /// The regression inputs of one condition (`size()` physical values): log
  /// where flagged. psgm::InvalidArgument naming the column for a non-finite
  /// value or a non-positive value of a logarithmic column.
  std::vector<double> transform(double const* physical) const;
  bool operator==(ConditionSchema const& o) const { return names == o.names && units == o.units && log == o.log; }
  bool operator!=(ConditionSchema const& o) const { return !(*this == o); }
};

}  // namespace model
}  // namespace psgm
