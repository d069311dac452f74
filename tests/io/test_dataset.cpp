// Data set files: writer/reader round trip, streaming appends, the content
// hash, overwrite refusal and the atomic commit, and the errors for
// malformed, missing or mismatched files and arguments.
#include "IoTestUtils.hpp"

#include <psgm/core/Runtime.hpp>
#include <psgm/io/Dataset.hpp>

#include <ProfilingRecorder.hpp>
#include <psgm_test.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using psgm::IoError;
using psgm::InvalidArgument;
using psgm::SolveStatus;
using psgm::io::AttributeMap;
using psgm::io::DatasetReader;
using psgm::io::DatasetWriter;
using psgm::io::DatasetWriterOptions;
using psgm_test::error_message;
using psgm_test::SmallDataset;
using Catch::Matchers::Contains;

namespace {

AttributeMap sample_attributes() {
  AttributeMap a;
  a.set("k_rn", 0.1);
  a.set("N", 7);
  a.set("seed", std::int64_t(1234567890123));
  a.set("kinetics", "linear");
  a.set("config_toml", std::string("[electrode]\nN = 7\n") + std::string(100000, '#'));  // larger than 64 KiB
  a.set("cond_min", std::vector<double>{1e-6, -0.2, 0.0});
  a.set("cond_log", std::vector<std::int64_t>{1, 0, 0});
  a.set("names", std::vector<std::string>{"a", "β", ""});
  return a;
}

// Writes the SmallDataset in appends of the given sizes.
std::string write_small(fs::path const& dir, std::string const& name, std::vector<std::int64_t> const& appends,
                        DatasetWriterOptions options = {}) {
  SmallDataset d;
  std::string const path = (dir / name).string();
  DatasetWriter w(path, d.x, d.conditions, sample_attributes(), options);
  std::int64_t first = 0;
  for (auto count : appends) {
    d.append(w, first, count, options.store_porosity);
    first += count;
  }
  CHECK(w.size() == first);
  w.commit();
  return path;
}

}  // namespace

TEST_CASE("data set round trip: every array and attribute comes back", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_round_trip");
  SmallDataset d;
  DatasetWriterOptions options;
  options.chunk_samples = 3;  // 11 samples: several whole chunks and a partial one
  std::string const path = write_small(dir, "small.h5", {4, 0, 5, 2}, options);

  DatasetReader r(path);
  auto const& info = r.info();
  CHECK(info.path == path);
  CHECK(info.format_version == 1);
  CHECK(info.num_samples == d.n);
  CHECK(info.num_points == d.N);
  CHECK(info.x == d.x);
  CHECK(info.conditions == d.conditions);
  CHECK(info.has_porosity);
  // attributes: the writer's own and the caller's, types preserved
  CHECK(info.attributes.get_string("format") == "psgm-dataset");
  CHECK(info.attributes.get_int("format_version") == 1);
  CHECK(info.attributes.get_string("psgm_version") == psgm::version());
  CHECK(info.attributes.get_string("created").size() == 20);  // 2024-01-02T03:04:05Z
  CHECK(info.attributes.get_double("k_rn") == 0.1);
  CHECK(info.attributes.get_int("N") == 7);
  CHECK(info.attributes.get_double("N") == 7.0);
  CHECK(info.attributes.get_int("seed") == 1234567890123);
  CHECK(info.attributes.get_string("kinetics") == "linear");
  CHECK(info.attributes.get_string("config_toml") == sample_attributes().get_string("config_toml"));
  CHECK(info.attributes.get_doubles("cond_min") == std::vector<double>{1e-6, -0.2, 0.0});
  CHECK(info.attributes.get_ints("cond_log") == std::vector<std::int64_t>{1, 0, 0});
  CHECK(info.attributes.get_strings("names") == std::vector<std::string>{"a", "β", ""});
  CHECK_THAT(error_message<IoError>([&] { info.attributes.get_double("nope"); }),
             Contains("attribute 'nope' is missing") && Contains(path));
  CHECK_THAT(error_message<IoError>([&] { info.attributes.get_int("kinetics"); }),
             Contains("'kinetics' is not an integer"));

  // whole arrays
  DatasetReader::host_fields_view f("f", d.n, 2, d.N);
  DatasetReader::host_porosity_view p("p", d.n, d.N);
  r.read_fields(0, f);
  r.read_porosity(0, p);
  auto const idx = r.condition_index();
  auto const st = r.status();
  for (std::int64_t s = 0; s < d.n; ++s) {
    CHECK(idx[s] == d.index(s));
    CHECK(st[s] == d.status(s));
    for (int i = 0; i < d.N; ++i) {
      CHECK(f(s, 0, i) == d.c(s, i));
      CHECK(f(s, 1, i) == d.phi(s, i));
      CHECK(p(s, i) == d.eps(s, i));
    }
  }
  CHECK(r.status_counts() == std::vector<std::int64_t>{3, 3, 3, 2});

  // a range, and the float conversion
  DatasetReader::host_fields_view_float g("g", 4, 2, d.N);
  r.read_fields(5, g);
  DatasetReader::host_index_view i2("i", 4);
  DatasetReader::host_status_view s2("s", 4);
  r.read_condition_index(5, i2);
  r.read_status(5, s2);
  for (int b = 0; b < 4; ++b) {
    CHECK(i2(b) == d.index(5 + b));
    CHECK(s2(b) == d.status(5 + b));
    for (int i = 0; i < d.N; ++i) CHECK(g(b, 0, i) == static_cast<float>(d.c(5 + b, i)));
  }
  CHECK_THAT(error_message<IoError>([&] { r.read_fields(8, DatasetReader::host_fields_view("f", 4, 2, d.N)); }),
             Contains("[8, 12)") && Contains("holds 11 samples"));
  CHECK_THAT(error_message<InvalidArgument>([&] { r.read_fields(0, DatasetReader::host_fields_view("f", 1, 2, 6)); }),
             Contains("expected (B, 2, 7)"));
}

