// User-supplied porosity fields: round trip, shapes, and the rejection of
// NaN/Inf and values outside (0, 1) with the position of the first bad value.
#include "IoTestUtils.hpp"

#include <psgm/io/PorosityFile.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

using psgm::InvalidArgument;
using psgm::IoError;
using psgm::io::PorosityFields;
using psgm::io::read_porosity_fields;
using psgm::io::write_porosity_fields;
using psgm_test::error_message;
using Catch::Matchers::Contains;

namespace {
PorosityFields make_fields(std::int64_t count, int N) {
  PorosityFields f;
  f.count = count;
  f.num_points = N;
  for (std::int64_t k = 0; k < count; ++k)
    for (int i = 0; i < N; ++i) f.values.push_back(0.25 + 0.01 * k + 0.001 * i);
  return f;
}
}  // namespace

TEST_CASE("porosity fields round trip through HDF5", "[io][porosity]") {
  auto const dir = psgm_test::scratch_dir("io_porosity_round_trip");
  std::string const path = (dir / "eps.h5").string();
  auto const fields = make_fields(3, 5);
  write_porosity_fields(path, "/inputs/porosity", fields);
  auto const back = read_porosity_fields(path, "/inputs/porosity", 5);
  CHECK(back.count == 3);
  CHECK(back.num_points == 5);
  CHECK(back.values == fields.values);
  CHECK(back(2, 4) == fields.values[14]);
  CHECK_THAT(error_message<IoError>([&] { write_porosity_fields(path, "/p", fields); }), Contains("already exists"));
  write_porosity_fields(path, "/p", fields, true);
  CHECK(read_porosity_fields(path, "/p").count == 3);

  // A single field of rank 1, stored as float32.
  std::string const one = (dir / "one.h5").string();
  hid_t file = H5Fcreate(one.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<float> values{0.3f, 0.31f, 0.32f, 0.33f};
  psgm_test::h5_write(file, "/eps", {4}, H5T_IEEE_F32LE, values.data());
  H5Fclose(file);
  auto const single = read_porosity_fields(one, "eps");
  CHECK(single.count == 1);
  CHECK(single.num_points == 4);
  CHECK(single.values[1] == double(0.31f));
}

TEST_CASE("bad porosity files are rejected with the position and value", "[io][porosity]") {
  auto const dir = psgm_test::scratch_dir("io_porosity_bad");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // HDF5 errors are provoked on purpose
  auto with_value = [&](std::string const& name, std::int64_t k, int i, double v) {
    auto f = make_fields(3, 5);
    f.values[k * 5 + i] = v;
    std::string const path = (dir / name).string();
    write_porosity_fields(path, "/porosity", f);
    return path;
  };
  auto const nan = with_value("nan.h5", 1, 3, std::numeric_limits<double>::quiet_NaN());
  CHECK_THAT(error_message<InvalidArgument>([&] { read_porosity_fields(nan, "/porosity"); }),
             Contains("field 1, cell 3 (flat index 8) is nan") && Contains("finite, in (0, 1)") && Contains(nan));
  auto const inf = with_value("inf.h5", 0, 0, std::numeric_limits<double>::infinity());
  CHECK_THAT(error_message<InvalidArgument>([&] { read_porosity_fields(inf, "/porosity"); }),
             Contains("field 0, cell 0 (flat index 0) is inf"));
  auto const big = with_value("big.h5", 2, 4, 1.25);
  CHECK_THAT(error_message<InvalidArgument>([&] { read_porosity_fields(big, "/porosity"); }),
             Contains("field 2, cell 4 (flat index 14) is 1.25; a porosity must lie in (0, 1)"));
  auto const zero = with_value("zero.h5", 0, 2, 0.0);
  CHECK_THAT(error_message<InvalidArgument>([&] { read_porosity_fields(zero, "/porosity"); }),
             Contains("cell 2 (flat index 2) is 0;"));

  auto const good = with_value("good.h5", 0, 0, 0.5);
  CHECK_THAT(error_message<InvalidArgument>([&] { read_porosity_fields(good, "/porosity", 100); }),
             Contains("fields of 5 cells; expected N = 100"));
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(good, "/eps"); }),
             Contains("data set '/eps' is missing"));
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(good, "/porosity/deeper"); }),
             Contains("'/porosity/deeper' is missing"));
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields((dir / "none.h5").string(), "/porosity"); }),
             Contains("porosity file") && Contains("does not exist"));
  std::string const text = (dir / "text.h5").string();
  { std::ofstream(text) << "0.3 0.3 0.3\n"; }
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(text, "/porosity"); }),
             Contains("is not an HDF5 file"));

  std::string const odd = (dir / "odd.h5").string();
  hid_t file = H5Fcreate(odd.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<int> ints{0, 1, 0, 1};
  std::vector<double> cube(8, 0.3);
  psgm_test::h5_write(file, "/ints", {4}, H5T_STD_I32LE, ints.data());
  psgm_test::h5_write(file, "/cube", {2, 2, 2}, H5T_IEEE_F64LE, cube.data());
  H5Gclose(H5Gcreate2(file, "/group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  H5Fclose(file);
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(odd, "/ints"); }),
             Contains("does not hold floating-point values"));
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(odd, "/cube"); }),
             Contains("has shape (2, 2, 2); expected (N,) for one field or (count, N)"));
  CHECK_THAT(error_message<IoError>([&] { read_porosity_fields(odd, "/group"); }), Contains("is not a data set"));
}
