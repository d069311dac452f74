// Data set files (docs/design.md §4, docs/data.md): AttributeMap, DatasetWriter,
// DatasetReader, read_conditions_hdf5.
#include "Hdf5.hpp"
#include "Sha256.hpp"

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Runtime.hpp>
#include <psgm/io/Dataset.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <type_traits>
#include <unistd.h>

namespace psgm::io {

namespace fs = std::filesystem;
using Impl::check;
using Impl::checked;
using Impl::Handle;

// DatasetWriteGroup passes HDF5 identifiers as std::int64_t.
static_assert(std::is_same_v<hid_t, std::int64_t>, "psgm::io: hid_t is expected to be int64_t (HDF5 >= 1.10)");

// ================================================================== AttributeMap
void AttributeMap::merge(AttributeMap const& other) {
  for (auto const& [name, value] : other.values_) values_[name] = value;
}

AttributeMap::Value const& AttributeMap::at(std::string const& name) const {
  auto const it = values_.find(name);
  if (it == values_.end())
    throw IoError((origin_.empty() ? std::string() : origin_ + ": ") + "attribute '" + name + "' is missing");
  return it->second;
}

namespace {
[[noreturn]] void wrong_type(std::string const& origin, std::string const& name, char const* expected) {
  throw IoError((origin.empty() ? std::string() : origin + ": ") + "attribute '" + name + "' is not " + expected);
}
}  // namespace

double AttributeMap::get_double(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* d = std::get_if<double>(&v)) return *d;
  if (auto const* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  wrong_type(origin_, name, "a number");
}

std::int64_t AttributeMap::get_int(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* i = std::get_if<std::int64_t>(&v)) return *i;
  wrong_type(origin_, name, "an integer");
}

std::string const& AttributeMap::get_string(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* s = std::get_if<std::string>(&v)) return *s;
  wrong_type(origin_, name, "a string");
}

std::vector<double> AttributeMap::get_doubles(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* d = std::get_if<std::vector<double>>(&v)) return *d;
  if (auto const* i = std::get_if<std::vector<std::int64_t>>(&v)) return {i->begin(), i->end()};
  wrong_type(origin_, name, "an array of numbers");
}

std::vector<std::int64_t> AttributeMap::get_ints(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* i = std::get_if<std::vector<std::int64_t>>(&v)) return *i;
  wrong_type(origin_, name, "an array of integers");
}

std::vector<std::string> AttributeMap::get_strings(std::string const& name) const {
  auto const& v = at(name);
  if (auto const* s = std::get_if<std::vector<std::string>>(&v)) return *s;
  wrong_type(origin_, name, "an array of strings");
}

// ================================================================== DatasetSchema
DatasetSchema DatasetSchema::porous_electrode() { return {{"c", "phi"}, model::ConditionSchema::porous_electrode()}; }

void DatasetSchema::validate() const {
  require(!channels.empty(), "data set schema: no channels");
  for (std::size_t c = 0; c < channels.size(); ++c) {
    require(!channels[c].empty(), "data set schema: channel ", c, " has an empty name");
    for (std::size_t d = 0; d < c; ++d)
      require(channels[c] != channels[d], "data set schema: channel name '", channels[c], "' appears twice");
  }
  conditions.validate();
}

// ================================================================== shared
namespace {

std::vector<std::string> status_names() {
  std::vector<std::string> names;
  for (int s = 0; s < num_solve_statuses; ++s) names.emplace_back(to_string(static_cast<SolveStatus>(s)));
  return names;
}

bool is_reserved(std::string const& name) {
  for (char const* r : dataset_reserved_attributes)
    if (name == r) return true;
  return false;
}

void check_not_reserved(AttributeMap const& attributes) {
  for (auto const& [name, value] : attributes.values())
    require(!is_reserved(name), "data set attribute '", name,
            "' is set by psgm::io::DatasetWriter itself (reserved: format, format_version, psgm_version, created)");
}

std::string utc_now_iso8601() {
  std::time_t const now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string temporary_name(fs::path const& target) {
  static std::atomic<unsigned> counter{0};
  fs::path const dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::ostringstream name;
  name << '.' << target.filename().string() << ".partial-" << ::getpid() << '-' << counter++;
  return (dir / name.str()).string();
}

// Data set paths of the format.
constexpr char const* path_x = "/grid/x";
constexpr char const* path_conditions = "/conditions";
constexpr char const* path_fields = "/samples/fields";
constexpr char const* path_porosity = "/samples/porosity";
constexpr char const* path_index = "/samples/condition_index";
constexpr char const* path_status = "/samples/status";

Handle link_creation_plist() {
  Handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), "cannot create an HDF5 property list");
  check(H5Pset_create_intermediate_group(lcpl, 1), "cannot create an HDF5 property list");
  return lcpl;
}

// A fixed-size data set written at once (with a group: collectively, every
// process writing the same values).
void write_fixed(hid_t file, char const* path, std::vector<hsize_t> const& dims, hid_t file_type, hid_t mem_type,
                 void const* data, std::string const& where, hid_t dxpl) {
  Handle lcpl = link_creation_plist();
  Handle space = checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), where);
  Handle dset = checked(H5Dcreate2(file, path, file_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                        where + ": cannot create '" + path + "'");
  check(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, dxpl, data), where + ": cannot write '" + path + "'");
}

// Root attributes (those of root_attributes() at creation, the caller's later).
void write_root_attributes(hid_t file, AttributeMap const& attributes) {
  for (auto const& [name, value] : attributes.values()) Impl::write_attribute(file, name, value);
}

// Syncs the closed temporary file and gives it its final name: renames it,
// or (overwrite = false) links it, so that a file that appeared at `path`
// meanwhile is not replaced. Returns "" or ": <what failed>" (the temporary
// file is then removed).
std::string publish(std::string const& tmp_path, std::string const& path, bool overwrite) {
  // The data must be on disk before the name says the file is complete.
  int const fd = ::open(tmp_path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  std::string error;
  if (overwrite) {
    fs::rename(tmp_path, path, ec);
    if (ec) error = ": cannot rename '" + tmp_path + "' to it: " + ec.message();
  } else {
    // A hard link fails atomically if the name is taken meanwhile; rename
    // would silently replace it.
    fs::create_hard_link(tmp_path, path, ec);
    if (ec) {
      if (fs::exists(path)) {
        error = ": '" + path + "' appeared while writing; refusing to overwrite it";
      } else {
        // File systems without hard links: check, then rename.
        std::error_code ec2;
        fs::rename(tmp_path, path, ec2);
        if (ec2) error = ": cannot rename '" + tmp_path + "' to it: " + ec2.message();
      }
    } else {
      fs::remove(tmp_path, ec);
    }
  }
  if (!error.empty()) fs::remove(tmp_path, ec);
  return error;
}

// The writer's reserved root attributes and the caller's, in one map.
AttributeMap root_attributes(AttributeMap const& attributes) {
  AttributeMap a;
  a.set("format", std::string(dataset_format));
  a.set("format_version", std::int64_t(dataset_format_version));
  a.set("psgm_version", psgm::version());
  a.set("created", utc_now_iso8601());
  a.merge(attributes);
  return a;
}

}  // namespace