TEST_CASE("data set files are readable by the HDF5 C API in the documented layout", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_layout");
  SmallDataset d;
  std::string const path = write_small(dir, "layout.h5", {11});
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  auto dims_of = [&](char const* p, hid_t expected_type) {
    hid_t ds = H5Dopen2(file, p, H5P_DEFAULT);
    REQUIRE(ds >= 0);
    hid_t t = H5Dget_type(ds);
    CHECK(H5Tequal(t, expected_type) > 0);
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[3] = {0, 0, 0};
    int const rank = H5Sget_simple_extent_ndims(sp);
    H5Sget_simple_extent_dims(sp, dims, nullptr);
    H5Sclose(sp);
    H5Tclose(t);
    H5Dclose(ds);
    return std::vector<hsize_t>(dims, dims + rank);
  };
  CHECK(dims_of("/grid/x", H5T_IEEE_F64LE) == std::vector<hsize_t>{7});
  CHECK(dims_of("/conditions", H5T_IEEE_F64LE) == std::vector<hsize_t>{3, 3});
  CHECK(dims_of("/samples/fields", H5T_IEEE_F64LE) == std::vector<hsize_t>{11, 2, 7});
  CHECK(dims_of("/samples/porosity", H5T_IEEE_F64LE) == std::vector<hsize_t>{11, 7});
  CHECK(dims_of("/samples/condition_index", H5T_STD_I64LE) == std::vector<hsize_t>{11});
  CHECK(dims_of("/samples/status", H5T_STD_U8LE) == std::vector<hsize_t>{11});
  CHECK(H5Aexists_by_name(file, "/conditions", "columns", H5P_DEFAULT) > 0);
  CHECK(H5Aexists_by_name(file, "/samples/status", "names", H5P_DEFAULT) > 0);
  H5Fclose(file);
}

