// Data set files: the on-disk ensemble of (c, φ) fields (docs/design.md §4,
// docs/data.md). HDF5, `format = "psgm-dataset"`, version 1; readable with
// h5py and no psgm code:
//
//   /grid/x                    (N)       float64  cell centres [m]
//   /conditions                (M, K)    float64  one row per condition; attributes columns, units, log
//   /samples/fields            (n, C, N) float64  attribute channels (names); psgm's: c, φ (φ_0 = 0)
//   /samples/porosity          (n, N)    float64  ε (absent in files of `psgm sample`)
//   /samples/condition_index   (n)       int64    row of /conditions
//   /samples/status            (n)       uint8    psgm::SolveStatus; attribute names
//   root attributes: format, format_version, psgm_version, created, and those
//   of the writer's AttributeMap (every parameter, seed, kokkos_backend, config_toml)
//
// C and K come from the file (DatasetSchema): the porous electrode's files
// have C = 2 (c, φ) and K = 3 (l [m] logarithmic, U0 [V], F_right); a file
// without the schema attributes is the porous electrode's. Data sets written
// by other programs (docs/data.md §7) name theirs.
//
// DatasetWriter appends batches to extendible, chunked data sets (chunks of
// whole samples), so a data set larger than memory streams to disk. It writes
// to a temporary file beside the target and renames it on commit(): a crash
// never leaves a half-written file under the final name. HDF5 stays behind
// these opaque classes (no HDF5 header is public).
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/model/ConditionSchema.hpp>
#include <psgm/pde/Conditions.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace psgm::io {

inline constexpr char const* dataset_format = "psgm-dataset";
inline constexpr int dataset_format_version = 1;
/// Root attributes the writer sets itself; an AttributeMap must not hold them.
inline constexpr char const* dataset_reserved_attributes[] = {"format", "format_version", "psgm_version", "created"};

// ------------------------------------------------------------------ schema
/// What the fields and the conditions of a data set are: the channel names
/// (attribute `channels` of /samples/fields) and the condition schema
/// (attributes `columns`, `units`, `log` of /conditions). Stored as data, so
/// that C and K come from the file everywhere on the whitened and emulator
/// paths (docs/data.md §7).
struct DatasetSchema {
  std::vector<std::string> channels;  ///< C names, e.g. "c", "phi"
  model::ConditionSchema conditions;  ///< K columns

  /// psgm's own data: channels (c, phi), conditions (l [m] log, U0 [V], F_right [1]).
  static DatasetSchema porous_electrode();
  int num_channels() const { return static_cast<int>(channels.size()); }
  int num_condition_columns() const { return conditions.size(); }
  /// The porous electrode's data, for which psgm's PDE-specific code applies
  /// (noise floor by fresh PDE solves, the QoI on c, physics attributes).
  bool is_porous_electrode() const { return *this == porous_electrode(); }
  /// psgm::InvalidArgument unless there is at least one channel, channel names
  /// are distinct and non-empty, and the condition schema is valid.
  void validate() const;
  bool operator==(DatasetSchema const& o) const { return channels == o.channels && conditions == o.conditions; }
  bool operator!=(DatasetSchema const& o) const { return !(*this == o); }
};

// ------------------------------------------------------------------ attributes
/// Named scalar or 1-D attribute values (numbers, integers, strings), as stored
/// on an HDF5 object. Strings are UTF-8, variable length.
class AttributeMap {
 public:
  using Value = std::variant<double, std::int64_t, std::string, std::vector<double>, std::vector<std::int64_t>,
                             std::vector<std::string>>;

  AttributeMap() = default;
  /// `origin` names where the attributes came from (a file) in error messages.
  explicit AttributeMap(std::string origin) : origin_(std::move(origin)) {}

  void set(std::string const& name, double value) { values_[name] = value; }
  void set(std::string const& name, std::int64_t value) { values_[name] = value; }
  void set(std::string const& name, int value) { values_[name] = std::int64_t(value); }
  void set(std::string const& name, std::string value) { values_[name] = std::move(value); }
  void set(std::string const& name, char const* value) { values_[name] = std::string(value); }
  void set(std::string const& name, std::vector<double> value) { values_[name] = std::move(value); }
  void set(std::string const& name, std::vector<std::int64_t> value) { values_[name] = std::move(value); }
  void set(std::string const& name, std::vector<std::string> value) { values_[name] = std::move(value); }
  /// Adds every entry of `other`, replacing entries of the same name.
  void merge(AttributeMap const& other);
  void erase(std::string const& name) { values_.erase(name); }