// ================================================================== DatasetWriter
struct DatasetWriter::State {
  std::string path;
  std::string tmp_path;
  DatasetWriterOptions options;
  int N = 0, C = 0;
  std::int64_t M = 0;
  std::int64_t n = 0;
  Handle file, fields, porosity, index, status;
  bool committed = false;
  bool open = false;
  // With a group (DatasetWriterOptions::group): collective transfers, and
  // the root attributes kept until commit, when the root writes them.
  std::shared_ptr<DatasetWriteGroup> group;
  Handle dxpl;
  AttributeMap root;

  hid_t transfer() const { return group ? hid_t(dxpl) : H5P_DEFAULT; }

  std::string where() const { return "data set '" + path + "'"; }

  // Extendible data set with chunks of whole samples: (chunk, rest...).
  Handle create_extendible(char const* dpath, std::vector<hsize_t> const& rest, hid_t file_type, hsize_t chunk) {
    std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk_dims{chunk};
    for (hsize_t d : rest) {
      dims.push_back(d);
      maxdims.push_back(d);
      chunk_dims.push_back(d);
    }
    int const rank = static_cast<int>(dims.size());
    Handle space = checked(H5Screate_simple(rank, dims.data(), maxdims.data()), where());
    Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), where());
    check(H5Pset_chunk(dcpl, rank, chunk_dims.data()), where() + ": cannot set the chunk shape of '" + dpath + "'");
    if (options.deflate_level > 0) {
      check(H5Pset_shuffle(dcpl), where() + ": cannot enable the shuffle filter");
      check(H5Pset_deflate(dcpl, static_cast<unsigned>(options.deflate_level)),
            where() + ": cannot enable gzip compression");
    }
    // A chunk cache that holds a few whole chunks: batches are appended in
    // sample order, so only the last, partly filled chunk stays cached
    // (w0 = 1 evicts fully written chunks first).
    Handle dapl = checked(H5Pcreate(H5P_DATASET_ACCESS), where());
    hsize_t bytes_per_chunk = chunk * H5Tget_size(file_type);
    for (hsize_t d : rest) bytes_per_chunk *= d;
    check(H5Pset_chunk_cache(dapl, 521, std::max<std::size_t>(4 * bytes_per_chunk, 1 << 20), 1.0), where());
    Handle lcpl = link_creation_plist();
    return checked(H5Dcreate2(file, dpath, file_type, space, lcpl, dcpl, dapl),
                   where() + ": cannot create '" + dpath + "'");
  }

  // Alone: extends the data set by `count` rows and writes them at its end.
  // With a group: the extent is the whole file's already; the rows go to
  // this process's block (first_sample() + n), collectively, and a process
  // without rows in this step (count 0) takes part with an empty selection.
  void append_rows(hid_t dset, char const* dpath, std::int64_t count, hid_t mem_type, void const* data) {
    auto dims = Impl::dataset_dims(dset);
    std::vector<hsize_t> start(dims.size(), 0), block(dims);
    start[0] = static_cast<hsize_t>(n + (group ? group->first_sample() : 0));
    block[0] = static_cast<hsize_t>(count);
    std::string const what = where() + ": cannot append to '" + dpath + "'";
    if (!group) {
      dims[0] = static_cast<hsize_t>(n + count);
      check(H5Dset_extent(dset, dims.data()), what);
    }
    Handle file_space = checked(H5Dget_space(dset), what);
    Handle mem_space = checked(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), what);
    if (count > 0) {
      check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), what);
    } else {
      check(H5Sselect_none(file_space), what);
      check(H5Sselect_none(mem_space), what);
    }
    static double const nothing = 0;  // HDF5 wants a buffer even for an empty selection
    check(H5Dwrite(dset, mem_type, mem_space, file_space, transfer(), count > 0 ? data : &nothing), what);
  }

  // One step: the rows of every sample data set (with a group, collectively).
  void write_step(std::int64_t count, double const* fields_data, double const* porosity_data,
                  std::int64_t const* index_data, std::uint8_t const* status_data) {
    append_rows(fields, path_fields, count, H5T_NATIVE_DOUBLE, fields_data);
    if (options.store_porosity) append_rows(porosity, path_porosity, count, H5T_NATIVE_DOUBLE, porosity_data);
    append_rows(index, path_index, count, H5T_NATIVE_INT64, index_data);
    append_rows(status, path_status, count, H5T_NATIVE_UINT8, status_data);
  }

  // Without commit: closes (collectively, with a group: every process is
  // here after a failed agreement) and removes the temporary file.
  void abandon() {
    if (group && !group->failed()) {
      // This process leaves before commit without having said why (an
      // exception outside the caller's fail()): the others learn it now.
      try {
        group->agree(std::make_exception_ptr(IoError(where() + ": abandoned before commit (see this process's error)")),
                     false);
      } catch (...) {
      }
    }
    close_all();
    std::error_code ec;
    if (!group || group->is_root()) fs::remove(tmp_path, ec);
    // The temporary file is gone before any process goes on (the psgm CLI
    // then ends the job with MPI_Abort, which would end the root too).
    if (group) try {
      group->agree(nullptr, false);
    } catch (...) {
    }
  }

  // Closes every handle; the file last, so that it is really closed.
  bool close_all() {
    bool ok = true;
    ok &= fields.reset();
    ok &= porosity.reset();
    ok &= index.reset();
    ok &= status.reset();
    ok &= file.reset();
    open = false;
    return ok;
  }
};