PSGM_BACKEND_TEST_CASE("appending Views of an execution space streams them to the file", "[io][dataset]") {
  using ExecSpace = TestType;
  using Mem = typename ExecSpace::memory_space;
  ExecSpace space;
  auto const dir = psgm_test::scratch_dir(std::string("io_dataset_device_") + ExecSpace::name());
  SmallDataset d;
  std::string const path = (dir / "device.h5").string();
  int const N = d.N;
  psgm_test::ProfilingRecorder recorder;
  {
    DatasetWriter w(path, d.x, d.conditions, {}, {});
    // Three batches of 4, 4, 3 samples filled by kernels on `space`.
    Kokkos::View<double***, Kokkos::LayoutRight, Mem> f(Kokkos::view_alloc(space, "psgm::test::fields"), 4, 2, N);
    Kokkos::View<double**, Kokkos::LayoutRight, Mem> p(Kokkos::view_alloc(space, "psgm::test::porosity"), 4, N);
    Kokkos::View<std::int64_t*, Mem> idx(Kokkos::view_alloc(space, "psgm::test::index"), 4);
    Kokkos::View<SolveStatus*, Mem> st(Kokkos::view_alloc(space, "psgm::test::status"), 4);
    for (std::int64_t first = 0; first < d.n; first += 4) {
      int const B = static_cast<int>(std::min<std::int64_t>(4, d.n - first));
      auto fb = Kokkos::subview(f, Kokkos::make_pair(0, B), Kokkos::ALL, Kokkos::ALL);
      auto pb = Kokkos::subview(p, Kokkos::make_pair(0, B), Kokkos::ALL);
      auto ib = Kokkos::subview(idx, Kokkos::make_pair(0, B));
      auto sb = Kokkos::subview(st, Kokkos::make_pair(0, B));
      std::int64_t const M = d.M(), n = d.n;
      Kokkos::parallel_for(
          "psgm::test::fill", Kokkos::RangePolicy<ExecSpace>(space, 0, B), KOKKOS_LAMBDA(int b) {
            std::int64_t const s = first + b;
            for (int i = 0; i < N; ++i) {
              fb(b, 0, i) = 1000.0 + s + i / 1000.0;
              fb(b, 1, i) = -double(s) * 1e-3 * i;
              pb(b, i) = 0.2 + 0.3 * double(s + i) / double(n + N);
            }
            ib(b) = s % M;
            sb(b) = static_cast<SolveStatus>(s % 4);
          });
      w.append(space, fb, ib, sb, pb);
    }
    w.commit();
  }
  CHECK(recorder.has_region("psgm::io::DatasetWriter::append"));
  CHECK(recorder.has_region("psgm::io::DatasetWriter::commit"));
  // Same contents as the host-written file: the content hashes agree.
  std::string const host_path = write_small(dir, "host.h5", {11});
  DatasetReader a(path), b(host_path);
  CHECK(a.size() == d.n);
  CHECK(a.content_sha256() == b.content_sha256());
}

TEST_CASE("the content hash sees the data, not the chunking, compression or attributes", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_hash");
  DatasetWriterOptions chunked, compressed;
  chunked.chunk_samples = 2;
  compressed.deflate_level = 6;
  std::string const a = write_small(dir, "a.h5", {11});
  std::string const b = write_small(dir, "b.h5", {1, 1, 9}, chunked);
  std::string const c = write_small(dir, "c.h5", {5, 6}, compressed);
  std::string const ha = DatasetReader(a).content_sha256();
  CHECK(ha.size() == 64);
  CHECK(ha == DatasetReader(b).content_sha256());
  CHECK(ha == DatasetReader(c).content_sha256());
  // One changed value changes the hash.
  SmallDataset d;
  std::string const e = (dir / "e.h5").string();
  {
    DatasetWriter w(e, d.x, d.conditions, sample_attributes());
    d.append(w, 0, 10);
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("f", 1, 2, d.N);
    Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> p("p", 1, d.N);
    Kokkos::View<std::int64_t*, Kokkos::HostSpace> idx("i", 1);
    Kokkos::View<SolveStatus*, Kokkos::HostSpace> st("s", 1);
    for (int i = 0; i < d.N; ++i) {
      f(0, 0, i) = d.c(10, i);
      f(0, 1, i) = d.phi(10, i);
      p(0, i) = d.eps(10, i);
    }
    f(0, 1, 3) = std::nextafter(f(0, 1, 3), 0.0);  // one ulp
    idx(0) = d.index(10);
    st(0) = d.status(10);
    w.append(f, idx, st, p);
    w.commit();
  }
  CHECK(DatasetReader(e).content_sha256() != ha);
  // A sample file (no porosity) hashes differently from a data set with it.
  DatasetWriterOptions no_porosity;
  no_porosity.store_porosity = false;
  CHECK(DatasetReader(write_small(dir, "f.h5", {11}, no_porosity)).content_sha256() != ha);
}