  bool contains(std::string const& name) const { return values_.count(name) != 0; }
  std::size_t size() const { return values_.size(); }
  /// Typed access; psgm::IoError naming the attribute (and the origin) when it
  /// is missing or of another type. get_double accepts integers too.
  double get_double(std::string const& name) const;
  std::int64_t get_int(std::string const& name) const;
  std::string const& get_string(std::string const& name) const;
  std::vector<double> get_doubles(std::string const& name) const;
  std::vector<std::int64_t> get_ints(std::string const& name) const;
  std::vector<std::string> get_strings(std::string const& name) const;
  Value const& at(std::string const& name) const;
  std::map<std::string, Value> const& values() const { return values_; }
  std::string const& origin() const { return origin_; }

 private:
  std::string origin_;
  std::map<std::string, Value> values_;
};

// ------------------------------------------------------------------ writer
/// Several processes writing one data set file together: psgm::mpi's direct
/// parallel-HDF5 output (psgm::mpi::CollectiveOutput, docs/scaling.md §3)
/// implements it; the writer itself stays MPI-free. With a group,
/// DatasetWriter opens one temporary file on every process through MPI-IO,
/// sets the samples' extent once to total_samples(), and writes this
/// process's batches as hyperslabs from first_sample() on with collective
/// transfers; every collective step is preceded by agree(), so that the
/// same number of collective calls is made everywhere and a failure on one
/// process makes every process throw instead of waiting. The root process
/// writes the root attributes (after combine_attributes) and renames the
/// file once every process has closed it.
class DatasetWriteGroup {
 public:
  virtual ~DatasetWriteGroup() = default;
  virtual std::int64_t total_samples() const = 0;  ///< samples of the whole file
  virtual std::int64_t first_sample() const = 0;   ///< this process's first sample
  virtual bool is_root() const = 0;                ///< writes the root attributes and renames
  /// Collective: the root's `value` on every process (the temporary name).
  virtual std::string broadcast(std::string const& value) = 0;
  /// HDF5 property lists (hid_t ids): MPI-IO file access, collective transfers.
  virtual void set_file_access(std::int64_t fapl) = 0;
  virtual void set_collective_transfer(std::int64_t dxpl) = 0;
  /// Collective, before every collective step: `failure` is this process's
  /// error (null: none), `writing` whether it has a batch for this step.
  /// Throws on every process when any failed (the failing one its own
  /// error, the others one naming that process and its message); returns
  /// whether any process has a batch.
  virtual bool agree(std::exception_ptr failure, bool writing) = 0;
  /// Whether an agreement reported a failure (the writer then only closes).
  virtual bool failed() const = 0;
  /// Collective, at commit: the whole file's root attributes from this
  /// process's (e.g. the run record summed over the processes).
  virtual void combine_attributes(AttributeMap& attributes) = 0;
};

struct DatasetWriterOptions {
  bool overwrite = false;       ///< replace an existing file at the target path (else psgm::IoError)
  bool store_porosity = true;   ///< write /samples/porosity (false: files of `psgm sample`)
  std::int64_t chunk_samples = 0;  ///< samples per HDF5 chunk; 0: about 256 KiB of fields per chunk
  int deflate_level = 0;        ///< 0: uncompressed; 1..9: gzip (h5py reads it without extra filters)
  /// Set by psgm::mpi (docs/scaling.md §3): one file written by every process of the group.
  std::shared_ptr<DatasetWriteGroup> group;
};

class DatasetWriter {
 public:
  using host_fields_view = Kokkos::View<const double***, Kokkos::LayoutRight, Kokkos::HostSpace>;  // (B, C, N)
  using host_porosity_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;  // (B, N)
  using host_index_view = Kokkos::View<const std::int64_t*, Kokkos::HostSpace>;                     // (B)
  using host_status_view = Kokkos::View<const SolveStatus*, Kokkos::HostSpace>;                     // (B)

  /// Creates the temporary file beside `path` and writes the grid, the
  /// conditions and the attributes. psgm::IoError when `path` exists and
  /// options.overwrite is false, or when its directory does not exist or is
  /// not writable; psgm::InvalidArgument for an empty or non-finite grid, no
  /// conditions, invalid conditions, or reserved attribute names.
  DatasetWriter(std::string path, std::vector<double> const& x, std::vector<pde::Condition> const& conditions,
                AttributeMap const& attributes, DatasetWriterOptions const& options = {});
  /// Any schema: `conditions` is the (M, K) table row-major, K =
  /// schema.num_condition_columns(), each row checked by the schema
  /// (finite; > 0 in logarithmic columns). The porous electrode's schema
  /// checks rows as the constructor above does.
  DatasetWriter(std::string path, std::vector<double> const& x, DatasetSchema const& schema,
                std::vector<double> const& conditions, AttributeMap const& attributes,
                DatasetWriterOptions const& options = {});
  /// Without commit(): closes and removes the temporary file (nothing appears at path).
  ~DatasetWriter();
  DatasetWriter(DatasetWriter&&) noexcept;
  DatasetWriter& operator=(DatasetWriter&&) noexcept;
  DatasetWriter(DatasetWriter const&) = delete;
  DatasetWriter& operator=(DatasetWriter const&) = delete;