namespace {
// The porous electrode's (M, 3) table, each condition checked as such.
std::vector<double> porous_condition_table(std::string const& path, std::vector<pde::Condition> const& conditions) {
  std::string const where = "data set '" + path + "'";
  require(!conditions.empty(), where, ": no conditions; expected at least one (l, U0, F_right)");
  std::vector<double> table;
  table.reserve(conditions.size() * 3);
  for (std::size_t m = 0; m < conditions.size(); ++m) {
    pde::validate_condition(conditions[m], where + ": condition " + std::to_string(m));
    table.insert(table.end(), {conditions[m].l, conditions[m].U0, conditions[m].F_right});
  }
  return table;
}
}  // namespace

DatasetWriter::DatasetWriter(std::string path, std::vector<double> const& x,
                             std::vector<pde::Condition> const& conditions, AttributeMap const& attributes,
                             DatasetWriterOptions const& options)
    : DatasetWriter(path, x, DatasetSchema::porous_electrode(), porous_condition_table(path, conditions), attributes,
                    options) {}

DatasetWriter::DatasetWriter(std::string path, std::vector<double> const& x, DatasetSchema const& schema,
                             std::vector<double> const& conditions, AttributeMap const& attributes,
                             DatasetWriterOptions const& options)
    : state_(std::make_unique<State>()) {
  psgm::ScopedRegion region("psgm::io::DatasetWriter::DatasetWriter");
  Impl::ErrorSilencer silence;
  State& s = *state_;
  s.path = std::move(path);
  s.options = options;
  s.group = options.group;
  s.options.group.reset();
  // With a group, every process checks, then all agree before the file is
  // created collectively (a process that failed earlier, in its caller's
  // psgm::mpi::collective, agrees there).
  std::exception_ptr failure;
  try {
    check_arguments(x, schema, conditions, attributes);
  } catch (...) {
    if (!s.group) throw;
    failure = std::current_exception();
  }
  if (s.group) {
    s.group->agree(failure, false);
    s.tmp_path = s.group->broadcast(s.tmp_path);
  }
  create(x, schema, conditions, attributes);
}

void DatasetWriter::check_arguments(std::vector<double> const& x, DatasetSchema const& schema,
                                    std::vector<double> const& conditions, AttributeMap const& attributes) {
  State& s = *state_;
  DatasetWriterOptions const& options = s.options;
  // ---- arguments
  require(!s.path.empty(), "data set path is empty");
  require(!x.empty(), s.where(), ": the grid is empty; expected N >= 1 cell centres");
  for (std::size_t i = 0; i < x.size(); ++i)
    require(std::isfinite(x[i]), s.where(), ": cell centre x[", i, "] = ", x[i], " is not finite");
  try {
    schema.validate();
  } catch (InvalidArgument const& e) {
    throw InvalidArgument(s.where() + ": " + e.what());
  }
  std::size_t const K = static_cast<std::size_t>(schema.num_condition_columns());
  require(!conditions.empty() && conditions.size() % K == 0, s.where(), ": ", conditions.size(),
          " condition values; expected at least one row of K = ", K, " columns");
  for (std::size_t m = 0; m < conditions.size() / K; ++m) {
    try {
      schema.conditions.transform(conditions.data() + m * K);
    } catch (InvalidArgument const& e) {
      throw InvalidArgument(s.where() + ": condition " + std::to_string(m) + ": " + e.what());
    }
  }
  require(options.chunk_samples >= 0, s.where(), ": chunk_samples = ", options.chunk_samples,
          " must be >= 0 (0: automatic)");
  require(options.deflate_level >= 0 && options.deflate_level <= 9, s.where(),
          ": deflate_level = ", options.deflate_level, " must be in 0..9");
  check_not_reserved(attributes);
  s.N = static_cast<int>(x.size());
  s.C = schema.num_channels();
  s.M = static_cast<std::int64_t>(conditions.size() / K);
  // ---- the target
  fs::path const target(s.path);
  std::error_code ec;
  fs::path const dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  require<IoError>(fs::is_directory(dir, ec), s.where(), ": directory '", dir.string(), "' does not exist");
  if (fs::exists(target, ec)) {
    require<IoError>(!fs::is_directory(target, ec), s.where(), ": '", s.path, "' is a directory");
    require<IoError>(options.overwrite, s.where(), ": '", s.path,
                     "' already exists; refusing to overwrite it (pass --overwrite, or "
                     "DatasetWriterOptions::overwrite = true, to replace it)");
  }
  s.tmp_path = temporary_name(target);
}

// The data set layout of docs/data.md §1, the same alone and with a group.
void DatasetWriter::create(std::vector<double> const& x, DatasetSchema const& schema,
                           std::vector<double> const& conditions, AttributeMap const& attributes) {
  State& s = *state_;
  DatasetWriterOptions const& options = s.options;
  std::size_t const K = static_cast<std::size_t>(schema.num_condition_columns());
  std::error_code ec;
  // ---- the file: HDF5 1.8 object format, readable by every h5py
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), s.where());
  check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), s.where());
  if (s.group) {
    s.group->set_file_access(fapl);
    s.dxpl = checked(H5Pcreate(H5P_DATASET_XFER), s.where());
    s.group->set_collective_transfer(s.dxpl);
  }
  s.file = checked(H5Fcreate(s.tmp_path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl),
                   s.where() + ": cannot create the temporary file '" + s.tmp_path + "'");
  s.open = true;
  try {
    write_fixed(s.file, path_x, {hsize_t(s.N)}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, x.data(), s.where(),
                s.transfer());
    write_fixed(s.file, path_conditions, {hsize_t(s.M), hsize_t(K)}, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                conditions.data(), s.where(), s.transfer());
    {
      // The condition schema, as data (docs/data.md §1).
      Handle dset = checked(H5Dopen2(s.file, path_conditions, H5P_DEFAULT), s.where());
      Impl::write_attribute(dset, "columns", schema.conditions.names);
      Impl::write_attribute(dset, "units", schema.conditions.units);
      Impl::write_attribute(dset, "log",
                            std::vector<std::int64_t>(schema.conditions.log.begin(), schema.conditions.log.end()));
    }
    hsize_t chunk = static_cast<hsize_t>(options.chunk_samples);
    if (chunk == 0) chunk = std::max<hsize_t>(1, (256 * 1024) / (hsize_t(s.C) * 8 * hsize_t(s.N)));
    s.fields = s.create_extendible(path_fields, {hsize_t(s.C), hsize_t(s.N)}, H5T_IEEE_F64LE, chunk);
    Impl::write_attribute(s.fields, "channels", schema.channels);
    if (options.store_porosity)
      s.porosity = s.create_extendible(path_porosity, {hsize_t(s.N)}, H5T_IEEE_F64LE, chunk);
    s.index = s.create_extendible(path_index, {}, H5T_STD_I64LE, std::max<hsize_t>(chunk, 4096));
    s.status = s.create_extendible(path_status, {}, H5T_STD_U8LE, std::max<hsize_t>(chunk, 4096));
    Impl::write_attribute(s.status, "names", status_names());
    if (s.group) {
      // The extent of every sample data set, once, for the whole file.
      for (hid_t dset : {hid_t(s.fields), hid_t(s.porosity), hid_t(s.index), hid_t(s.status)}) {
        if (dset < 0) continue;
        auto dims = Impl::dataset_dims(dset);
        dims[0] = static_cast<hsize_t>(s.group->total_samples());
        check(H5Dset_extent(dset, dims.data()), s.where() + ": cannot set the extent of the sample data sets");
      }
      s.root = root_attributes(attributes);  // written by the root at commit
    } else {
      write_root_attributes(s.file, root_attributes(attributes));
    }
  } catch (...) {
    s.close_all();
    if (!s.group || s.group->is_root()) fs::remove(s.tmp_path, ec);
    throw;
  }
}