TEST_CASE("sample files: a writer without porosity", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_no_porosity");
  DatasetWriterOptions options;
  options.store_porosity = false;
  SmallDataset d;
  std::string const path = (dir / "samples.h5").string();
  DatasetWriter w(path, d.x, d.conditions, {}, options);
  d.append(w, 0, 6, false);
  CHECK_THAT(error_message<InvalidArgument>([&] { d.append(w, 6, 1, true); }),
             Contains("store_porosity = false"));
  AttributeMap late;
  late.set("wall_time_s", 12.5);
  late.set("sampler", "euler_maruyama");
  w.set_attributes(late);
  w.commit();
  DatasetReader r(path);
  CHECK_FALSE(r.has_porosity());
  CHECK(r.size() == 6);
  CHECK(r.info().attributes.get_double("wall_time_s") == 12.5);
  CHECK(r.info().attributes.get_string("sampler") == "euler_maruyama");
  CHECK_THAT(error_message<IoError>([&] { r.read_porosity(0, DatasetReader::host_porosity_view("p", 1, d.N)); }),
             Contains("has no '/samples/porosity'"));
  // A writer that stores porosity insists on it.
  DatasetWriter w2((dir / "with.h5").string(), d.x, d.conditions, {});
  CHECK_THAT(error_message<InvalidArgument>([&] { d.append(w2, 0, 2, false); }),
             Contains("porosity of shape (0, 7); expected (2, 7)"));
}

TEST_CASE("an existing file is never overwritten unless asked", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_overwrite");
  SmallDataset d;
  std::string const path = (dir / "existing.h5").string();
  { std::ofstream(path) << "precious"; }
  CHECK_THAT(error_message<IoError>([&] { DatasetWriter w(path, d.x, d.conditions, {}); }),
             Contains("already exists") && Contains("--overwrite") && Contains(path));
  // Asked to overwrite, the old file stays intact until commit() ...
  DatasetWriterOptions overwrite;
  overwrite.overwrite = true;
  {
    DatasetWriter w(path, d.x, d.conditions, {}, overwrite);
    d.append(w, 0, 3);
    std::ifstream in(path);
    std::string text;
    in >> text;
    CHECK(text == "precious");
  }  // ... and a writer destroyed without commit() leaves it untouched.
  {
    std::ifstream in(path);
    std::string text;
    in >> text;
    CHECK(text == "precious");
  }
  {
    DatasetWriter w(path, d.x, d.conditions, {}, overwrite);
    d.append(w, 0, 3);
    w.commit();
  }
  CHECK(DatasetReader(path).size() == 3);
  // A file that appears at the target while writing is not replaced either.
  std::string const racy = (dir / "racy.h5").string();
  DatasetWriter w(racy, d.x, d.conditions, {});
  d.append(w, 0, 2);
  { std::ofstream(racy) << "someone else's"; }
  CHECK_THAT(error_message<IoError>([&] { w.commit(); }), Contains("appeared while writing"));
  CHECK_FALSE(fs::exists(w.temporary_path()));
}

TEST_CASE("writing goes to a temporary file; nothing appears under the final name before commit()", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_atomic");
  SmallDataset d;
  std::string const path = (dir / "atomic.h5").string();
  std::string tmp;
  {
    DatasetWriter w(path, d.x, d.conditions, {});
    tmp = w.temporary_path();
    CHECK(fs::path(tmp).parent_path() == fs::path(path).parent_path());
    CHECK(fs::exists(tmp));
    d.append(w, 0, 5);
    CHECK_FALSE(fs::exists(path));
  }  // abandoned (as after an exception): the temporary file is removed
  CHECK_FALSE(fs::exists(tmp));
  CHECK_FALSE(fs::exists(path));
  DatasetWriter w(path, d.x, d.conditions, {});
  d.append(w, 0, 5);
  w.commit();
  CHECK(w.committed());
  CHECK(fs::exists(path));
  CHECK_FALSE(fs::exists(w.temporary_path()));
  CHECK_THROWS_AS(d.append(w, 5, 1), IoError);
  CHECK_THROWS_AS(w.commit(), IoError);
  // Moving a writer moves the responsibility for its file.
  DatasetWriter a((dir / "moved.h5").string(), d.x, d.conditions, {});
  DatasetWriter b(std::move(a));
  d.append(b, 0, 2);
  b.commit();
  CHECK(DatasetReader((dir / "moved.h5").string()).size() == 2);
}

