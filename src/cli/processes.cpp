// The psgm CLI's view of MPI (Command.hpp, "processes"): which rank prints.
// MPI itself is started and stopped by main() (MpiSession in main.cpp).
#include "Command.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>

#include <cstdlib>
#include <string>

#if PSGM_ENABLE_MPI
#include <mpi.h>
#endif

namespace psgm::cli {

int process_rank() {
#if PSGM_ENABLE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int rank = 0;
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
#else
  return 0;
#endif
}

int process_count() {
#if PSGM_ENABLE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  int size = 1;
  if (initialized && !finalized) MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
#else
  return 1;
#endif
}

bool is_root_process() { return process_rank() == 0; }

bool mpi_requested() {
#if PSGM_ENABLE_MPI
  if (char const* v = std::getenv("PSGM_MPI"); v != nullptr && *v != '\0') {
    std::string const value(v);
    if (value == "on" || value == "1") return true;
    if (value == "off" || value == "0") return false;
    if (value != "auto")
      throw psgm::Error("PSGM_MPI='" + value + "': expected 'on' (start MPI), 'off' (never) or 'auto' (when an MPI "
                        "launcher started psgm, the default)");
  }
  // The rank variables of the launchers: Open MPI's mpirun, PMIx (Open MPI 4+
  // and srun --mpi=pmix), PMI-1/2 (MPICH's and Intel MPI's Hydra, srun
  // --mpi=pmi2, MVAPICH).
  for (char const* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "PMI_FD"})
    if (std::getenv(name) != nullptr) return true;
  return false;
#else
  return false;
#endif
}

bool mpi_running() {
#if PSGM_ENABLE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
#else
  return false;
#endif
}

void start_mpi() {
#if PSGM_ENABLE_MPI
  if (mpi_running()) return;
  MPI_Init(nullptr, nullptr);
#else
  throw psgm::Error("psgm was built without MPI (PSGM_ENABLE_MPI=OFF)");
#endif
}

void add_mpi_output_option([[maybe_unused]] CLI::App& app, [[maybe_unused]] std::string& target) {
#if PSGM_ENABLE_MPI
  app.add_option("--mpi-output", target,
                 "under mpirun, how the ranks write the one output file: direct (every rank writes its samples "
                 "into it through the parallel HDF5), sharded (a part file per rank, merged by rank 0), auto "
                 "(direct when the HDF5 is parallel; docs/scaling.md)")
      ->check(CLI::IsMember({"auto", "direct", "sharded"}));
#endif
}

}  // namespace psgm::cli
