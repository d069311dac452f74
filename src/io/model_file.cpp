// psgm model files on the HDF5 C API (layout: docs/design.md §5), built on
// the private helpers of src/io/Hdf5.hpp (owning handles, error translation,
// attributes as AttributeMap values).
//
// Strings are variable-length UTF-8 attributes (what h5py writes for a Python
// str); either string kind is read, so files written by
// python/psgm/convert.py and by psgm are interchangeable.
#include "Hdf5.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Runtime.hpp>
#include <psgm/io/ModelFile.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <set>
#include <utility>

namespace psgm {
namespace io {

namespace {

namespace fs = std::filesystem;
using Impl::check;
using Impl::checked;
using Impl::Handle;

std::string shape_string(std::vector<std::int64_t> const& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool is_record_series(std::string const& name) {
  return name == "train_loss" || name == "validation_loss" || name == "validation_step" || name == "learning_rate";
}

std::vector<std::string> link_names(hid_t group) {
  std::vector<std::string> names;
  H5Literate(
      group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, char const* name, H5L_info_t const*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

// ------------------------------------------------------------------ writing
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  Handle create_file() const {
    return checked(H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                   "cannot create model file '" + path_ + "'");
  }
  Handle group(hid_t parent, std::string const& name) const {
    return checked(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                   "model file '" + path_ + "': cannot create group '" + name + "'");
  }
  static void attr(hid_t obj, std::string const& name, AttributeMap::Value const& value) {
    Impl::write_attribute(obj, name, value);
  }
  /// Seeds are full 64-bit unsigned integers (AttributeMap holds int64 only).
  void attr_u64(hid_t obj, std::string const& name, std::uint64_t value) const {
    Handle space = checked(H5Screate(H5S_SCALAR), "cannot create a dataspace");
    Handle a = checked(H5Acreate2(obj, name.c_str(), H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                       "model file '" + path_ + "': cannot create attribute '" + name + "'");
    check(H5Awrite(a, H5T_NATIVE_UINT64, &value), "model file '" + path_ + "': cannot write attribute '" + name + "'");
  }

  /// A data set of `dims` stored as `file_type`, written from doubles (HDF5
  /// rounds to nearest when the file type is float32) or int64.
  template <class T>
  void dataset(hid_t parent, std::string const& name, std::vector<std::int64_t> const& dims, T const* values,
               hid_t file_type) const {
    static_assert(std::is_same_v<T, double> || std::is_same_v<T, std::int64_t>);
    std::vector<hsize_t> const d(dims.begin(), dims.end());
    Handle space = checked(H5Screate_simple(static_cast<int>(d.size()), d.data(), nullptr), "cannot create a dataspace");
    Handle ds = checked(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        "model file '" + path_ + "': cannot create data set '" + name + "'");
    std::int64_t n = 1;
    for (auto e : dims) n *= e;
    if (n > 0)
      check(H5Dwrite(ds, std::is_same_v<T, double> ? H5T_NATIVE_DOUBLE : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL,
                     H5P_DEFAULT, values),
            "model file '" + path_ + "': cannot write data set '" + name + "'");
  }
  void series(hid_t parent, std::string const& name, std::vector<double> const& v) const {
    dataset(parent, name, {static_cast<std::int64_t>(v.size())}, v.data(), H5T_IEEE_F64LE);
  }
  void parameters(hid_t parent, std::string const& group_name, model::ParameterSet const& set,
                  hid_t file_type) const {
    Handle g = group(parent, group_name);
    for (std::size_t i = 0; i < set.shapes.size(); ++i)
      dataset(g, set.shapes[i].name, set.shapes[i].shape, set.values[i].data(), file_type);
  }

 private:
  std::string path_;
};

void write_sde(Writer const& w, hid_t g, model::SdeConfig const& s) {
  w.attr(g, "type", std::string(model::to_string(s.type)));
  switch (s.type) {
    case model::SdeType::vp:
      w.attr(g, "beta_min", s.vp.beta_min);
      w.attr(g, "beta_max", s.vp.beta_max);
      w.attr(g, "t_min", s.vp.t_min);
      break;
    case model::SdeType::ve:
      w.attr(g, "sigma_min", s.ve.sigma_min);
      w.attr(g, "sigma_max", s.ve.sigma_max);
      w.attr(g, "t_min", s.ve.t_min);
      break;
    case model::SdeType::edm:
      w.attr(g, "sigma_data", s.edm.sigma_data);
      w.attr(g, "p_mean", s.edm.p_mean);
      w.attr(g, "p_std", s.edm.p_std);
      w.attr(g, "sigma_min", s.edm.sigma_min);
      w.attr(g, "sigma_max", s.edm.sigma_max);
      w.attr(g, "rho", s.edm.rho);
      // Written only when it differs from Karras et al.'s 1/4, so that files
      // of the reference kind stay as before (and readable by convert.py).
      if (s.edm.noise_scale != 0.25) w.attr(g, "noise_scale", s.edm.noise_scale);
      break;
  }
}

void write_ridge(Writer const& w, hid_t g, std::string const& prefix, model::KernelRidge const& k) {
  w.attr(g, prefix + "_length_scales", k.length_scales);
  w.attr(g, prefix + "_ridge", k.ridge);
  w.attr(g, prefix + "_cv_error", k.cv_error);
  w.dataset(g, prefix + "_centers", {k.num_centers(), k.num_features}, k.centers.data(), H5T_IEEE_F64LE);
  w.dataset(g, prefix + "_weights", {k.num_centers(), k.num_outputs}, k.weights.data(), H5T_IEEE_F64LE);
  w.series(g, prefix + "_offset", k.offset);
}

/// A RidgeSet: one part is written as before the per-channel split (prefix_*);
/// several as prefix_parts = P and prefix_part<k>_* (docs/design.md §5).
void write_ridge_set(Writer const& w, hid_t g, std::string const& prefix, model::RidgeSet const& set) {
  if (set.parts.size() == 1) return write_ridge(w, g, prefix, set.parts.front());
  w.attr(g, prefix + "_parts", std::int64_t(set.parts.size()));
  for (std::size_t k = 0; k < set.parts.size(); ++k) write_ridge(w, g, prefix + "_part" + std::to_string(k), set.parts[k]);
}

/// /whitening (docs/design.md §5): everything in float64.
void write_whitening(Writer const& w, hid_t file, model::Whitening const& wh) {
  Handle g = w.group(file, "whitening");
  w.attr(g, "channels", std::int64_t{wh.channels});
  if (!wh.channel_names.empty()) w.attr(g, "channel_names", wh.channel_names);
  w.attr(g, "num_points", std::int64_t{wh.num_points});
  w.attr(g, "components", std::int64_t{wh.components});
  w.attr(g, "num_training_samples", wh.num_training_samples);
  w.attr(g, "num_training_conditions", wh.num_training_conditions);
  w.attr(g, "explained_variance", wh.explained_variance());
  w.attr(g, "condition_names", wh.schema.names);
  w.attr(g, "condition_units", wh.schema.units);
  w.attr(g, "condition_log", std::vector<std::int64_t>(wh.schema.log.begin(), wh.schema.log.end()));
  w.attr(g, "feature_mean", wh.feature_mean);
  w.attr(g, "feature_scale", wh.feature_scale);
  std::vector<std::int64_t> const free(wh.free_points.begin(), wh.free_points.end());
  w.dataset(g, "free_points", {std::int64_t(free.size())}, free.data(), H5T_STD_I64LE);
  write_ridge_set(w, g, "mean", wh.mean);
  if (wh.spread_form == model::SpreadForm::log_std) {
    w.attr(g, "spread_form", std::string("log_std"));
    write_ridge_set(w, g, "log_std", wh.log_std);
  } else {
    w.attr(g, "spread_form", std::string("level_shape"));
    write_ridge_set(w, g, "spread_level", wh.spread_level);
    write_ridge_set(w, g, "spread_shape", wh.spread_shape);
    w.series(g, "shape_floor", wh.shape_floor);
  }
  std::int64_t const F = wh.num_free();
  w.dataset(g, "basis", {F, F}, wh.basis.data(), H5T_IEEE_F64LE);
  w.series(g, "eigenvalues", wh.eigenvalues);
}

void write_contents(std::string const& file_path, model::ModelDescription const& m, ModelCheckpoint const* ckpt,
                    TrainingSeries const& series) {
  Writer const w(file_path);
  Handle file = w.create_file();
  w.attr(file, "format", std::string(model_format_name));
  // Version 2 adds /whitening and model_kind; models without them stay version 1
  // (readable by older psgm and by python/psgm/convert.py).
  bool const v2 = m.whitening || m.kind != model::ModelKind::score_network;
  w.attr(file, "format_version", std::int64_t{v2 ? model_format_version : 1});
  w.attr(file, "psgm_version", psgm::version());
  if (v2) w.attr(file, "model_kind", std::string(model::to_string(m.kind)));
  if (m.whitening) write_whitening(w, file, *m.whitening);
  if (m.kind == model::ModelKind::gaussian_emulator) {
    Handle g = w.group(file, "training");
    auto const& t = m.training;
    w.attr(g, "dataset_path", t.dataset_path);
    w.attr(g, "dataset_sha256", t.dataset_sha256);
    w.attr(g, "backend", t.backend);
    w.attr_u64(g, "seed", t.seed);
    w.attr(g, "config_toml", t.config_toml);
    check(H5Fflush(file, H5F_SCOPE_GLOBAL), "model file '" + file_path + "': flush failed");
    require<IoError>(file.reset(), "model file '", file_path, "': closing failed");
    return;
  }
  w.attr(file, "dtype", m.weights.dtype);
  hid_t const weight_type = m.weights.dtype == "float64" ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  {
    Handle g = w.group(file, "architecture");
    auto const& a = m.architecture;
    std::pair<char const*, int> const fields[] = {
        {"channels", a.channels},       {"num_points", a.num_points},   {"width", a.width},
        {"num_blocks", a.num_blocks},   {"kernel_size", a.kernel_size}, {"num_frequencies", a.num_frequencies},
        {"cond_dim", a.cond_dim},       {"film_hidden", a.film_hidden}, {"film_layers", a.film_layers}};
    for (auto const& [name, value] : fields) w.attr(g, name, std::int64_t{value});
  }
  {
    Handle g = w.group(file, "normalization");
    auto const& n = m.normalization;
    w.attr(g, "field_mean", std::vector<double>(n.field_mean.begin(), n.field_mean.end()));
    w.attr(g, "field_std", std::vector<double>(n.field_std.begin(), n.field_std.end()));
    w.attr(g, "cond_min", std::vector<double>(n.cond_min.begin(), n.cond_min.end()));
    w.attr(g, "cond_max", std::vector<double>(n.cond_max.begin(), n.cond_max.end()));
    w.attr(g, "cond_log", std::vector<std::int64_t>{n.cond_log[0], n.cond_log[1], n.cond_log[2]});
  }
  {
    Handle g = w.group(file, "sde");
    write_sde(w, g, m.sde);
  }
  w.parameters(file, "weights", m.weights, weight_type);
  {
    Handle g = w.group(file, "training");
    auto const& t = m.training;
    w.attr(g, "dataset_path", t.dataset_path);
    w.attr(g, "dataset_sha256", t.dataset_sha256);
    w.attr(g, "backend", t.backend);
    w.attr(g, "steps", t.steps);
    w.attr(g, "epochs", t.epochs);
    w.attr_u64(g, "seed", t.seed);
    w.attr(g, "best_validation_loss", t.best_validation_loss);
    w.attr(g, "best_step", t.best_step);
    w.attr(g, "ema_weights", std::int64_t{t.ema_weights ? 1 : 0});
    w.attr(g, "config_toml", t.config_toml);
    w.series(g, "train_loss", t.train_loss);
    w.series(g, "validation_loss", t.validation_loss);
    w.dataset(g, "validation_step", {static_cast<std::int64_t>(t.validation_step.size())}, t.validation_step.data(),
              H5T_STD_I64LE);
    w.series(g, "learning_rate", t.learning_rate);
    for (auto const& [name, values] : series) {
      require(!is_record_series(name), "model file: extra training series '", name,
              "' collides with a TrainingRecord field");
      w.series(g, name, values);
    }
  }
  if (ckpt) {
    Handle g = w.group(file, "checkpoint");
    w.attr(g, "step", ckpt->step);
    w.attr(g, "epoch", ckpt->epoch);
    w.attr(g, "batch_in_epoch", ckpt->batch_in_epoch);
    w.attr(g, "steps_per_epoch", ckpt->steps_per_epoch);
    w.attr(g, "total_steps", ckpt->total_steps);
    w.attr_u64(g, "seed", ckpt->seed);
    w.attr(g, "best_step", ckpt->best_step);
    w.attr(g, "best_validation_loss", ckpt->best_validation_loss);
    w.attr(g, "rng", std::string("counter-based: every draw is a function of (seed, stream, step, item)"));
    w.parameters(g, "weights", ckpt->weights, weight_type);
    w.parameters(g, "adam_m", ckpt->adam_m, weight_type);
    w.parameters(g, "adam_v", ckpt->adam_v, weight_type);
    if (!ckpt->ema_weights.shapes.empty()) w.parameters(g, "ema", ckpt->ema_weights, weight_type);
  }
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), "model file '" + file_path + "': flush failed");
  require<IoError>(file.reset(), "model file '", file_path, "': closing failed");
}

void fsync_path(fs::path const& p, bool directory) {
  int const fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// ------------------------------------------------------------------ reading
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)), file_(Impl::open_file_readonly(path_, "model file")) {
    root_ = Impl::read_attributes(file_, "model file '" + path_ + "'");
  }
  std::string const& path() const { return path_; }
  hid_t file() const { return file_; }
  AttributeMap const& root() const { return root_; }