TEST_CASE("the writer rejects bad arguments with the value and what is expected", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_bad_arguments");
  SmallDataset d;
  std::string const path = (dir / "bad.h5").string();
  CHECK_THAT(error_message<IoError>([&] { DatasetWriter w((dir / "no/such/dir/x.h5").string(), d.x, d.conditions, {}); }),
             Contains("does not exist"));
  CHECK_THAT(error_message<InvalidArgument>([&] { DatasetWriter w(path, {}, d.conditions, {}); }),
             Contains("grid is empty"));
  CHECK_THAT(error_message<InvalidArgument>([&] { DatasetWriter w(path, d.x, {}, {}); }),
             Contains("no conditions"));
  CHECK_THAT(error_message<InvalidArgument>([&] { DatasetWriter w(path, d.x, {{-1e-5, 0.0, 1.0}}, {}); }),
             Contains("condition 0") && Contains("l = -1.0000000000000001e-05") && Contains("must be finite and > 0"));
  AttributeMap reserved;
  reserved.set("format", "mine");
  CHECK_THAT(error_message<InvalidArgument>([&] { DatasetWriter w(path, d.x, d.conditions, reserved); }),
             Contains("'format'") && Contains("reserved"));
  CHECK_FALSE(fs::exists(path));

  DatasetWriter w(path, d.x, d.conditions, {});
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("f", 2, 2, d.N), wrong("w", 2, 3, d.N);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> p("p", 2, d.N);
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> idx("i", 2);
  Kokkos::View<SolveStatus*, Kokkos::HostSpace> st("s", 2);
  CHECK_THAT(error_message<InvalidArgument>([&] { w.append(wrong, idx, st, p); }),
             Contains("(2, 3, 7); expected (B, 2, 7)"));
  idx(1) = 3;
  CHECK_THAT(error_message<InvalidArgument>([&] { w.append(f, idx, st, p); }),
             Contains("condition index 3 of sample 1 is outside [0, 3)"));
  idx(1) = 0;
  reinterpret_cast<std::uint8_t&>(st(0)) = 9;
  CHECK_THAT(error_message<InvalidArgument>([&] { w.append(f, idx, st, p); }),
             Contains("status 9 of sample 0 is not a psgm::SolveStatus"));
  CHECK(w.size() == 0);
}

