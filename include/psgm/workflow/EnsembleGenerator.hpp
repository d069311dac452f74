// PDE ensembles as one library call: draw porosity fields, then solve the
// porous-electrode equations for them (spec model.md §2-6; docs/workflow.md).
// What psgm generate, the evaluation's noise floor, the examples and the
// benchmarks all do, in one place.
//
//   psgm::workflow::EnsembleGenerator<Space> gen(space, params, source, items, max_batch);
//   auto batch = gen.generate(space, {{condition, m, 0, R}, ...});  // (B, N), (B, 2, N), (B)
//
// Realisation r of condition m uses porosity item
//   items.first_item + m · items.items_per_condition + r
// of the stream `porosity` with items.seed (GP source), or user field
// r mod count (file source): a field depends on (seed, m, r) only, never on
// how the realisations are split into batches, shards or processes, and the
// solver treats every realisation on its own, so any split of the same
// realisations gives the same numbers bit for bit.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/pde/EnsembleSolver.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace psgm::workflow {

/// Where the porosity fields come from: Gaussian-process draws of `model`, or
/// fixed fields given by the user (host, (count, N)), realisation r of every
/// condition using field r mod count.
struct PorositySource {
  using host_fields_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  gp::PorosityModel model;
  host_fields_view fields;  ///< empty: GP draws

  static PorositySource gaussian_process(gp::PorosityModel const& model) { return {model, {}}; }
  static PorositySource from_fields(host_fields_view fields) { return {gp::PorosityModel{}, fields}; }
  bool is_gaussian_process() const { return fields.extent(0) == 0; }
  /// "gp" or "file" (the data-set attribute porosity_source).
  char const* name() const { return is_gaussian_process() ? "gp" : "file"; }
};

/// Numbering of the porosity items (see the file's head).
struct PorosityItems {
  std::uint64_t seed = 0;
  std::int64_t first_item = 0;
  std::int64_t items_per_condition = 0;
};

/// Realisations [first_realisation, first_realisation + count) of condition
/// `condition_index`, whose values are `condition`.
struct RealisationBlock {
  pde::Condition condition;
  std::int64_t condition_index = 0;
  std::int64_t first_realisation = 0;
  std::int64_t count = 0;
};

/// The blocks of the global realisations [first, last) when each of
/// `conditions` has `per_condition` realisations (global index m · per_condition + r).
std::vector<RealisationBlock> realisation_blocks(std::vector<pde::Condition> const& conditions,
                                                 std::int64_t per_condition, std::int64_t first, std::int64_t last);

template <class ExecSpace>
class EnsembleGenerator {
 public:
  using execution_space = ExecSpace;
  using memory_space = typename ExecSpace::memory_space;
  using porosity_view = typename gp::PorositySampler<ExecSpace>::field_view;  // (B, N)
  using fields_view = typename pde::EnsembleSolver<ExecSpace>::fields_view;   // (B, 2, N)
  using status_view = typename pde::EnsembleSolver<ExecSpace>::status_view;   // (B)

  /// The first B rows of the generator's buffers after generate(): valid
  /// until the next call.
  struct Batch {
    porosity_view porosity;
    fields_view fields;
    status_view status;
    std::int64_t size() const { return static_cast<std::int64_t>(status.extent(0)); }
  };

  /// Validates the physics, the porosity model and user fields (N cells,
  /// values in (0, 1)) and allocates every buffer for up to `max_batch`
  /// realisations once. psgm::InvalidArgument otherwise.
  EnsembleGenerator(ExecSpace const& space, pde::ElectrodeParameters const& params, PorositySource const& porosity,
                    PorosityItems const& items, int max_batch);

  /// Draws the porosity of `blocks` (at most max_batch() realisations in
  /// all, in the order given) and solves them. Asynchronous on `space`.
  Batch generate(ExecSpace const& space, std::vector<RealisationBlock> const& blocks);

  int max_batch() const { return max_batch_; }
  std::vector<double> const& cell_centres() const { return x_; }
  pde::ElectrodeParameters const& parameters() const { return solver_.parameters(); }

 private:
  PorositySource source_;
  PorosityItems items_;
  int max_batch_;
  std::vector<double> x_;
  std::unique_ptr<gp::PorositySampler<ExecSpace>> sampler_;  // GP source only
  pde::EnsembleSolver<ExecSpace> solver_;
  porosity_view porosity_;
  Kokkos::View<double*, memory_space> U0_, F_right_;
  fields_view fields_;
  status_view status_;
  typename porosity_view::host_mirror_type h_porosity_;
  typename Kokkos::View<double*, memory_space>::host_mirror_type h_U0_, h_F_right_;
};

/// One PDE ensemble, on the host.
struct HostEnsemble {
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> fields;  ///< (n, 2, N) physical c, φ
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> porosity;  ///< (n, N)
  Kokkos::View<SolveStatus*, Kokkos::HostSpace> status;                     ///< (n)
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> condition_index;           ///< (n)
};

/// `per_condition` realisations at each of `conditions`, in one batch
/// (realisation r of condition m is item items.first_item + m · per_condition + r;
/// items.items_per_condition is ignored). Fences `space`.
template <class ExecSpace>
HostEnsemble solve_ensemble(ExecSpace const& space, pde::ElectrodeParameters const& params,
                            PorositySource const& porosity, std::vector<pde::Condition> const& conditions,
                            std::int64_t per_condition, PorosityItems items);

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_ENSEMBLE_GENERATOR_ETI(Space)                                                      \
  extern template class psgm::workflow::EnsembleGenerator<Space>;                                        \
  extern template psgm::workflow::HostEnsemble psgm::workflow::solve_ensemble<Space>(                    \
      Space const&, psgm::pde::ElectrodeParameters const&, psgm::workflow::PorositySource const&,        \
      std::vector<psgm::pde::Condition> const&, std::int64_t, psgm::workflow::PorosityItems);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_ENSEMBLE_GENERATOR_ETI)
#undef PSGM_WORKFLOW_ENSEMBLE_GENERATOR_ETI
