// Helpers of the io tests: a small data set with known contents, and
// hand-made HDF5 files (through the C API) for the malformed-file tests.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>

#include <catch2/catch.hpp>
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace psgm_test {

/// Known contents: sample s has c(i) = 1000 + s + i/1000, φ(i) = -s * 1e-3 * i,
/// porosity 0.2 + 0.3 (s + i) / (n + N), condition s % M, status s % 4.
struct SmallDataset {
  int N = 7;
  std::int64_t n = 11;
  std::vector<double> x;
  std::vector<psgm::pde::Condition> conditions{{1e-5, -0.1, 10.0}, {2e-5, 0.0, 25.0}, {3e-6, 0.2, 50.0}};
  SmallDataset() {
    for (int i = 0; i < N; ++i) x.push_back((i + 0.5) * 1e-4 / N);
  }
  std::int64_t M() const { return static_cast<std::int64_t>(conditions.size()); }
  double c(std::int64_t s, int i) const { return 1000.0 + s + i / 1000.0; }
  double phi(std::int64_t s, int i) const { return -double(s) * 1e-3 * i; }
  double eps(std::int64_t s, int i) const { return 0.2 + 0.3 * double(s + i) / double(n + N); }
  std::int64_t index(std::int64_t s) const { return s % M(); }
  psgm::SolveStatus status(std::int64_t s) const { return static_cast<psgm::SolveStatus>(s % 4); }

  /// Appends samples [first, first + count) through the host overload.
  void append(psgm::io::DatasetWriter& w, std::int64_t first, std::int64_t count, bool porosity = true) const {
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("psgm::test::fields", count, 2, N);
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> p("psgm::test::porosity", porosity ? count : 0, N);
    Kokkos::View<std::int64_t*, Kokkos::HostSpace> idx("psgm::test::index", count);
    Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> st("psgm::test::status", count);
    for (std::int64_t b = 0; b < count; ++b) {
      std::int64_t const s = first + b;
      for (int i = 0; i < N; ++i) {
        f(b, 0, i) = c(s, i);
        f(b, 1, i) = phi(s, i);
        if (porosity) p(b, i) = eps(s, i);
      }
      idx(b) = index(s);
      st(b) = status(s);
    }
    w.append(f, idx, st, p);
  }
};

/// Writes `rows` of `dims` doubles (row-major) as `path` in an open HDF5 file.
inline void h5_write(hid_t file, std::string const& path, std::vector<hsize_t> const& dims, hid_t type,
                     void const* data) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t d = H5Dcreate2(file, path.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  hid_t memtype = H5Tget_native_type(type, H5T_DIR_ASCEND);
  REQUIRE(H5Dwrite(d, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  H5Tclose(memtype);
  H5Dclose(d);
  H5Sclose(space);
  H5Pclose(lcpl);
}

inline void h5_string_attribute(hid_t obj, std::string const& name, std::string const& value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  hid_t space = H5Screate(H5S_SCALAR);
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  hid_t a = H5Acreate2(obj, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT);
  char const* p = value.c_str();
  REQUIRE(H5Awrite(a, t, &p) >= 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(t);
}

inline void h5_int_attribute(hid_t obj, std::string const& name, std::int64_t value) {
  hid_t space = H5Screate(H5S_SCALAR);
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  hid_t a = H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Awrite(a, H5T_NATIVE_INT64, &value) >= 0);
  H5Aclose(a);
  H5Sclose(space);
}

/// The message of the psgm exception E that `f` throws (fails the test otherwise).
template <class E, class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (E const& e) {
    return e.what();
  } catch (std::exception const& e) {
    FAIL("expected another exception type, got: " << e.what());
  }
  FAIL("no exception thrown");
  return {};
}

}  // namespace psgm_test
