// The evaluation file (docs/metrics.md §6), written with the private HDF5
// helpers of libpsgm's I/O (src/io/Hdf5.hpp).
#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/core/Runtime.hpp>
#include <psgm/stats/EvaluationFile.hpp>

#include "../io/Hdf5.hpp"

#include <hdf5.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace psgm::stats {
namespace {

namespace fs = std::filesystem;
using io::Impl::check;
using io::Impl::checked;
using io::Impl::Handle;

Handle create_group(hid_t loc, std::string const& name) {
  return checked(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 "evaluation file: cannot create group '" + name + "'");
}

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
}
template <class T>
hid_t file_type() {
  if constexpr (std::is_same_v<T, double>) return H5T_IEEE_F64LE;
  if constexpr (std::is_same_v<T, std::int64_t>) return H5T_STD_I64LE;
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_STD_U8LE;
}

/// A contiguous, row-major data set `name` below `loc` with the given shape.
template <class T>
Handle write_array(hid_t loc, std::string const& name, std::vector<hsize_t> const& dims, std::vector<T> const& data) {
  hsize_t count = 1;
  for (hsize_t d : dims) count *= d;
  require<IoError>(count == data.size(), "evaluation file: internal error: '", name, "' has ", data.size(),
                   " values for ", count, " elements");
  Handle space = checked(H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                         "evaluation file: cannot create the dataspace of '" + name + "'");
  Handle set = checked(H5Dcreate2(loc, name.c_str(), file_type<T>(), space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       "evaluation file: cannot create '" + name + "'");
  check(H5Dwrite(set, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
        "evaluation file: cannot write '" + name + "'");
  return set;
}

std::string utc_now() {
  std::time_t const now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> names_of_metrics() {
  std::vector<std::string> out;
  for (Metric m : all_metrics) out.push_back(to_string(m));
  return out;
}

}  // namespace

void write_evaluation_file(std::string const& path, std::vector<double> const& x,
                           std::vector<ConditionEvaluation> const& evaluations, MetricsOptions const& options,
                           EvaluationProvenance const& provenance, bool overwrite) {
  require(!evaluations.empty(), "evaluation file '", path, "': no conditions were evaluated");
  std::size_t const N = x.size();
  std::size_t const K = evaluations.size();
  for (auto const& e : evaluations)
    require(std::size_t(e.comparison.num_points) == N &&
                e.comparison.pinned.size() == std::size_t(evaluations.front().comparison.num_channels()) * N &&
                e.comparison.channels == evaluations.front().comparison.channels,
            "evaluation file '", path, "': condition ", e.condition_index, " has ", e.comparison.num_points,
            " grid points, the grid ", N, " (or other channels than the first condition)");
  fs::path const target(path);
  require<IoError>(overwrite || !fs::exists(target), "evaluation file '", path,
                   "' exists; choose another output or allow overwriting (--overwrite)");
  fs::path const dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  require<IoError>(fs::is_directory(dir), "evaluation file '", path, "': the directory '", dir.string(),
                   "' does not exist");
  static std::atomic<unsigned> counter{0};
  std::ostringstream tmp_name;
  tmp_name << '.' << target.filename().string() << ".partial-" << ::getpid() << '-' << counter++;
  std::string const tmp = (dir / tmp_name.str()).string();

  io::Impl::ErrorSilencer silence;
  try {
    Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), "evaluation file: cannot create file access properties");
    check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "evaluation file: cannot set HDF5 versions");
    Handle file = checked(H5Fcreate(tmp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl),
                          "evaluation file: cannot create the temporary file '" + tmp + "'");
    auto const attr = [](hid_t obj, std::string const& name, io::AttributeMap::Value const& v) {
      io::Impl::write_attribute(obj, name, v);
    };
    attr(file, "format", std::string(evaluation_format));
    attr(file, "format_version", std::int64_t(evaluation_format_version));
    attr(file, "psgm_version", psgm::version());
    attr(file, "created", utc_now());
    attr(file, "band_level", options.band_level);
    attr(file, "permutations", std::int64_t(options.permutations));
    attr(file, "seed", std::int64_t(options.seed));
    attr(file, "pinned_tolerance", options.pinned_tolerance);
    attr(file, "c_crit_quantile", options.c_crit_quantile);
    if (options.c_crit) attr(file, "c_crit", *options.c_crit);
    attr(file, "confidence", options.confidence);
    attr(file, "model_path", provenance.model_path);
    attr(file, "data_path", provenance.data_path);
    attr(file, "floor_source", provenance.floor_source);
    attr(file, "config_toml", provenance.config_toml);
    // The channels and condition columns are the data set's (docs/data.md §7).
    std::vector<std::string> const fields = evaluations.front().comparison.channels;
    std::size_t const C = fields.size();
    auto const& first = evaluations.front();
    bool const porous_conditions = first.condition_values.empty();
    std::vector<std::string> const columns =
        porous_conditions ? std::vector<std::string>{"l", "U0", "F_right"} : first.condition_names;
    bool qoi = true;
    for (auto const& e : evaluations) qoi = qoi && e.comparison.has_qoi;
    attr(file, "fields", fields);

    {
      Handle grid = create_group(file, "grid");
      write_array(grid, "x", {N}, x);
    }
    std::vector<double> conditions;
    std::vector<std::int64_t> index;
    for (auto const& e : evaluations) {
      if (porous_conditions)
        conditions.insert(conditions.end(), {e.condition.l, e.condition.U0, e.condition.F_right});
      else
        conditions.insert(conditions.end(), e.condition_values.begin(), e.condition_values.end());
      index.push_back(e.condition_index);
    }
    {
      Handle c = write_array(file, "conditions", {K, columns.size()}, conditions);
      attr(c, "columns", columns);
      write_array(file, "condition_index", {K}, index);
    }

    // /metrics/{model,floor} (K, C, M)
    {
      Handle g = create_group(file, "metrics");
      attr(g, "metrics", names_of_metrics());
      attr(g, "fields", fields);
      for (bool floor : {false, true}) {
        std::vector<double> v;
        for (auto const& e : evaluations)
          for (std::size_t f = 0; f < C; ++f)
            for (Metric m : all_metrics)
              v.push_back((floor ? e.comparison.floor : e.comparison.model)[f].get(m));
        write_array(g, floor ? "floor" : "model", {K, C, std::size_t(num_metrics)}, v);
      }
    }

    // /qoi: the porous electrode's P(min_x c < c_crit) only
    if (qoi) {
      Handle g = create_group(file, "qoi");
      attr(g, "ensembles", std::vector<std::string>{"pde", "model", "floor"});
      attr(g, "columns", std::vector<std::string>{"estimate", "lower", "upper"});
      attr(g, "confidence", options.confidence);
      std::vector<double> crit, est;
      std::vector<std::int64_t> from_data, counts;
      for (auto const& e : evaluations) {
        auto const& q = e.comparison.qoi;
        crit.push_back(q.c_crit);
        from_data.push_back(q.c_crit_from_data ? 1 : 0);
        for (Proportion const* p : {&q.pde, &q.model, &q.floor}) {
          est.insert(est.end(), {p->estimate, p->lower, p->upper});
          counts.insert(counts.end(), {p->successes, p->trials});
        }
      }
      write_array(g, "c_crit", {K}, crit);
      write_array(g, "c_crit_from_data", {K}, from_data);
      write_array(g, "probability", {K, 3, 3}, est);
      write_array(g, "counts", {K, 3, 2}, counts);
    }

    // /profiles/<ensemble>/{mean,stddev,lower,upper} (K, C, N), num_samples (K)
    {
      Handle g = create_group(file, "profiles");
      attr(g, "band_level", options.band_level);
      struct Which {
        char const* name;
        EnsembleProfile EnsembleComparison::*profile;
      };
      for (Which const w : {Which{"pde", &EnsembleComparison::pde_profile},
                            Which{"model", &EnsembleComparison::model_profile},
                            Which{"floor", &EnsembleComparison::floor_profile}}) {
        Handle h = create_group(g, w.name);
        std::vector<std::int64_t> counts;
        for (auto const& e : evaluations) counts.push_back((e.comparison.*w.profile).num_samples);
        write_array(h, "num_samples", {K}, counts);
        for (auto const& [name, member] :
             {std::pair{"mean", &EnsembleProfile::mean}, std::pair{"stddev", &EnsembleProfile::stddev},
              std::pair{"lower", &EnsembleProfile::lower}, std::pair{"upper", &EnsembleProfile::upper}}) {
          std::vector<double> v;
          for (auto const& e : evaluations) {
            auto const& src = (e.comparison.*w.profile).*member;
            v.insert(v.end(), src.begin(), src.end());
          }
          write_array(h, name, {K, C, N}, v);
        }
      }
    }

    // /pointwise (K, C, N) and /pinned
    {
      Handle g = create_group(file, "pointwise");
      for (auto const& [name, member] :
           {std::pair{"wasserstein_model", &EnsembleComparison::wasserstein_model},
            std::pair{"wasserstein_floor", &EnsembleComparison::wasserstein_floor},
            std::pair{"coverage_model", &EnsembleComparison::coverage_model},
            std::pair{"coverage_floor", &EnsembleComparison::coverage_floor}}) {
        std::vector<double> v;
        for (auto const& e : evaluations) v.insert(v.end(), (e.comparison.*member).begin(), (e.comparison.*member).end());
        write_array(g, name, {K, C, N}, v);
      }
      std::vector<std::uint8_t> pinned;
      for (auto const& e : evaluations) pinned.insert(pinned.end(), e.comparison.pinned.begin(), e.comparison.pinned.end());
      write_array(file, "pinned", {K, C, N}, pinned);
    }
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "evaluation file: cannot flush '" + tmp + "'");
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError("evaluation file: cannot rename the temporary file to '" + path + "': " + ec.message());
  }
}

}  // namespace psgm::stats
