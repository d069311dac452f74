// `psgm sample`'s call into the library with one backend, shared by the psgm
// executable (the native backend) and the module psgm_cli_torch (LibTorch;
// src/cli/TorchModule.hpp): the executable does not load LibTorch until a
// command asks for it.
#pragma once

#include <psgm/Config.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/workflow/Sample.hpp>
#if PSGM_ENABLE_MPI
#include <psgm/mpi/Sample.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <string>

namespace psgm::cli::sampling {

/// Everything psgm sample passes to psgm::workflow::sample (one process) or
/// psgm::mpi::sample (under mpirun).
struct Request {
  Kokkos::DefaultExecutionSpace space;
  model::ModelDescription const* model = nullptr;
  std::string dtype;
  workflow::SampleOptions const* options = nullptr;
  workflow::Progress progress;
  workflow::EvaluationHook on_evaluation;
  bool over_mpi = false;    ///< over MPI_COMM_WORLD (psgm::cli::mpi_running())
  std::string mpi_output;   ///< --mpi-output (auto, direct, sharded)
};

/// The library call of `r` with the backend policy `backend`.
template <class Backend>
workflow::SampleResult run(Backend backend, Request const& r) {
#if PSGM_ENABLE_MPI
  // Under an MPI launcher each rank of MPI_COMM_WORLD draws one block of
  // the samples (docs/scaling.md); one rank: workflow::sample itself.
  if (r.over_mpi)
    return mpi::sample(backend, r.space, MPI_COMM_WORLD, *r.model, r.dtype, *r.options, r.progress, r.on_evaluation,
                       mpi::parse_output_path(r.mpi_output));
#endif
  return workflow::sample(backend, r.space, *r.model, r.dtype, *r.options, r.progress, r.on_evaluation);
}

}  // namespace psgm::cli::sampling