  /// Appends B = fields.extent(0) samples. Shapes must match (B, C, N), (B),
  /// (B) and, when porosity is stored, (B, N); condition indices must lie in
  /// [0, M). Non-ok samples are stored with their status like any other.
  void append(host_fields_view fields, host_index_view condition_index, host_status_view status,
              host_porosity_view porosity = {});

  /// The same from Views in any memory space (LayoutRight): copies to the
  /// host on `space` and fences it, because HDF5 reads the host copies.
  template <class ExecSpace, class FieldsView, class IndexView, class StatusView, class PorosityView,
            class = std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value>>
  void append(ExecSpace const& space, FieldsView const& fields, IndexView const& condition_index,
              StatusView const& status, PorosityView const& porosity);
  template <class ExecSpace, class FieldsView, class IndexView, class StatusView,
            class = std::enable_if_t<Kokkos::is_execution_space<ExecSpace>::value>>
  void append(ExecSpace const& space, FieldsView const& fields, IndexView const& condition_index,
              StatusView const& status) {
    append(space, fields, condition_index, status, host_porosity_view{});
  }

  /// Tells the writer that its caller failed before commit(): call it in a
  /// catch block, then rethrow. With a DatasetWriterOptions::group, every
  /// process of the group learns it at its next step and throws there (else
  /// they would wait in a collective write); without, it does nothing.
  void fail(std::exception_ptr error) noexcept;

  /// Sets (or replaces) root attributes before commit(), e.g. a wall time
  /// known only at the end. Reserved names are rejected.
  void set_attributes(AttributeMap const& attributes);

  /// Flushes, closes, syncs the temporary file and renames it to path(). With
  /// overwrite = false, a file that appeared at path meanwhile is not replaced
  /// (psgm::IoError, and the temporary file is removed).
  void commit();

  std::int64_t size() const;        ///< samples appended so far
  int num_points() const;           ///< N
  int num_channels() const;         ///< C
  std::int64_t num_conditions() const;  ///< M
  std::string const& path() const;  ///< the final path
  std::string const& temporary_path() const;
  bool committed() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
  void check_arguments(std::vector<double> const& x, DatasetSchema const& schema, std::vector<double> const& conditions,
                       AttributeMap const& attributes);
  void create(std::vector<double> const& x, DatasetSchema const& schema, std::vector<double> const& conditions,
              AttributeMap const& attributes);
  void commit_group();
};

// ------------------------------------------------------------------ reader
/// Everything about a data set file but the samples themselves.
struct DatasetInfo {
  std::string path;
  int format_version = 0;
  std::int64_t num_samples = 0;  ///< n
  int num_points = 0;            ///< N
  std::vector<double> x;         ///< cell centres (N)
  DatasetSchema schema;          ///< channel names and condition columns (the porous electrode's when not stored)
  std::vector<double> condition_table;     ///< (M, K) rows of /conditions, row-major
  /// The same rows as (l, U0, F_right) when schema.is_porous_electrode(); empty otherwise.
  std::vector<pde::Condition> conditions;
  bool has_porosity = false;     ///< /samples/porosity present
  AttributeMap attributes;       ///< every root attribute, format ones included
  int num_channels() const { return schema.num_channels(); }
  int num_condition_columns() const { return schema.num_condition_columns(); }
  std::int64_t num_conditions() const {
    int const K = num_condition_columns();
    return K > 0 ? static_cast<std::int64_t>(condition_table.size()) / K : 0;
  }
  /// Row m of the condition table (K values).
  double const* condition(std::int64_t m) const { return condition_table.data() + m * num_condition_columns(); }
};

class DatasetReader {
 public:
  using host_fields_view = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;   // (B, C, N)
  using host_fields_view_float = Kokkos::View<float***, Kokkos::LayoutRight, Kokkos::HostSpace>;
  using host_porosity_view = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;  // (B, N)
  using host_index_view = Kokkos::View<std::int64_t*, Kokkos::HostSpace>;                    // (B)
  using host_status_view = Kokkos::View<SolveStatus*, Kokkos::HostSpace>;                     // (B)

  /// Opens and checks the file: psgm::IoError for a missing file, a file that
  /// is not HDF5, a format other than "psgm-dataset" version 1, and missing
  /// data sets or inconsistent shapes (the message names the data set, its
  /// shape and the expected one).
  explicit DatasetReader(std::string const& path);
  ~DatasetReader();
  DatasetReader(DatasetReader&&) noexcept;
  DatasetReader& operator=(DatasetReader&&) noexcept;
  DatasetReader(DatasetReader const&) = delete;
  DatasetReader& operator=(DatasetReader const&) = delete;