DatasetWriter::~DatasetWriter() {
  if (!state_ || state_->committed || !state_->open) return;
  Impl::ErrorSilencer silence;
  state_->abandon();
}

void DatasetWriter::fail(std::exception_ptr error) noexcept {
  if (!state_ || !state_->group || !state_->open || state_->group->failed()) return;
  try {
    state_->group->agree(error, false);
  } catch (...) {
    // every process throws now; the caller rethrows its own error
  }
}

DatasetWriter::DatasetWriter(DatasetWriter&&) noexcept = default;
DatasetWriter& DatasetWriter::operator=(DatasetWriter&& other) noexcept {
  if (this != &other) {
    if (state_ && !state_->committed && state_->open) {
      Impl::ErrorSilencer silence;
      state_->abandon();
    }
    state_ = std::move(other.state_);
  }
  return *this;
}

void DatasetWriter::append(host_fields_view fields, host_index_view condition_index, host_status_view status,
                           host_porosity_view porosity) {
  psgm::ScopedRegion region("psgm::io::DatasetWriter::append");
  Impl::ErrorSilencer silence;
  require(state_ != nullptr, "psgm::io::DatasetWriter: append on a moved-from writer");
  State& s = *state_;
  require<IoError>(s.open, s.where(), ": append after commit()");
  std::int64_t const B = static_cast<std::int64_t>(fields.extent(0));
  std::vector<std::int64_t> idx;
  std::vector<std::uint8_t> st;
  std::vector<double> packed_fields, packed_porosity;
  double const* fields_data = nullptr;
  double const* porosity_data = nullptr;
  // With a group, this process's checks are agreed on before the collective
  // write (a process whose batch is wrong must not leave the others waiting).
  std::exception_ptr failure;
  try {
    require(fields.extent(1) == std::size_t(s.C) && fields.extent(2) == std::size_t(s.N), s.where(),
            ": fields of shape (", B, ", ", fields.extent(1), ", ", fields.extent(2), "); expected (B, ", s.C, ", ",
            s.N, ")");
    require(std::int64_t(condition_index.extent(0)) == B, s.where(), ": ", condition_index.extent(0),
            " condition indices for ", B, " samples");
    require(std::int64_t(status.extent(0)) == B, s.where(), ": ", status.extent(0), " statuses for ", B, " samples");
    if (s.options.store_porosity) {
      require(std::int64_t(porosity.extent(0)) == B && porosity.extent(1) == std::size_t(s.N), s.where(),
              ": porosity of shape (", porosity.extent(0), ", ", porosity.extent(1), "); expected (", B, ", ", s.N,
              ") (this writer stores porosity)");
    } else {
      require(porosity.size() == 0, s.where(),
              ": porosity given, but this writer was created with store_porosity = false");
    }
    require(!s.group || s.group->first_sample() + s.n + B <= s.group->total_samples(), s.where(), ": ", B,
            " samples more than this process's block of the file holds");
    idx.resize(static_cast<std::size_t>(B));
    st.resize(static_cast<std::size_t>(B));
    for (std::int64_t b = 0; b < B; ++b) {
      idx[b] = condition_index(b);
      require(idx[b] >= 0 && idx[b] < s.M, s.where(), ": condition index ", idx[b], " of sample ", s.n + b,
              " is outside [0, ", s.M, ")");
      st[b] = static_cast<std::uint8_t>(status(b));
      require(st[b] < num_solve_statuses, s.where(), ": status ", int(st[b]), " of sample ", s.n + b,
              " is not a psgm::SolveStatus (0..", num_solve_statuses - 1, ")");
    }
    // Contiguous row-major data go to HDF5 as they are; padded views are packed first.
    auto contiguous = [](auto const& v, std::vector<double>& packed) -> double const* {
      if (v.span_is_contiguous() && v.span() == v.size()) return v.data();
      packed.resize(v.size());
      std::size_t k = 0;
      if constexpr (std::decay_t<decltype(v)>::rank == 3) {
        for (std::size_t i = 0; i < v.extent(0); ++i)
          for (std::size_t j = 0; j < v.extent(1); ++j)
            for (std::size_t l = 0; l < v.extent(2); ++l) packed[k++] = v(i, j, l);
      } else {
        for (std::size_t i = 0; i < v.extent(0); ++i)
          for (std::size_t j = 0; j < v.extent(1); ++j) packed[k++] = v(i, j);
      }
      return packed.data();
    };
    if (B > 0) {
      fields_data = contiguous(fields, packed_fields);
      if (s.options.store_porosity) porosity_data = contiguous(porosity, packed_porosity);
    }
  } catch (...) {
    if (!s.group) throw;
    failure = std::current_exception();
  }
  if (s.group) {
    s.group->agree(failure, true);
  } else if (B == 0) {
    return;
  }
  s.write_step(B, fields_data, porosity_data, idx.data(), st.data());
  s.n += B;
}

void DatasetWriter::set_attributes(AttributeMap const& attributes) {
  Impl::ErrorSilencer silence;
  require(state_ != nullptr, "psgm::io::DatasetWriter: set_attributes on a moved-from writer");
  require<IoError>(state_->open, state_->where(), ": set_attributes after commit()");
  check_not_reserved(attributes);
  if (state_->group)
    state_->root.merge(attributes);  // the root writes them at commit
  else
    write_root_attributes(state_->file, attributes);
}

