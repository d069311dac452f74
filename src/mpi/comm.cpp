// psgm::mpi's communicator helpers (include/psgm/mpi/Comm.hpp).
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/Comm.hpp>

#include <Kokkos_Macros.hpp>
#if defined(KOKKOS_ENABLE_CUDA)
#include <cuda_runtime_api.h>
#elif defined(KOKKOS_ENABLE_HIP)
#include <hip/hip_runtime_api.h>
#endif

#include <exception>
#include <limits>
#include <vector>

namespace psgm::mpi {

namespace {
void check(int code, char const* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string("psgm::mpi: ") + call + " failed: " + std::string(text, length));
}
}  // namespace

int rank(MPI_Comm comm) {
  int r = 0;
  check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
  return r;
}

int size(MPI_Comm comm) {
  int n = 0;
  check(MPI_Comm_size(comm, &n), "MPI_Comm_size");
  return n;
}

int node_local_rank(MPI_Comm comm) {
  MPI_Comm node;
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank(comm), MPI_INFO_NULL, &node), "MPI_Comm_split_type");
  int const r = rank(node);
  MPI_Comm_free(&node);
  return r;
}

int device_id(MPI_Comm comm) {
  int const local = node_local_rank(comm);
  int devices = 0;
#if defined(KOKKOS_ENABLE_CUDA)
  if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
#elif defined(KOKKOS_ENABLE_HIP)
  if (hipGetDeviceCount(&devices) != hipSuccess) devices = 0;
#endif
  return devices > 0 ? local % devices : -1;
}

void collective(MPI_Comm comm, std::string const& what, std::function<void()> const& work,
                std::function<bool()> const& agreed) {
  ScopedRegion region("psgm::mpi::collective");
  std::exception_ptr failure;
  try {
    work();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && agreed && agreed()) std::rethrow_exception(failure);
  agree(comm, what, failure);
}

int agree(MPI_Comm comm, std::string const& what, std::exception_ptr failure, int state) {
  std::string message;
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (std::exception const& e) {
      message = e.what();
    } catch (...) {
      message = "an exception that is not a std::exception";
    }
  }
  int const me = rank(comm);
  int const n = size(comm);
  // The lowest failing rank speaks for all; without a failure, n + the
  // smallest state.
  require(state >= 0 && state <= std::numeric_limits<int>::max() - n, "psgm::mpi::agree: state ", state,
          " out of range");
  int const mine = failure ? me : n + state;
  int first = n;
  check(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  if (first >= n) return first - n;
  int length = static_cast<int>(message.size());
  check(MPI_Bcast(&length, 1, MPI_INT, first, comm), "MPI_Bcast");
  std::vector<char> text(message.begin(), message.end());
  text.resize(static_cast<std::size_t>(length));
  check(MPI_Bcast(text.data(), length, MPI_CHAR, first, comm), "MPI_Bcast");
  if (failure) std::rethrow_exception(failure);
  throw RemoteError(what + ": rank " + std::to_string(first) + " of " + std::to_string(n) +
                    " failed: " + std::string(text.begin(), text.end()));
}

}  // namespace psgm::mpi
