// User-supplied porosity fields from HDF5 (include/psgm/io/PorosityFile.hpp).
#include "Hdf5.hpp"

#include <psgm/core/Format.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/PorosityFile.hpp>

#include <cmath>
#include <filesystem>

#include <unistd.h>

namespace psgm::io {

using Impl::check;
using Impl::checked;
using Impl::Handle;

PorosityFields read_porosity_fields(std::string const& path, std::string const& dataset, int expected_points) {
  psgm::ScopedRegion region("psgm::io::read_porosity_fields");
  Impl::ErrorSilencer silence;
  std::string const where = "porosity file '" + path + "'";
  require<IoError>(!dataset.empty(), where, ": no data set path given (e.g. '/porosity')");
  Handle file = Impl::open_file_readonly(path, "porosity file");
  require<IoError>(Impl::object_exists(file, dataset), where, ": data set '", dataset,
                   "' is missing (expected porosity fields of shape (N,) or (count, N))");
  Handle d = checked(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), where + ": '" + dataset + "' is not a data set");
  auto const dims = Impl::dataset_dims(d);
  require<IoError>(dims.size() == 1 || dims.size() == 2, where, ": '", dataset, "' has shape ",
                   Impl::format_dims(dims), "; expected (N,) for one field or (count, N)");
  require<IoError>(Impl::dataset_class(d) == H5T_FLOAT, where, ": '", dataset,
                   "' does not hold floating-point values; expected porosities in (0, 1)");
  // The shape is untrusted (a corrupted file can claim 10^18 values): in
  // range, and the fields must fit the machine's memory before anything is
  // allocated (a byte-flipped shape made psgm allocate 10^19 bytes).
  require<IoError>(dims.back() <= (hsize_t(1) << 30) && dims.front() <= (hsize_t(1) << 62), where, ": '", dataset,
                   "' has shape ", Impl::format_dims(dims), "; psgm reads at most 2^30 cells per field");
  PorosityFields out;
  out.count = dims.size() == 1 ? 1 : static_cast<std::int64_t>(dims[0]);
  out.num_points = static_cast<int>(dims.back());
  require(out.count >= 1 && out.num_points >= 1, where, ": '", dataset, "' of shape ", Impl::format_dims(dims),
          " holds no porosity field");
  double const need = double(out.count) * double(out.num_points) * sizeof(double);
  double const have = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGE_SIZE));
  require(have <= 0 || need <= have, where, ": '", dataset, "' of shape ", Impl::format_dims(dims), " needs ",
          format_mib(need / 1048576.0), ", more than this machine's ", format_mib(have / 1048576.0), " of memory");
  require(expected_points <= 0 || out.num_points == expected_points, where, ": '", dataset, "' has fields of ",
          out.num_points, " cells; expected N = ", expected_points, " (the grid's cell count)");
  out.values.resize(static_cast<std::size_t>(out.count) * out.num_points);
  check(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()),
        where + ": cannot read '" + dataset + "'");
  for (std::size_t k = 0; k < out.values.size(); ++k) {
    double const v = out.values[k];
    if (std::isfinite(v) && v > 0 && v < 1) continue;
    std::int64_t const field = static_cast<std::int64_t>(k) / out.num_points;
    int const cell = static_cast<int>(static_cast<std::int64_t>(k) % out.num_points);
    require(false, where, ": '", dataset, "' field ", field, ", cell ", cell, " (flat index ", k, ") is ", v,
            std::isfinite(v) ? "; a porosity must lie in (0, 1)" : "; porosities must be finite, in (0, 1)");
  }
  return out;
}

void write_porosity_fields(std::string const& path, std::string const& dataset, PorosityFields const& fields,
                           bool overwrite) {
  psgm::ScopedRegion region("psgm::io::write_porosity_fields");
  Impl::ErrorSilencer silence;
  std::string const where = "porosity file '" + path + "'";
  require(fields.count >= 1 && fields.num_points >= 1 &&
              fields.values.size() == std::size_t(fields.count) * std::size_t(fields.num_points),
          where, ": ", fields.values.size(), " values for ", fields.count, " fields of ", fields.num_points,
          " cells; expected count * num_points >= 1");
  std::error_code ec;
  require<IoError>(overwrite || !std::filesystem::exists(path, ec), where,
                   " already exists; refusing to overwrite it (pass overwrite = true)");
  Handle file = checked(H5Fcreate(path.c_str(), overwrite ? H5F_ACC_TRUNC : H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT),
                        where + ": cannot create it");
  Handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), where);
  check(H5Pset_create_intermediate_group(lcpl, 1), where);
  hsize_t const dims[2] = {static_cast<hsize_t>(fields.count), static_cast<hsize_t>(fields.num_points)};
  Handle space = checked(H5Screate_simple(2, dims, nullptr), where);
  Handle d = checked(H5Dcreate2(file, dataset.c_str(), H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                     where + ": cannot create '" + dataset + "'");
  check(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, fields.values.data()),
        where + ": cannot write '" + dataset + "'");
}

}  // namespace psgm::io