void DatasetWriter::commit() {
  psgm::ScopedRegion region("psgm::io::DatasetWriter::commit");
  Impl::ErrorSilencer silence;
  require(state_ != nullptr, "psgm::io::DatasetWriter: commit on a moved-from writer");
  State& s = *state_;
  require<IoError>(s.open, s.where(), ": commit() called twice");
  if (s.group) {
    commit_group();
    return;
  }
  std::error_code ec;
  auto fail = [&](std::string const& message) {
    s.close_all();
    fs::remove(s.tmp_path, ec);
    throw IoError(message);
  };
  if (H5Fflush(s.file, H5F_SCOPE_GLOBAL) < 0) fail(s.where() + ": flushing failed: " + Impl::last_hdf5_error());
  if (!s.close_all()) fail(s.where() + ": closing the temporary file failed: " + Impl::last_hdf5_error());
  std::string const error = publish(s.tmp_path, s.path, s.options.overwrite);
  if (!error.empty()) fail(s.where() + error);
  s.committed = true;
}

// With a group: the steps the others still make (empty ones), the root
// attributes combined, the file closed everywhere, then the root writes the
// attributes and renames; every process learns whether that worked.
void DatasetWriter::commit_group() {
  State& s = *state_;
  while (s.group->agree(nullptr, false)) s.write_step(0, nullptr, nullptr, nullptr, nullptr);
  s.group->combine_attributes(s.root);
  std::string error;
  if (H5Fflush(s.file, H5F_SCOPE_GLOBAL) < 0) error = s.where() + ": flushing failed: " + Impl::last_hdf5_error();
  if (!s.close_all() && error.empty())
    error = s.where() + ": closing the temporary file failed: " + Impl::last_hdf5_error();
  auto outcome = [&] { return error.empty() ? std::exception_ptr() : std::make_exception_ptr(IoError(error)); };
  std::error_code ec;
  try {
    s.group->agree(outcome(), false);
    if (s.group->is_root()) {
      try {
        Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), s.where());
        check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), s.where());
        Handle file = checked(H5Fopen(s.tmp_path.c_str(), H5F_ACC_RDWR, fapl),
                              s.where() + ": cannot reopen the temporary file '" + s.tmp_path + "'");
        write_root_attributes(file, s.root);
        if (!file.reset()) throw IoError(s.where() + ": closing the temporary file failed: " + Impl::last_hdf5_error());
        std::string const e = publish(s.tmp_path, s.path, s.options.overwrite);
        if (!e.empty()) throw IoError(s.where() + e);
      } catch (std::exception const& e) {
        error = e.what();
      }
    }
    s.group->agree(outcome(), false);
  } catch (...) {
    if (s.group->is_root()) fs::remove(s.tmp_path, ec);
    throw;
  }
  s.committed = true;
}

std::int64_t DatasetWriter::size() const { return state_->n; }
int DatasetWriter::num_points() const { return state_->N; }
int DatasetWriter::num_channels() const { return state_->C; }
std::int64_t DatasetWriter::num_conditions() const { return state_->M; }
std::string const& DatasetWriter::path() const { return state_->path; }
std::string const& DatasetWriter::temporary_path() const { return state_->tmp_path; }
bool DatasetWriter::committed() const { return state_->committed; }

// ================================================================== DatasetReader
struct DatasetReader::State {
  DatasetInfo info;
  Handle file, x, conditions, fields, porosity, index, status;

  std::string where() const { return "data set file '" + info.path + "'"; }

  Handle open_dataset(char const* dpath, std::size_t rank, H5T_class_t type_class, char const* expected_shape) {
    require<IoError>(Impl::object_exists(file, dpath), where(), ": data set '", dpath, "' is missing (expected ",
                     expected_shape, ")");
    Handle d = checked(H5Dopen2(file, dpath, H5P_DEFAULT), where() + ": cannot open '" + dpath + "'");
    auto const dims = Impl::dataset_dims(d);
    require<IoError>(dims.size() == rank, where(), ": '", dpath, "' has shape ", Impl::format_dims(dims),
                     "; expected ", expected_shape);
    H5T_class_t const cls = Impl::dataset_class(d);
    require<IoError>(cls == type_class, where(), ": '", dpath, "' holds ",
                     cls == H5T_FLOAT ? "floating-point" : cls == H5T_INTEGER ? "integer" : "non-numeric",
                     " values; expected ", type_class == H5T_FLOAT ? "floating-point" : "integer", " values");
    return d;
  }

  // The condition schema of '/conditions' (docs/data.md §1, §5): attributes
  // columns, units, log; without them, the porous electrode's (l, U0, F_right).
  model::ConditionSchema read_condition_schema(std::vector<hsize_t> const& dims) const {
    auto const porous = model::ConditionSchema::porous_electrode();
    AttributeMap const a = Impl::read_attributes(conditions, where() + ", '/conditions'");
    std::string const shape = Impl::format_dims(dims);
    if (!a.contains("columns")) {
      require<IoError>(dims[1] == 3, where(), ": '/conditions' has shape ", shape,
                       "; expected (M, 3) (columns l, U0, F_right), or an attribute 'columns' naming its ", dims[1],
                       " columns (docs/data.md §7)");
      return porous;
    }
    model::ConditionSchema schema;
    schema.names = a.get_strings("columns");
    require<IoError>(schema.names.size() == dims[1], where(), ": '/conditions' has shape ", shape, " but its attribute ",
                     "'columns' names ", schema.names.size(), " columns");
    bool const porous_names = schema.names == porous.names;
    // psgm's files before the schema was stored name their columns only.
    if (!a.contains("units") && !a.contains("log") && porous_names) return porous;
    schema.units = a.contains("units") ? a.get_strings("units") : std::vector<std::string>(dims[1], "1");
    if (a.contains("log")) {
      for (auto v : a.get_ints("log")) {
        require<IoError>(v == 0 || v == 1, where(), ": '/conditions' attribute 'log' holds ", v,
                         "; expected 0 or 1 per column");
        schema.log.push_back(static_cast<std::uint8_t>(v));
      }
    } else {
      schema.log.assign(dims[1], 0);
    }
    try {
      schema.validate();
    } catch (InvalidArgument const& e) {
      throw IoError(where() + ": '/conditions': " + e.what());
    }
    return schema;
  }

