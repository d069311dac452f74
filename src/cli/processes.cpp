// The psgm CLI's view of MPI (Command.hpp, "processes"): which rank prints.
// MPI itself is started and stopped by main() (MpiSession in main.cpp).
#include "Command.hpp"

#include <psgm/Config.hpp>

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