  bool exists(std::string const& object) const { return Impl::object_exists(file_, object); }
  Handle group(std::string const& object) const {
    require<IoError>(exists(object), "model file '", path_, "': missing group '", object, "'");
    return checked(H5Gopen2(file_, object.c_str(), H5P_DEFAULT),
                   "model file '" + path_ + "': cannot open group '" + object + "'");
  }
  AttributeMap attributes(std::string const& object) const {
    Handle g = group(object);
    return Impl::read_attributes(g, "model file '" + path_ + "', " + object);
  }
  std::uint64_t attr_u64(std::string const& object, std::string const& name) const {
    Handle g = group(object);
    require<IoError>(H5Aexists(g, name.c_str()) > 0, "model file '", path_, "': missing attribute '", name, "' of ",
                     object);
    Handle a = checked(H5Aopen(g, name.c_str(), H5P_DEFAULT), "model file '" + path_ + "': attribute '" + name + "'");
    std::uint64_t v = 0;
    check(H5Aread(a, H5T_NATIVE_UINT64, &v), "model file '" + path_ + "': cannot read attribute '" + name + "'");
    return v;
  }

  /// A numeric data set as doubles.
  std::vector<double> doubles(std::string const& object) const {
    Handle ds = checked(H5Dopen2(file_, object.c_str(), H5P_DEFAULT),
                        "model file '" + path_ + "': cannot open data set '" + object + "'");
    auto const cls = Impl::dataset_class(ds);
    require<IoError>(cls == H5T_FLOAT || cls == H5T_INTEGER, "model file '", path_, "': data set '", object,
                     "' must be numeric");
    std::size_t n = 1;
    for (auto e : Impl::dataset_dims(ds)) n *= static_cast<std::size_t>(e);
    std::vector<double> out(n);
    if (n > 0)
      check(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
            "model file '" + path_ + "': cannot read data set '" + object + "' (truncated file?)");
    return out;
  }