  // The channel names of '/samples/fields' (attribute channels); without it, (c, phi).
  std::vector<std::string> read_channel_names(std::vector<hsize_t> const& dims) const {
    AttributeMap const a = Impl::read_attributes(fields, where() + ", '/samples/fields'");
    std::string const N = std::to_string(info.num_points);
    if (!a.contains("channels")) {
      require<IoError>(dims[1] == 2, where(), ": '/samples/fields' has shape ", Impl::format_dims(dims),
                       "; expected (n, 2, ", N, ") float64 (channels c, phi), or an attribute 'channels' naming its ",
                       dims[1], " channels (docs/data.md §7)");
      return DatasetSchema::porous_electrode().channels;
    }
    DatasetSchema schema{a.get_strings("channels"), {}};
    require<IoError>(schema.channels.size() == dims[1], where(), ": '/samples/fields' has shape ",
                     Impl::format_dims(dims), " but its attribute 'channels' names ", schema.channels.size(),
                     " channels");
    require<IoError>(dims[1] >= 1, where(), ": '/samples/fields' has no channels");
    for (std::size_t c = 0; c < schema.channels.size(); ++c) {
      require<IoError>(!schema.channels[c].empty(), where(), ": channel ", c, " of '/samples/fields' has an empty name");
      for (std::size_t d = 0; d < c; ++d)
        require<IoError>(schema.channels[c] != schema.channels[d], where(), ": channel name '", schema.channels[c],
                         "' of '/samples/fields' appears twice");
    }
    return schema.channels;
  }

  void check_range(std::int64_t first, std::size_t count, char const* what) const {
    require<IoError>(first >= 0 && first + std::int64_t(count) <= info.num_samples, where(), ": cannot read ", what,
                     " of samples [", first, ", ", first + std::int64_t(count), "): the file holds ",
                     info.num_samples, " samples");
  }
};

DatasetReader::DatasetReader(std::string const& path) : state_(std::make_unique<State>()) {
  psgm::ScopedRegion region("psgm::io::DatasetReader::DatasetReader");
  Impl::ErrorSilencer silence;
  State& s = *state_;
  s.info.path = path;
  s.file = Impl::open_file_readonly(path, "data set file");
  // ---- format
  AttributeMap attributes = Impl::read_attributes(s.file, s.where());
  require<IoError>(attributes.contains("format"), s.where(),
                   ": not a psgm data set (no root attribute 'format'; expected format = '", dataset_format, "')");
  std::string const format =
      std::holds_alternative<std::string>(attributes.at("format")) ? attributes.get_string("format") : "?";
  require<IoError>(format == dataset_format, s.where(), ": not a psgm data set (format = '", format,
                   "'; expected '", dataset_format, "')");
  require<IoError>(attributes.contains("format_version") &&
                       std::holds_alternative<std::int64_t>(attributes.at("format_version")),
                   s.where(), ": root attribute 'format_version' is missing or not an integer; expected ",
                   dataset_format_version);
  std::int64_t const version = attributes.get_int("format_version");
  require<IoError>(version == dataset_format_version, s.where(), ": format_version ", version,
                   " is not supported by psgm ", psgm::version(), " (it reads version ", dataset_format_version, ")");
  s.info.format_version = static_cast<int>(version);
  s.info.attributes = std::move(attributes);
  // ---- grid and conditions
  s.x = s.open_dataset(path_x, 1, H5T_FLOAT, "(N,) float64");
  hsize_t const N = Impl::dataset_dims(s.x)[0];
  require<IoError>(N >= 1, s.where(), ": '/grid/x' is empty; expected N >= 1 cell centres");
  require<IoError>(N <= (hsize_t(1) << 30), s.where(), ": '/grid/x' holds ", N, " cell centres; psgm reads at most 2^30");
  s.info.num_points = static_cast<int>(N);
  s.info.x.resize(N);
  Impl::read_rows(s.x, 0, N, H5T_NATIVE_DOUBLE, s.info.x.data(), s.where() + ": cannot read '/grid/x'");
  // Untrusted input (docs/reliability.md): a grid every consumer can use.
  for (hsize_t i = 0; i < N; ++i) {
    require<IoError>(std::isfinite(s.info.x[i]), s.where(), ": '/grid/x'[", i, "] = ", s.info.x[i], " is not finite");
    require<IoError>(i == 0 || s.info.x[i] > s.info.x[i - 1], s.where(), ": '/grid/x' is not increasing at cell ", i,
                     " (", s.info.x[i - (i > 0)], ", ", s.info.x[i], ")");
  }
  s.conditions = s.open_dataset(path_conditions, 2, H5T_FLOAT, "(M, K) float64");
  auto const cdims = Impl::dataset_dims(s.conditions);
  s.info.schema.conditions = s.read_condition_schema(cdims);
  hsize_t const K = cdims[1];
  s.info.condition_table.resize(cdims[0] * K);
  Impl::read_rows(s.conditions, 0, cdims[0], H5T_NATIVE_DOUBLE, s.info.condition_table.data(),
                  s.where() + ": cannot read '/conditions'");
  bool const porous_conditions = s.info.schema.conditions == model::ConditionSchema::porous_electrode();
  for (hsize_t m = 0; m < cdims[0]; ++m) {
    double const* row = s.info.condition_table.data() + m * K;
    if (porous_conditions) {
      double const l = row[0], U0 = row[1], F = row[2];
      require<IoError>(std::isfinite(l) && l > 0 && std::isfinite(U0) && std::isfinite(F), s.where(),
                       ": '/conditions' row ", m, " = (", l, ", ", U0, ", ", F,
                       ") is not a condition: expected a finite correlation length l > 0 and finite U0, F_right");
      continue;
    }
    try {
      s.info.schema.conditions.transform(row);
    } catch (InvalidArgument const& e) {
      throw IoError(s.where() + ": '/conditions' row " + std::to_string(m) + ": " + e.what());
    }
  }
  // ---- samples
  s.fields = s.open_dataset(path_fields, 3, H5T_FLOAT, "(n, C, N) float64");
  auto const fdims = Impl::dataset_dims(s.fields);
  s.info.schema.channels = s.read_channel_names(fdims);
  std::string const nN = "(n, " + std::to_string(s.info.num_channels()) + ", " + std::to_string(N) + ") float64";
  require<IoError>(fdims[2] == N, s.where(), ": '/samples/fields' has shape ", Impl::format_dims(fdims),
                   "; expected ", nN, " (N from '/grid/x')");
  if (s.info.schema.is_porous_electrode())
    for (hsize_t m = 0; m < cdims[0]; ++m) {
      double const* row = s.info.condition_table.data() + m * K;
      s.info.conditions.push_back({row[0], row[1], row[2]});
    }
  hsize_t const n = fdims[0];
  s.info.num_samples = static_cast<std::int64_t>(n);
  std::string const n1 = "(" + std::to_string(n) + ",)";
  s.index = s.open_dataset(path_index, 1, H5T_INTEGER, (n1 + " int64").c_str());
  s.status = s.open_dataset(path_status, 1, H5T_INTEGER, (n1 + " uint8").c_str());
  for (auto const* p : {&s.index, &s.status}) {
    auto const d = Impl::dataset_dims(*p);
    require<IoError>(d[0] == n, s.where(), ": '", p == &s.index ? path_index : path_status, "' has shape ",
                     Impl::format_dims(d), "; expected ", n1, " (one per sample of '/samples/fields')");
  }
  s.info.has_porosity = Impl::object_exists(s.file, path_porosity);
  if (s.info.has_porosity) {
    std::string const expected = "(" + std::to_string(n) + ", " + std::to_string(N) + ") float64";
    s.porosity = s.open_dataset(path_porosity, 2, H5T_FLOAT, expected.c_str());
    auto const pdims = Impl::dataset_dims(s.porosity);
    require<IoError>(pdims[0] == n && pdims[1] == N, s.where(), ": '/samples/porosity' has shape ",
                     Impl::format_dims(pdims), "; expected ", expected);
  }
}