TEST_CASE("the reader names what is wrong with a file", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_malformed");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // the tests provoke HDF5 errors on purpose
  auto const missing = (dir / "missing.h5").string();
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(missing); }), Contains("does not exist") && Contains(missing));
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(dir.string()); }), Contains("is a directory"));
  auto const text = (dir / "text.h5").string();
  { std::ofstream(text) << "l,U0,F_right\n1e-5,0,25\n"; }
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(text); }), Contains("is not an HDF5 file"));

  // HDF5 files with something wrong, built by hand.
  SmallDataset d;
  auto make = [&](std::string const& name, auto&& edit) {
    std::string const path = (dir / name).string();
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(file >= 0);
    edit(file);
    H5Fclose(file);
    return path;
  };
  std::vector<double> table;
  for (auto const& c : d.conditions) table.insert(table.end(), {c.l, c.U0, c.F_right});
  std::vector<double> fields(2 * 2 * d.N, 1.0);
  std::vector<std::int64_t> idx{0, 1};
  std::vector<std::uint8_t> st{0, 0};
  auto valid = [&](hid_t file) {
    psgm_test::h5_string_attribute(file, "format", "psgm-dataset");
    psgm_test::h5_int_attribute(file, "format_version", 1);
    psgm_test::h5_write(file, "/grid/x", {hsize_t(d.N)}, H5T_IEEE_F64LE, d.x.data());
    psgm_test::h5_write(file, "/conditions", {3, 3}, H5T_IEEE_F64LE, table.data());
    psgm_test::h5_write(file, "/samples/fields", {2, 2, hsize_t(d.N)}, H5T_IEEE_F64LE, fields.data());
    psgm_test::h5_write(file, "/samples/condition_index", {2}, H5T_STD_I64LE, idx.data());
  };
  // The hand-made valid file reads (so each failure below is the one edit).
  auto const ok = make("ok.h5", [&](hid_t f) {
    valid(f);
    psgm_test::h5_write(f, "/samples/status", {2}, H5T_STD_U8LE, st.data());
  });
  CHECK(DatasetReader(ok).size() == 2);
  CHECK_FALSE(DatasetReader(ok).has_porosity());

  auto const plain = make("plain.h5", [&](hid_t f) { psgm_test::h5_write(f, "/x", {3}, H5T_IEEE_F64LE, table.data()); });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(plain); }),
             Contains("not a psgm data set") && Contains("no root attribute 'format'"));
  auto const other = make("other.h5", [&](hid_t f) {
    valid(f);
    psgm_test::h5_string_attribute(f, "format", "psgm-model");
  });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(other); }),
             Contains("format = 'psgm-model'; expected 'psgm-dataset'"));
  auto const newer = make("newer.h5", [&](hid_t f) {
    valid(f);
    psgm_test::h5_int_attribute(f, "format_version", 2);
  });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(newer); }), Contains("format_version 2 is not supported"));
  auto const no_status = make("no_status.h5", [&](hid_t f) { valid(f); });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(no_status); }),
             Contains("'/samples/status' is missing") && Contains("(2,) uint8"));
  auto const short_status = make("short_status.h5", [&](hid_t f) {
    valid(f);
    psgm_test::h5_write(f, "/samples/status", {1}, H5T_STD_U8LE, st.data());
  });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(short_status); }),
             Contains("'/samples/status' has shape (1,); expected (2,)"));
  auto const bad_fields = make("bad_fields.h5", [&](hid_t f) {
    psgm_test::h5_string_attribute(f, "format", "psgm-dataset");
    psgm_test::h5_int_attribute(f, "format_version", 1);
    psgm_test::h5_write(f, "/grid/x", {hsize_t(d.N)}, H5T_IEEE_F64LE, d.x.data());
    psgm_test::h5_write(f, "/conditions", {3, 3}, H5T_IEEE_F64LE, table.data());
    psgm_test::h5_write(f, "/samples/fields", {1, 4, hsize_t(d.N)}, H5T_IEEE_F64LE, fields.data());
  });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(bad_fields); }),
             Contains("'/samples/fields' has shape (1, 4, 7); expected (n, 2, 7) float64"));
  auto const bad_conditions = make("bad_conditions.h5", [&](hid_t f) {
    psgm_test::h5_string_attribute(f, "format", "psgm-dataset");
    psgm_test::h5_int_attribute(f, "format_version", 1);
    psgm_test::h5_write(f, "/grid/x", {hsize_t(d.N)}, H5T_IEEE_F64LE, d.x.data());
    psgm_test::h5_write(f, "/conditions", {3, 2}, H5T_IEEE_F64LE, table.data());
  });
  CHECK_THAT(error_message<IoError>([&] { DatasetReader r(bad_conditions); }),
             Contains("'/conditions' has shape (3, 2); expected (M, 3)"));
  auto const bad_values = make("bad_values.h5", [&](hid_t f) {
    valid(f);
    std::vector<std::uint8_t> bad{0, 7};
    psgm_test::h5_write(f, "/samples/status", {2}, H5T_STD_U8LE, bad.data());
  });
  DatasetReader r(bad_values);
  CHECK_THAT(error_message<IoError>([&] { r.status(); }), Contains("status 7 of sample 1 is not a psgm::SolveStatus"));

  // Conditions from any HDF5 table.
  CHECK(psgm::io::read_conditions_hdf5(ok) == d.conditions);
  CHECK_THAT(error_message<IoError>([&] { psgm::io::read_conditions_hdf5(bad_conditions); }),
             Contains("has shape (3, 2); expected (M, 3)"));
  CHECK_THAT(error_message<IoError>([&] { psgm::io::read_conditions_hdf5(ok, "/design"); }),
             Contains("'/design' is missing"));
  auto const negative_l = make("negative_l.h5", [&](hid_t f) {
    std::vector<double> t{1e-5, 0, 1, 0.0, 0.1, 2};
    psgm_test::h5_write(f, "/conditions", {2, 3}, H5T_IEEE_F64LE, t.data());
  });
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::io::read_conditions_hdf5(negative_l); }),
             Contains("row 1") && Contains("l = 0 must be finite and > 0"));
}

