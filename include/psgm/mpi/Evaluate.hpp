// psgm evaluate on every rank of a communicator (docs/scaling.md §5):
// the matched conditions split into contiguous blocks (stats::ConditionBlock),
// rank r of n evaluating block r (reading its conditions' model, PDE and
// baseline samples, drawing and solving their noise floors, computing their
// metrics), the per-condition results gathered on every rank, and rank 0
// writing the report. A condition's metrics do not depend on the rank that
// computes them (its floor's porosity items and its permutation stream are
// set by its position among all conditions), so the report is the
// one-process run's.
//
//   MPI_Init(&argc, &argv);  psgm::ScopeGuard kokkos;   // MPI first, then Kokkos
//   psgm::workflow::EvaluateOptions o = ...;              // as for workflow::evaluate
//   auto r = psgm::mpi::evaluate(Kokkos::DefaultExecutionSpace{}, MPI_COMM_WORLD, o);
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/Comm.hpp>
#include <psgm/stats/Evaluation.hpp>
#include <psgm/workflow/Evaluate.hpp>

#include <mpi.h>

#include <string>
#include <utility>
#include <vector>

namespace psgm::mpi {
namespace Impl {

/// Joins the blocks of one evaluation: every rank passes the result of its
/// block and receives the whole one (the conditions of every block in
/// order, the generated floor's failed samples summed, the closing notes of
/// stats::note_left_out_samples added). Collective.
stats::EvaluationResult allgather_evaluation(MPI_Comm comm, stats::EvaluationResult block);

/// Rank 0 writes the outputs of `options` (stats::write_evaluation_outputs);
/// every rank returns their paths, or throws when rank 0 could not write
/// them. Collective.
std::vector<std::string> write_evaluation_outputs(MPI_Comm comm, workflow::EvaluateOptions const& options,
                                                  stats::EvaluationResult const& result);

}  // namespace Impl

/// Collective over `comm`: every rank passes the same options. Returns the
/// whole evaluation on every rank; rank 0 has written the outputs.
/// `progress` reports this rank's block of the conditions. A failure on any
/// rank throws on every rank (Comm.hpp, collective), and nothing is written
/// then. With one rank: workflow::evaluate itself.
template <class ExecSpace>
workflow::EvaluateResult evaluate(ExecSpace const& space, MPI_Comm comm, workflow::EvaluateOptions const& options,
                                  stats::EvaluationProgress const& progress = {}) {
  ScopedRegion region("psgm::mpi::evaluate");
  if (size(comm) == 1) return workflow::evaluate(space, options, progress);
  stats::ConditionBlock const block{rank(comm), size(comm)};
  stats::EvaluationResult mine;
  collective(comm, "psgm::mpi::evaluate", [&] {
    mine = stats::evaluate_files(space, options.request, progress, workflow::floor_ensemble<ExecSpace>(), block);
  });
  workflow::EvaluateResult out;
  out.result = Impl::allgather_evaluation(comm, std::move(mine));
  out.result.provenance.config_toml = options.config_toml;
  out.files = Impl::write_evaluation_outputs(comm, options, out.result);
  return out;
}

}  // namespace psgm::mpi