  DatasetInfo const& info() const;
  std::int64_t size() const { return info().num_samples; }
  int num_points() const { return info().num_points; }
  int num_channels() const { return info().num_channels(); }
  std::int64_t num_conditions() const { return info().num_conditions(); }
  bool has_porosity() const { return info().has_porosity; }

  /// Reads samples [first, first + out.extent(0)) into `out` (host,
  /// LayoutRight; the trailing extents must be (C, N) / (N)). The float
  /// overload converts on read (HDF5 type conversion). psgm::IoError for a
  /// range outside [0, n), or a status / condition index that the format does
  /// not allow (status > 3, index outside [0, M)).
  void read_fields(std::int64_t first, host_fields_view out) const;
  void read_fields(std::int64_t first, host_fields_view_float out) const;
  void read_porosity(std::int64_t first, host_porosity_view out) const;  ///< IoError if the file has none
  void read_condition_index(std::int64_t first, host_index_view out) const;
  void read_status(std::int64_t first, host_status_view out) const;

  /// Whole per-sample columns (n values each).
  std::vector<std::int64_t> condition_index() const;
  std::vector<SolveStatus> status() const;
  /// Counts of each psgm::SolveStatus over the file (indexed by its value).
  std::vector<std::int64_t> status_counts() const;

  /// SHA-256 of the file's data (not its attributes), as 64 hex digits:
  /// streamed over "/grid/x", "/conditions", "/samples/fields",
  /// "/samples/porosity" (if present), "/samples/condition_index",
  /// "/samples/status", each as the line "<path> <dtype> <d0>x<d1>...\n"
  /// followed by its elements in row-major order as little-endian bytes
  /// (float64, int64, uint8). Identical for identical data whatever the
  /// chunking, compression, creation time or psgm version; docs/data.md shows
  /// the same computation with h5py and hashlib.
  std::string content_sha256() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The (M, 3) condition triplets of an HDF5 data set `dataset` in `path` (e.g.
/// "/conditions" of a psgm data set, to reuse its design), validated
/// (l > 0, finite). psgm::IoError for a missing file or data set or a shape
/// other than (M, 3); psgm::InvalidArgument for invalid values.
std::vector<pde::Condition> read_conditions_hdf5(std::string const& path, std::string const& dataset = "/conditions");

/// The (M, K) table of an HDF5 data set `dataset` in `path` for conditions of
/// `schema` (K = schema.size()), row-major, each row checked by the schema.
/// When the data set has a `columns` attribute (a psgm data set's
/// /conditions), its names must be the schema's. psgm::IoError for a missing
/// file or data set or another shape; psgm::InvalidArgument for invalid values.
std::vector<double> read_condition_table_hdf5(std::string const& path, model::ConditionSchema const& schema,
                                              std::string const& dataset = "/conditions");

// ------------------------------------------------------------------ implementation of the template
namespace Impl {
// A host-accessible LayoutRight copy of `v` (v itself when it is already on
// the host), filled with an asynchronous deep_copy on `space`.
template <class ExecSpace, class View>
auto host_copy(ExecSpace const& space, View const& v) {
  if constexpr (is_host_accessible_v<typename View::memory_space>) {
    return v;
  } else {
    auto h = Kokkos::create_mirror(Kokkos::HostSpace{}, v);  // non-const, same layout
    Kokkos::deep_copy(space, h, v);
    return h;
  }
}
}  // namespace Impl

template <class ExecSpace, class FieldsView, class IndexView, class StatusView, class PorosityView, class>
void DatasetWriter::append(ExecSpace const& space, FieldsView const& fields, IndexView const& condition_index,
                           StatusView const& status, PorosityView const& porosity) {
  static_assert(std::is_same_v<typename FieldsView::array_layout, Kokkos::LayoutRight>,
                "psgm::io::DatasetWriter::append: fields must be LayoutRight (B, C, N)");
  static_assert(std::is_same_v<typename PorosityView::array_layout, Kokkos::LayoutRight>,
                "psgm::io::DatasetWriter::append: porosity must be LayoutRight (B, N)");
  auto const h_fields = Impl::host_copy(space, fields);
  auto const h_index = Impl::host_copy(space, condition_index);
  auto const h_status = Impl::host_copy(space, status);
  auto const h_porosity = Impl::host_copy(space, porosity);
  space.fence();  // HDF5 reads the host copies below
  append(host_fields_view(h_fields), host_index_view(h_index), host_status_view(h_status),
         host_porosity_view(h_porosity));
}

}  // namespace psgm::io