  /// The weights of `architecture` under `group_path`, refusing a missing,
  /// extra or misshapen weight by name.
  model::ParameterSet parameters(std::string const& group_path, model::FilmCnnConfig const& architecture,
                                 std::string const& dtype) const {
    Handle g = group(group_path);
    model::ParameterSet set;
    set.dtype = dtype;
    set.shapes = model::parameter_shapes(architecture);
    std::set<std::string> expected;
    for (auto const& s : set.shapes) {
      expected.insert(s.name);
      std::string const where = group_path + "/" + s.name;
      require<IoError>(H5Lexists(g, s.name.c_str(), H5P_DEFAULT) > 0, "model file '", path_, "': missing weight '",
                       where, "' (the architecture in /architecture needs it, shape ", shape_string(s.shape), ")");
      Handle ds = checked(H5Dopen2(g, s.name.c_str(), H5P_DEFAULT),
                          "model file '" + path_ + "': '" + where + "' is not a data set");
      auto const dims = Impl::dataset_dims(ds);
      std::vector<std::int64_t> const found(dims.begin(), dims.end());
      require<IoError>(found == s.shape, "model file '", path_, "': weight '", where, "' has shape ",
                       shape_string(found), " but the architecture (channels ", architecture.channels, ", width ",
                       architecture.width, ", kernel_size ", architecture.kernel_size, ", film_hidden ",
                       architecture.film_hidden, ", z_dim ", architecture.z_dim(), ") needs ", shape_string(s.shape));
      set.values.push_back(doubles(where));
    }
    // Extra weights mean the file describes another network than its
    // /architecture says: refuse rather than ignore them.
    for (auto const& n : link_names(g))
      require<IoError>(expected.count(n) == 1, "model file '", path_, "': unexpected weight '", group_path, "/", n,
                       "' that the architecture in /architecture does not have");
    return set;
  }

