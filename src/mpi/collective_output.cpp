// psgm::mpi::CollectiveOutput: one data set file written by every rank
// through the parallel HDF5 (include/psgm/mpi/CollectiveOutput.hpp).
#include <psgm/core/Error.hpp>
#include <psgm/mpi/CollectiveOutput.hpp>
#include <psgm/mpi/Comm.hpp>

#include <hdf5.h>

#include <algorithm>
#include <tuple>
#include <vector>

namespace psgm::mpi {

char const* to_string(OutputPath path) {
  switch (path) {
    case OutputPath::automatic: return "auto";
    case OutputPath::direct: return "direct";
    case OutputPath::sharded: return "sharded";
  }
  return "?";
}

OutputPath parse_output_path(std::string const& name) {
  for (OutputPath p : {OutputPath::automatic, OutputPath::direct, OutputPath::sharded})
    if (name == to_string(p)) return p;
  throw InvalidArgument("MPI output path '" + name + "': expected auto, direct or sharded");
}

bool direct_output_available() {
#ifdef H5_HAVE_PARALLEL
  return true;
#else
  return false;
#endif
}

OutputPath resolve(OutputPath path) {
  if (path == OutputPath::automatic) return direct_output_available() ? OutputPath::direct : OutputPath::sharded;
  require(path != OutputPath::direct || direct_output_available(),
          "MPI output path 'direct' needs an HDF5 built with MPI (H5_HAVE_PARALLEL; Debian: libhdf5-openmpi-dev); "
          "this psgm links a serial one: use 'sharded' (docs/scaling.md §3)");
  return path;
}

CollectiveOutput::CollectiveOutput(MPI_Comm comm, std::int64_t total)
    : comm_(comm), shard_{rank(comm), size(comm)}, total_(total) {
  std::tie(first_, last_) = shard_.range(total_);
}

std::string CollectiveOutput::broadcast(std::string const& value) {
  int length = static_cast<int>(value.size());
  MPI_Bcast(&length, 1, MPI_INT, 0, comm_);
  std::vector<char> text(value.begin(), value.end());
  text.resize(static_cast<std::size_t>(length));
  MPI_Bcast(text.data(), length, MPI_CHAR, 0, comm_);
  return std::string(text.begin(), text.end());
}

void CollectiveOutput::set_file_access(std::int64_t fapl) {
#ifdef H5_HAVE_PARALLEL
  if (H5Pset_fapl_mpio(static_cast<hid_t>(fapl), comm_, MPI_INFO_NULL) < 0)
    throw IoError("psgm::mpi::CollectiveOutput: H5Pset_fapl_mpio failed");
#else
  (void)fapl;
  resolve(OutputPath::direct);  // throws: no parallel HDF5
#endif
}

void CollectiveOutput::set_collective_transfer(std::int64_t dxpl) {
#ifdef H5_HAVE_PARALLEL
  // HDF5 1.10 writes chunked, filtered data sets in parallel only collectively.
  if (H5Pset_dxpl_mpio(static_cast<hid_t>(dxpl), H5FD_MPIO_COLLECTIVE) < 0)
    throw IoError("psgm::mpi::CollectiveOutput: H5Pset_dxpl_mpio failed");
#else
  (void)dxpl;
  resolve(OutputPath::direct);
#endif
}

bool CollectiveOutput::agree(std::exception_ptr failure, bool writing) {
  try {
    return mpi::agree(comm_, "psgm::mpi: writing the data set", failure, writing ? 0 : 1) == 0;
  } catch (...) {
    failed_ = true;
    throw;
  }
}

void CollectiveOutput::combine_attributes(io::AttributeMap& a) {
  a.erase(workflow::shard_attribute);
  a.erase(workflow::shard_first_sample_attribute);
  a.erase(workflow::shard_total_samples_attribute);
  // The run record as psgm merge combines the shards' (src/workflow/merge.cpp).
  double const samples = double(last_ - first_);
  double sums[3] = {a.contains("wall_time_s") ? a.get_double("wall_time_s") : 0.0,
                    a.contains("nfe_mean_per_sample") ? a.get_double("nfe_mean_per_sample") * samples : 0.0, 0.0};
  MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_DOUBLE, MPI_SUM, comm_);
  if (a.contains("wall_time_s")) a.set("wall_time_s", sums[0]);  // summed: the run's compute time
  if (a.contains("num_failed")) {
    std::int64_t counts[2] = {a.get_int("num_failed"), a.get_int("network_evaluations")};
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_INT64_T, MPI_SUM, comm_);
    std::int64_t nfe = a.get_int("nfe");
    MPI_Allreduce(MPI_IN_PLACE, &nfe, 1, MPI_INT64_T, MPI_MAX, comm_);
    a.set("num_failed", counts[0]);
    a.set("network_evaluations", counts[1]);
    a.set("nfe", nfe);
    a.set("nfe_mean_per_sample", total_ > 0 ? sums[1] / double(total_) : 0.0);
    a.set("samples_per_second", sums[0] > 0 ? double(total_) / sums[0] : 0.0);
  }
  a.set("mpi_ranks", static_cast<std::int64_t>(shard_.count));
}

}  // namespace psgm::mpi