TEST_CASE("data set schema: C and K come from the file (docs/data.md §7)", "[io][dataset]") {
  auto const dir = psgm_test::scratch_dir("io_dataset_schema");
  // psgm's own files store the porous electrode's schema, and read back as it.
  std::string const own = write_small(dir, "own.h5", {11});
  CHECK(DatasetReader(own).info().schema == psgm::io::DatasetSchema::porous_electrode());
  CHECK(DatasetReader(own).info().schema.is_porous_electrode());

  // A data set of three channels at four condition columns.
  psgm::io::DatasetSchema schema;
  schema.channels = {"u", "v", "w"};
  schema.conditions = {{"a", "b", "c", "d"}, {"m", "1", "s", "1"}, {1, 0, 0, 0}};
  int const N = 5, C = 3, K = 4, M = 2, n = 4;
  std::vector<double> x{0.1, 0.2, 0.3, 0.4, 0.5};
  std::vector<double> table{1e-3, 0.5, -2.0, 7.0, 2e-3, -0.5, 1.0, 0.0};
  std::string const path = (dir / "foreign.h5").string();
  {
    DatasetWriterOptions options;
    options.store_porosity = false;
    DatasetWriter w(path, x, schema, table, {}, options);
    CHECK(w.num_channels() == C);
    CHECK(w.num_conditions() == M);
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("f", n, C, N);
    for (int s = 0; s < n; ++s)
      for (int c = 0; c < C; ++c)
        for (int i = 0; i < N; ++i) f(s, c, i) = 100.0 * s + 10.0 * c + i;
    std::vector<std::int64_t> idx{0, 0, 1, 1};
    std::vector<SolveStatus> st(n, SolveStatus::ok);
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> wrong("wrong", n, 2, N);
    CHECK_THAT(error_message<InvalidArgument>([&] {
                 w.append(wrong, DatasetWriter::host_index_view(idx.data(), n),
                          DatasetWriter::host_status_view(st.data(), n));
               }),
               Contains("expected (B, 3, 5)"));
    w.append(f, DatasetWriter::host_index_view(idx.data(), n), DatasetWriter::host_status_view(st.data(), n));
    w.commit();
  }
  DatasetReader r(path);
  auto const& info = r.info();
  CHECK(info.schema == schema);
  CHECK(!info.schema.is_porous_electrode());
  CHECK(info.num_channels() == C);
  CHECK(info.num_condition_columns() == K);
  CHECK(info.num_conditions() == M);
  CHECK(info.condition_table == table);
  CHECK(info.conditions.empty());  // not (l, U0, F_right)
  CHECK(info.condition(1)[3] == 0.0);
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> back("back", 2, C, N);
  r.read_fields(2, back);
  CHECK(back(1, 2, 4) == 100.0 * 3 + 10.0 * 2 + 4);
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> two("two", 2, 2, N);
  CHECK_THAT(error_message<InvalidArgument>([&] { r.read_fields(0, two); }), Contains("expected (B, 3, 5)"));
  CHECK(r.content_sha256().size() == 64);

  // The condition table of another file, in the model's columns.
  CHECK(psgm::io::read_condition_table_hdf5(path, schema.conditions) == table);
  auto other = schema.conditions;
  other.names[3] = "e";
  CHECK_THAT(error_message<IoError>([&] { psgm::io::read_condition_table_hdf5(path, other); }),
             Contains("names its columns (a, b, c, d); expected (a, b, c, e)"));
  CHECK_THAT(error_message<IoError>([&] { psgm::io::read_condition_table_hdf5(own, schema.conditions); }),
             Contains("expected (M, 4)"));

  // Rows are checked by the schema: a logarithmic column must be > 0.
  std::vector<double> bad = table;
  bad[4] = -1.0;
  CHECK_THAT(error_message<InvalidArgument>([&] { DatasetWriter w((dir / "bad.h5").string(), x, schema, bad, {}); }),
             Contains("condition 1: condition column 'a' = -1 must be > 0"));
  CHECK_THAT(error_message<InvalidArgument>([&] {
               DatasetWriter w((dir / "ragged.h5").string(), x, schema, std::vector<double>{1, 2, 3}, {});
             }),
             Contains("3 condition values; expected at least one row of K = 4 columns"));
  CHECK(!fs::exists(dir / "bad.h5"));

  // A file that names neither its channels nor its columns must have psgm's shapes.
  auto const unnamed = (dir / "unnamed.h5").string();
  {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    hid_t f = H5Fcreate(unnamed.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(f >= 0);
    psgm_test::h5_string_attribute(f, "format", "psgm-dataset");
    psgm_test::h5_int_attribute(f, "format_version", 1);
    psgm_test::h5_write(f, "/grid/x", {hsize_t(N)}, H5T_IEEE_F64LE, x.data());
    psgm_test::h5_write(f, "/conditions", {2, 4}, H5T_IEEE_F64LE, table.data());
    H5Fclose(f);
  }
  CHECK_THAT(error_message<IoError>([&] { DatasetReader bad_file(unnamed); }),
             Contains("or an attribute 'columns' naming its 4 columns"));
}