 private:
  std::string path_;
  Handle file_;
  AttributeMap root_;
};

void check_root(Reader const& r) {
  auto const& a = r.root();
  require<IoError>(a.contains("format"), "'", r.path(),
                   "' is an HDF5 file but not a psgm model file (no 'format' attribute; expected format = \"",
                   model_format_name, "\")");
  std::string const format = a.get_string("format");
  require<IoError>(format == model_format_name, "'", r.path(), "' is not a psgm model file: format = \"", format,
                   "\", expected \"", model_format_name, "\"",
                   format == "psgm-dataset" ? " (this is a data set; pass it with --data)" : "");
  auto const version = a.get_int("format_version");
  require<IoError>(version >= 1 && version <= model_format_version, "model file '", r.path(), "' has format_version ",
                   version, "; this psgm reads versions 1 to ", model_format_version, " (written by a newer psgm?)");
}

std::string read_dtype(Reader const& r) {
  std::string const dtype = r.root().get_string("dtype");
  require<IoError>(dtype == "float32" || dtype == "float64", "model file '", r.path(), "': dtype = \"", dtype,
                   "\", expected \"float32\" or \"float64\"");
  return dtype;
}

model::SdeConfig read_sde(Reader const& r) {
  auto const a = r.attributes("/sde");
  model::SdeConfig s;
  try {
    s.type = model::sde_type_from_string(a.get_string("type"));
  } catch (InvalidArgument const& e) {
    throw IoError("model file '" + r.path() + "', /sde: " + e.what());
  }
  switch (s.type) {
    case model::SdeType::vp:
      s.vp.beta_min = a.get_double("beta_min");
      s.vp.beta_max = a.get_double("beta_max");
      s.vp.t_min = a.get_double("t_min");
      break;
    case model::SdeType::ve:
      s.ve.sigma_min = a.get_double("sigma_min");
      s.ve.sigma_max = a.get_double("sigma_max");
      s.ve.t_min = a.get_double("t_min");
      break;
    case model::SdeType::edm:
      s.edm.sigma_data = a.get_double("sigma_data");
      s.edm.p_mean = a.get_double("p_mean");
      s.edm.p_std = a.get_double("p_std");
      s.edm.sigma_min = a.get_double("sigma_min");
      s.edm.sigma_max = a.get_double("sigma_max");
      s.edm.rho = a.get_double("rho");
      if (a.contains("noise_scale")) s.edm.noise_scale = a.get_double("noise_scale");
      break;
  }
  return s;
}

model::KernelRidge read_ridge(Reader const& r, AttributeMap const& a, std::string const& prefix) {
  model::KernelRidge k;
  k.length_scales = a.get_doubles(prefix + "_length_scales");
  k.ridge = a.get_double(prefix + "_ridge");
  k.cv_error = a.get_double(prefix + "_cv_error");
  std::string const base = "/whitening/" + prefix;
  {
    Handle ds = checked(H5Dopen2(r.file(), (base + "_centers").c_str(), H5P_DEFAULT),
                        "model file '" + r.path() + "': cannot open '" + base + "_centers'");
    auto const dims = Impl::dataset_dims(ds);
    require<IoError>(dims.size() == 2, "model file '", r.path(), "': '", base, "_centers' must be 2-D");
    k.num_features = static_cast<int>(dims[1]);
  }
  {
    Handle ds = checked(H5Dopen2(r.file(), (base + "_weights").c_str(), H5P_DEFAULT),
                        "model file '" + r.path() + "': cannot open '" + base + "_weights'");
    auto const dims = Impl::dataset_dims(ds);
    require<IoError>(dims.size() == 2, "model file '", r.path(), "': '", base, "_weights' must be 2-D");
    k.num_outputs = static_cast<int>(dims[1]);
  }
  k.centers = r.doubles(base + "_centers");
  k.weights = r.doubles(base + "_weights");
  k.offset = r.doubles(base + "_offset");
  return k;
}

model::RidgeSet read_ridge_set(Reader const& r, AttributeMap const& a, std::string const& prefix) {
  model::RidgeSet set;
  if (!a.contains(prefix + "_parts")) {
    set.parts.push_back(read_ridge(r, a, prefix));
    return set;
  }
  auto const parts = a.get_int(prefix + "_parts");
  require<IoError>(parts >= 1 && parts <= 4096, "model file '", r.path(), "': /whitening ", prefix, "_parts = ", parts,
                   "; expected 1 to 4096 (one per channel)");
  for (std::int64_t k = 0; k < parts; ++k) set.parts.push_back(read_ridge(r, a, prefix + "_part" + std::to_string(k)));
  return set;
}

model::Whitening read_whitening(Reader const& r) {
  auto const a = r.attributes("/whitening");
  model::Whitening w;
  auto i = [&](char const* name) {
    auto const v = a.get_int(name);
    require<IoError>(v >= 0 && v < (std::int64_t{1} << 40), "model file '", r.path(), "': /whitening ", name, " = ",
                     v, " is out of range");
    return v;
  };
  w.channels = static_cast<int>(i("channels"));
  if (a.contains("channel_names")) w.channel_names = a.get_strings("channel_names");
  w.num_points = static_cast<int>(i("num_points"));
  w.components = static_cast<int>(i("components"));
  w.num_training_samples = i("num_training_samples");
  w.num_training_conditions = i("num_training_conditions");
  w.schema.names = a.get_strings("condition_names");
  w.schema.units = a.get_strings("condition_units");
  for (auto v : a.get_ints("condition_log")) w.schema.log.push_back(static_cast<std::uint8_t>(v != 0));
  w.feature_mean = a.get_doubles("feature_mean");
  w.feature_scale = a.get_doubles("feature_scale");
  for (double v : r.doubles("/whitening/free_points")) w.free_points.push_back(static_cast<std::int32_t>(v));
  w.mean = read_ridge_set(r, a, "mean");
  // Files without spread_form were written with the log_std form.
  std::string const form = a.contains("spread_form") ? a.get_string("spread_form") : std::string("log_std");
  if (form == "log_std") {
    w.spread_form = model::SpreadForm::log_std;
    w.log_std = read_ridge_set(r, a, "log_std");
  } else {
    require<IoError>(form == "level_shape", "model file '", r.path(), "': /whitening spread_form = '", form,
                     "'; expected 'level_shape' or 'log_std'");
    w.spread_form = model::SpreadForm::level_shape;
    w.spread_level = read_ridge_set(r, a, "spread_level");
    w.spread_shape = read_ridge_set(r, a, "spread_shape");
    w.shape_floor = r.doubles("/whitening/shape_floor");
  }
  w.basis = r.doubles("/whitening/basis");
  w.eigenvalues = r.doubles("/whitening/eigenvalues");
  try {
    w.validate();
  } catch (InvalidArgument const& e) {
    throw IoError("model file '" + r.path() + "', /whitening: " + e.what());
  }
  return w;
}

template <std::size_t K, class T>
void copy_exact(std::vector<T> const& v, std::array<T, K>& dst, std::string const& what) {
  require<IoError>(v.size() == K, what, " has ", v.size(), " values, expected ", K);
  std::copy(v.begin(), v.end(), dst.begin());
}

}  // namespace

// ------------------------------------------------------------------ public API
void write_model(std::string const& path, model::ModelDescription const& model, ModelCheckpoint const* checkpoint,
                 TrainingSeries const& series) {
  ScopedRegion region("psgm::io::write_model");
  require(model.kind == model::ModelKind::gaussian_emulator || model.weights.dtype == "float32" ||
              model.weights.dtype == "float64",
          "write_model: weights dtype \"", model.weights.dtype, "\" must be \"float32\" or \"float64\"");
  model.validate();
  if (checkpoint) {
    checkpoint->weights.check_matches(model.architecture);
    checkpoint->adam_m.check_matches(model.architecture);
    checkpoint->adam_v.check_matches(model.architecture);
    if (!checkpoint->ema_weights.shapes.empty()) checkpoint->ema_weights.check_matches(model.architecture);
  }
  Impl::ErrorSilencer quiet;
  fs::path const target = fs::absolute(path);
  fs::path const dir = target.parent_path();
  require<IoError>(fs::is_directory(dir), "cannot write model file '", path, "': directory '", dir.string(),
                   "' does not exist");
  require<IoError>(!fs::is_directory(target), "cannot write model file '", path, "': it is a directory");
  // Written under a temporary name in the same directory (same file system,
  // so the rename is atomic) and renamed over `path` only when complete.
  static std::atomic<unsigned> counter{0};
  fs::path const tmp = dir / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter++));
  try {
    write_contents(tmp.string(), model, checkpoint, series);
    fsync_path(tmp, false);
    std::error_code ec;
    fs::rename(tmp, target, ec);
    require<IoError>(!ec, "cannot rename '", tmp.string(), "' to '", target.string(), "': ", ec.message());
    fsync_path(dir, true);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

model::ModelDescription read_model(std::string const& path) {
  ScopedRegion region("psgm::io::read_model");
  Impl::ErrorSilencer quiet;
  Reader const r(path);
  check_root(r);
  model::ModelDescription m;
  if (r.root().contains("model_kind")) {
    try {
      m.kind = model::model_kind_from_string(r.root().get_string("model_kind"));
    } catch (InvalidArgument const& e) {
      throw IoError("model file '" + path + "': " + e.what());
    }
  }
  if (r.exists("/whitening")) m.whitening = read_whitening(r);
  if (m.kind == model::ModelKind::gaussian_emulator) {
    require<IoError>(m.whitening.has_value(), "model file '", path,
                     "' is a Gaussian emulator but holds no /whitening group");
    if (r.exists("/training")) {
      auto const a = r.attributes("/training");
      auto s = [&](char const* name) { return a.contains(name) ? a.get_string(name) : std::string(); };
      m.training.dataset_path = s("dataset_path");
      m.training.dataset_sha256 = s("dataset_sha256");
      m.training.backend = s("backend");
      m.training.config_toml = s("config_toml");
      m.training.seed = a.contains("seed") ? r.attr_u64("/training", "seed") : 0;
    }
    try {
      m.validate();
    } catch (InvalidArgument const& e) {
      throw InvalidArgument("model file '" + path + "': " + e.what());
    }
    return m;
  }
  std::string const dtype = read_dtype(r);
  {
    auto const a = r.attributes("/architecture");
    auto i = [&](char const* name) {
      auto const v = a.get_int(name);
      require<IoError>(v >= 0 && v < (std::int64_t{1} << 30), "model file '", path, "': /architecture ", name, " = ",
                       v, " is out of range");
      return static_cast<int>(v);
    };
    auto& c = m.architecture;
    c.channels = i("channels");
    c.num_points = i("num_points");
    c.width = i("width");
    c.num_blocks = i("num_blocks");
    c.kernel_size = i("kernel_size");
    c.num_frequencies = i("num_frequencies");
    c.cond_dim = i("cond_dim");
    c.film_hidden = i("film_hidden");
    c.film_layers = i("film_layers");
    try {
      c.validate();
    } catch (InvalidArgument const& e) {
      throw IoError("model file '" + path + "', /architecture: " + e.what());
    }
  }
  {
    auto const a = r.attributes("/normalization");
    std::string const where = "model file '" + path + "', /normalization ";
    auto& n = m.normalization;
    copy_exact(a.get_doubles("field_mean"), n.field_mean, where + "field_mean");
    copy_exact(a.get_doubles("field_std"), n.field_std, where + "field_std");
    copy_exact(a.get_doubles("cond_min"), n.cond_min, where + "cond_min");
    copy_exact(a.get_doubles("cond_max"), n.cond_max, where + "cond_max");
    std::array<std::int64_t, 3> logs{};
    copy_exact(a.get_ints("cond_log"), logs, where + "cond_log");
    for (int k = 0; k < 3; ++k) n.cond_log[k] = logs[k] != 0;
  }
  m.sde = read_sde(r);
  m.weights = r.parameters("/weights", m.architecture, dtype);
  check_parameters_finite(m.weights, "model file '" + path + "', /weights", false);
  if (r.exists("/training")) {
    auto const a = r.attributes("/training");
    auto& t = m.training;
    auto s = [&](char const* name) { return a.contains(name) ? a.get_string(name) : std::string(); };
    auto i = [&](char const* name) { return a.contains(name) ? a.get_int(name) : std::int64_t{0}; };
    t.dataset_path = s("dataset_path");
    t.dataset_sha256 = s("dataset_sha256");
    t.backend = s("backend");
    t.config_toml = s("config_toml");
    t.steps = i("steps");
    t.epochs = i("epochs");
    t.best_step = i("best_step");
    t.ema_weights = i("ema_weights") != 0;
    t.seed = a.contains("seed") ? r.attr_u64("/training", "seed") : 0;
    t.best_validation_loss = a.contains("best_validation_loss") ? a.get_double("best_validation_loss") : 0.0;
    auto series = [&](char const* name) {
      std::string const object = std::string("/training/") + name;
      return r.exists(object) ? r.doubles(object) : std::vector<double>{};
    };
    t.train_loss = series("train_loss");
    t.validation_loss = series("validation_loss");
    t.learning_rate = series("learning_rate");
    auto const steps = series("validation_step");
    t.validation_step.assign(steps.begin(), steps.end());
  }
  // Semantic checks (e.g. the VP schedule refusal) name the file.
  try {
    m.normalization.validate();
    m.sde.validate();
    if (m.whitening) m.validate();
  } catch (InvalidArgument const& e) {
    throw InvalidArgument("model file '" + path + "': " + e.what());
  }
  return m;
}

bool has_checkpoint(std::string const& path) {
  Impl::ErrorSilencer quiet;
  Reader const r(path);
  check_root(r);
  return r.exists("/checkpoint");
}

ModelCheckpoint read_checkpoint(std::string const& path, model::FilmCnnConfig const& architecture) {
  ScopedRegion region("psgm::io::read_checkpoint");
  Impl::ErrorSilencer quiet;
  Reader const r(path);
  check_root(r);
  std::string const dtype = read_dtype(r);
  require<IoError>(r.exists("/checkpoint"), "model file '", path,
                   "' holds no /checkpoint group, so training cannot resume from it (resume from the "
                   "'<name>.checkpoint.h5' file written beside the model)");
  auto const a = r.attributes("/checkpoint");
  ModelCheckpoint c;
  c.step = a.get_int("step");
  c.epoch = a.get_int("epoch");
  c.batch_in_epoch = a.get_int("batch_in_epoch");
  c.steps_per_epoch = a.get_int("steps_per_epoch");
  c.total_steps = a.get_int("total_steps");
  c.best_step = a.get_int("best_step");
  c.seed = r.attr_u64("/checkpoint", "seed");
  c.best_validation_loss = a.get_double("best_validation_loss");
  c.weights = r.parameters("/checkpoint/weights", architecture, dtype);
  c.adam_m = r.parameters("/checkpoint/adam_m", architecture, dtype);
  c.adam_v = r.parameters("/checkpoint/adam_v", architecture, dtype);
  if (r.exists("/checkpoint/ema")) c.ema_weights = r.parameters("/checkpoint/ema", architecture, dtype);
  check_checkpoint(c, path);
  return c;
}

TrainingSeries read_training_series(std::string const& path) {
  Impl::ErrorSilencer quiet;
  Reader const r(path);
  check_root(r);
  TrainingSeries out;
  if (!r.exists("/training")) return out;
  Handle g = r.group("/training");
  for (auto const& n : link_names(g))
    if (!is_record_series(n)) out[n] = r.doubles("/training/" + n);
  return out;
}

void check_model_matches_data(model::ModelDescription const& model, int channels, int num_points,
                              std::string const& what) {
  int const C = model.field_channels(), N = model.field_points();
  require(channels == C, what, " has ", channels, " channels per field, but the model was built for ", C);
  require(num_points == N, what, " has N = ", num_points, " grid points, but the model was trained on N = ", N,
          "; a model is valid only on the grid it was trained on (use data with N = ", N,
          " or train a model for N = ", num_points, ")");
}

}  // namespace io
}  // namespace psgm
