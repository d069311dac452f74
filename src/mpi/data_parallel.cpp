// The MPI calls of psgm::mpi::DataParallel and broadcast_state
// (include/psgm/mpi/DataParallel.hpp).
#include <psgm/mpi/DataParallel.hpp>

#include <limits>

namespace psgm::mpi {

GradientReduction parse_gradient_reduction(std::string const& name) {
  if (name == "allreduce") return GradientReduction::allreduce;
  if (name == "reproducible") return GradientReduction::reproducible;
  throw InvalidArgument("gradient reduction '" + name + "': expected 'allreduce' (the default) or " +
                        "'reproducible' (bitwise the same for any rank count)");
}

namespace Impl {

namespace {
int count_of(std::size_t n) {
  require(n <= std::size_t(std::numeric_limits<int>::max()), "psgm::mpi: ", n,
          " values exceed one MPI message (at most ", std::numeric_limits<int>::max(), ")");
  return static_cast<int>(n);
}
}  // namespace

void broadcast(MPI_Comm comm, model::ParameterSet& set) {
  for (auto& values : set.values) MPI_Bcast(values.data(), count_of(values.size()), MPI_DOUBLE, 0, comm);
}

void allreduce_sum(MPI_Comm comm, std::vector<double>& values) {
  MPI_Allreduce(MPI_IN_PLACE, values.data(), count_of(values.size()), MPI_DOUBLE, MPI_SUM, comm);
}

void allgather(MPI_Comm comm, std::vector<double> const& mine, std::vector<double>& all,
               std::vector<int> const& counts) {
  std::vector<int> displacements(counts.size(), 0);
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displacements[r] = count_of(total);
    total += std::size_t(counts[r]);
  }
  all.assign(total, 0.0);
  MPI_Allgatherv(mine.data(), count_of(mine.size()), MPI_DOUBLE, all.data(), counts.data(), displacements.data(),
                 MPI_DOUBLE, comm);
}

}  // namespace Impl
}  // namespace psgm::mpi
