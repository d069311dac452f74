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

}  // namespace psgm::cli
