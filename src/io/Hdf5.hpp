// Private HDF5 helpers of libpsgm's file I/O (src/io): owning handles,
// error translation to psgm::IoError with HDF5's own diagnosis, attributes
// as psgm::io::AttributeMap values, and row-range reads/writes of data sets.
// Never included by a public header.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace psgm::io::Impl {

inline constexpr hid_t invalid_hid = -1;

/// Owns one HDF5 identifier of any kind and closes it with the matching call.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, invalid_hid)) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, invalid_hid);
    }
    return *this;
  }
  Handle(Handle const&) = delete;
  Handle& operator=(Handle const&) = delete;

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes the identifier; returns false if HDF5 reported an error.
  bool reset();

 private:
  hid_t id_ = invalid_hid;
};

/// Silences HDF5's automatic error printing for its lifetime (psgm reports
/// errors itself) and restores the previous handler afterwards.
class ErrorSilencer {
 public:
  ErrorSilencer();
  ~ErrorSilencer();
  ErrorSilencer(ErrorSilencer const&) = delete;
  ErrorSilencer& operator=(ErrorSilencer const&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// The innermost message on HDF5's current error stack ("" if none). Must be
/// called right after the failing call (any HDF5 call clears the stack).
std::string last_hdf5_error();

/// Throws IoError("<what>: <HDF5's message>") when id < 0; returns a Handle.
Handle checked(hid_t id, std::string const& what);
/// Throws IoError("<what>: <HDF5's message>") when status < 0.
void check(herr_t status, std::string const& what);

/// Opens an existing file, with messages that tell a missing file, a file that
/// is not HDF5 and an unreadable one apart. `kind` names the file for the user
/// ("data set file", "porosity file").
Handle open_file_readonly(std::string const& path, std::string const& kind);

/// True when the absolute or relative object path exists below `loc`
/// (every intermediate link is checked, so "/a/b" with no "/a" is false).
bool object_exists(hid_t loc, std::string const& path);

/// The dimensions of a data set's (simple) dataspace.
std::vector<hsize_t> dataset_dims(hid_t dataset);
/// "(25, 2, 100)"
std::string format_dims(std::vector<hsize_t> const& dims);
/// The HDF5 type class of a data set's stored type.
H5T_class_t dataset_class(hid_t dataset);

/// Writes one attribute on `obj`, replacing one of the same name.
void write_attribute(hid_t obj, std::string const& name, AttributeMap::Value const& value);
/// Reads every attribute of `obj` that is a number, an integer or a string
/// (scalar or 1-D); others (enums, compounds) are skipped.
AttributeMap read_attributes(hid_t obj, std::string const& origin);

/// Reads rows [first, first + count) of a data set whose first dimension is
/// the row, every other dimension whole, into `buffer` converted to `memtype`.
void read_rows(hid_t dataset, std::int64_t first, std::int64_t count, hid_t memtype, void* buffer,
               std::string const& what);

}  // namespace psgm::io::Impl