DatasetReader::~DatasetReader() {
  if (!state_) return;
  Impl::ErrorSilencer silence;
  for (auto* h : {&state_->x, &state_->conditions, &state_->fields, &state_->porosity, &state_->index, &state_->status})
    h->reset();
  state_->file.reset();
}
DatasetReader::DatasetReader(DatasetReader&&) noexcept = default;
DatasetReader& DatasetReader::operator=(DatasetReader&&) noexcept = default;

DatasetInfo const& DatasetReader::info() const { return state_->info; }

namespace {
template <class View>
void require_contiguous(View const& v, char const* what) {
  require(v.span_is_contiguous() && v.span() == v.size(), "psgm::io::DatasetReader::", what,
          ": the output View must be contiguous (a LayoutRight View, or a subview of whole leading rows)");
}
}  // namespace

void DatasetReader::read_fields(std::int64_t first, host_fields_view out) const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::read_fields");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  require(out.extent(1) == std::size_t(s.info.num_channels()) && out.extent(2) == std::size_t(s.info.num_points),
          s.where(), ": read_fields into a View of shape (", out.extent(0), ", ", out.extent(1), ", ", out.extent(2),
          "); expected (B, ", s.info.num_channels(), ", ", s.info.num_points, ")");
  require_contiguous(out, "read_fields");
  s.check_range(first, out.extent(0), "fields");
  Impl::read_rows(s.fields, first, out.extent(0), H5T_NATIVE_DOUBLE, out.data(), s.where() + ": cannot read fields");
}

void DatasetReader::read_fields(std::int64_t first, host_fields_view_float out) const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::read_fields");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  require(out.extent(1) == std::size_t(s.info.num_channels()) && out.extent(2) == std::size_t(s.info.num_points),
          s.where(), ": read_fields into a View of shape (", out.extent(0), ", ", out.extent(1), ", ", out.extent(2),
          "); expected (B, ", s.info.num_channels(), ", ", s.info.num_points, ")");
  require_contiguous(out, "read_fields");
  s.check_range(first, out.extent(0), "fields");
  Impl::read_rows(s.fields, first, out.extent(0), H5T_NATIVE_FLOAT, out.data(), s.where() + ": cannot read fields");
}

void DatasetReader::read_porosity(std::int64_t first, host_porosity_view out) const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::read_porosity");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  require<IoError>(s.info.has_porosity, s.where(), ": has no '/samples/porosity' (a file of `psgm sample`?)");
  require(out.extent(1) == std::size_t(s.info.num_points), s.where(), ": read_porosity into a View of shape (",
          out.extent(0), ", ", out.extent(1), "); expected (B, ", s.info.num_points, ")");
  require_contiguous(out, "read_porosity");
  s.check_range(first, out.extent(0), "porosity");
  Impl::read_rows(s.porosity, first, out.extent(0), H5T_NATIVE_DOUBLE, out.data(),
                  s.where() + ": cannot read porosity");
}

void DatasetReader::read_condition_index(std::int64_t first, host_index_view out) const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::read_condition_index");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  require_contiguous(out, "read_condition_index");
  s.check_range(first, out.extent(0), "condition indices");
  Impl::read_rows(s.index, first, out.extent(0), H5T_NATIVE_INT64, out.data(),
                  s.where() + ": cannot read condition indices");
  std::int64_t const M = s.info.num_conditions();
  for (std::size_t b = 0; b < out.extent(0); ++b)
    require<IoError>(out(b) >= 0 && out(b) < M, s.where(), ": condition index ", out(b), " of sample ",
                     first + std::int64_t(b), " is outside [0, ", M, ")");
}

void DatasetReader::read_status(std::int64_t first, host_status_view out) const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::read_status");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  require_contiguous(out, "read_status");
  s.check_range(first, out.extent(0), "statuses");
  std::vector<std::uint8_t> raw(out.extent(0));
  Impl::read_rows(s.status, first, out.extent(0), H5T_NATIVE_UINT8, raw.data(), s.where() + ": cannot read statuses");
  for (std::size_t b = 0; b < raw.size(); ++b) {
    require<IoError>(raw[b] < num_solve_statuses, s.where(), ": status ", int(raw[b]), " of sample ",
                     first + std::int64_t(b), " is not a psgm::SolveStatus (0..", num_solve_statuses - 1, ")");
    out(b) = static_cast<SolveStatus>(raw[b]);
  }
}

std::vector<std::int64_t> DatasetReader::condition_index() const {
  std::vector<std::int64_t> out(static_cast<std::size_t>(size()));
  read_condition_index(0, host_index_view(out.data(), out.size()));
  return out;
}

std::vector<SolveStatus> DatasetReader::status() const {
  std::vector<SolveStatus> out(static_cast<std::size_t>(size()));
  read_status(0, host_status_view(out.data(), out.size()));
  return out;
}

std::vector<std::int64_t> DatasetReader::status_counts() const {
  std::vector<std::int64_t> counts(num_solve_statuses, 0);
  for (SolveStatus s : status()) ++counts[static_cast<int>(s)];
  return counts;
}

std::string DatasetReader::content_sha256() const {
  psgm::ScopedRegion region("psgm::io::DatasetReader::content_sha256");
  Impl::ErrorSilencer silence;
  State const& s = *state_;
  Impl::Sha256 hash;
  std::int64_t const n = s.info.num_samples;
  int const N = s.info.num_points;
  auto header = [&](char const* dpath, char const* dtype, std::vector<std::int64_t> const& dims) {
    std::ostringstream os;
    os << dpath << ' ' << dtype << ' ';
    for (std::size_t i = 0; i < dims.size(); ++i) os << (i ? "x" : "") << dims[i];
    os << '\n';
    hash.update(os.str());
  };
  // Rows are read in blocks (bounded memory) and converted by HDF5 to the
  // little-endian types that define the hash, whatever the stored types.
  auto stream = [&](hid_t dset, char const* dpath, char const* dtype, hid_t le_type, std::size_t elem_bytes,
                    std::vector<std::int64_t> const& dims) {
    header(dpath, dtype, dims);
    std::int64_t row_elems = 1;
    for (std::size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
    std::int64_t const rows = dims[0];
    std::int64_t const block = std::max<std::int64_t>(1, (4 << 20) / std::max<std::int64_t>(1, row_elems * elem_bytes));
    std::vector<unsigned char> buf;
    for (std::int64_t r = 0; r < rows; r += block) {
      std::int64_t const count = std::min(block, rows - r);
      buf.resize(static_cast<std::size_t>(count * row_elems) * elem_bytes);
      Impl::read_rows(dset, r, count, le_type, buf.data(), s.where() + ": cannot read '" + dpath + "'");
      hash.update(buf.data(), buf.size());
    }
  };
  stream(s.x, path_x, "float64", H5T_IEEE_F64LE, 8, {N});
  stream(s.conditions, path_conditions, "float64", H5T_IEEE_F64LE, 8,
         {num_conditions(), std::int64_t(s.info.num_condition_columns())});
  stream(s.fields, path_fields, "float64", H5T_IEEE_F64LE, 8, {n, std::int64_t(s.info.num_channels()), N});
  if (s.info.has_porosity) stream(s.porosity, path_porosity, "float64", H5T_IEEE_F64LE, 8, {n, N});
  stream(s.index, path_index, "int64", H5T_STD_I64LE, 8, {n});
  stream(s.status, path_status, "uint8", H5T_STD_U8LE, 1, {n});
  return hash.hex_digest();
}

// ================================================================== conditions from HDF5
std::vector<pde::Condition> read_conditions_hdf5(std::string const& path, std::string const& dataset) {
  psgm::ScopedRegion region("psgm::io::read_conditions_hdf5");
  Impl::ErrorSilencer silence;
  std::string const where = "conditions file '" + path + "'";
  Handle file = Impl::open_file_readonly(path, "conditions file");
  require<IoError>(Impl::object_exists(file, dataset), where, ": data set '", dataset,
                   "' is missing (expected an (M, 3) table of l, U0, F_right)");
  Handle d = checked(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), where + ": cannot open '" + dataset + "'");
  auto const dims = Impl::dataset_dims(d);
  require<IoError>(dims.size() == 2 && dims[1] == 3 && dims[0] >= 1, where, ": '", dataset, "' has shape ",
                   Impl::format_dims(dims), "; expected (M, 3) with M >= 1 (columns l, U0, F_right)");
  H5T_class_t const cls = Impl::dataset_class(d);
  require<IoError>(cls == H5T_FLOAT || cls == H5T_INTEGER, where, ": '", dataset, "' is not numeric");
  std::vector<double> table(dims[0] * 3);
  Impl::read_rows(d, 0, dims[0], H5T_NATIVE_DOUBLE, table.data(), where + ": cannot read '" + dataset + "'");
  std::vector<std::vector<double>> rows;
  for (hsize_t m = 0; m < dims[0]; ++m) rows.push_back({table[3 * m], table[3 * m + 1], table[3 * m + 2]});
  return pde::conditions_from_rows(rows, where + ", data set '" + dataset + "'");
}

std::vector<double> read_condition_table_hdf5(std::string const& path, model::ConditionSchema const& schema,
                                              std::string const& dataset) {
  psgm::ScopedRegion region("psgm::io::read_condition_table_hdf5");
  Impl::ErrorSilencer silence;
  std::string const where = "conditions file '" + path + "'";
  hsize_t const K = static_cast<hsize_t>(schema.size());
  std::string names;
  for (auto const& n : schema.names) names += (names.empty() ? "" : ", ") + n;
  Handle file = Impl::open_file_readonly(path, "conditions file");
  require<IoError>(Impl::object_exists(file, dataset), where, ": data set '", dataset, "' is missing (expected an (M, ",
                   K, ") table of ", names, ")");
  Handle d = checked(H5Dopen2(file, dataset.c_str(), H5P_DEFAULT), where + ": cannot open '" + dataset + "'");
  auto const dims = Impl::dataset_dims(d);
  require<IoError>(dims.size() == 2 && dims[1] == K && dims[0] >= 1, where, ": '", dataset, "' has shape ",
                   Impl::format_dims(dims), "; expected (M, ", K, ") with M >= 1 (columns ", names, ")");
  H5T_class_t const cls = Impl::dataset_class(d);
  require<IoError>(cls == H5T_FLOAT || cls == H5T_INTEGER, where, ": '", dataset, "' is not numeric");
  AttributeMap const a = Impl::read_attributes(d, where + ", '" + dataset + "'");
  if (a.contains("columns")) {
    auto const columns = a.get_strings("columns");
    require<IoError>(columns == schema.names, where, ": '", dataset, "' names its columns (",
                     [&] {
                       std::string c;
                       for (auto const& n : columns) c += (c.empty() ? "" : ", ") + n;
                       return c;
                     }(),
                     "); expected (", names, ")");
  }
  std::vector<double> table(dims[0] * K);
  Impl::read_rows(d, 0, dims[0], H5T_NATIVE_DOUBLE, table.data(), where + ": cannot read '" + dataset + "'");
  for (hsize_t m = 0; m < dims[0]; ++m) {
    try {
      schema.transform(table.data() + m * K);
    } catch (InvalidArgument const& e) {
      throw InvalidArgument(where + ", data set '" + dataset + "', row " + std::to_string(m) + ": " + e.what());
    }
  }
  return table;
}

}  // namespace psgm::io
