#include "Hdf5.hpp"

#include <filesystem>
#include <sstream>

namespace psgm::io::Impl {

bool Handle::reset() {
  if (id_ < 0) return true;
  herr_t status = 0;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: status = H5Fclose(id_); break;
    case H5I_GROUP: status = H5Gclose(id_); break;
    case H5I_DATASET: status = H5Dclose(id_); break;
    case H5I_DATASPACE: status = H5Sclose(id_); break;
    case H5I_DATATYPE: status = H5Tclose(id_); break;
    case H5I_ATTR: status = H5Aclose(id_); break;
    case H5I_GENPROP_LST: status = H5Pclose(id_); break;
    default: status = H5Idec_ref(id_) < 0 ? -1 : 0; break;
  }
  id_ = invalid_hid;
  return status >= 0;
}

ErrorSilencer::ErrorSilencer() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorSilencer::~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {
herr_t collect_innermost(unsigned, H5E_error2_t const* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  // Walking downward, the last frame is the innermost: where HDF5 detected the problem.
  std::string text = err->desc ? err->desc : "";
  char minor[256] = {0};
  H5E_type_t type;
  if (H5Eget_msg(err->min_num, &type, minor, sizeof minor) > 0 && text.find(minor) == std::string::npos)
    text += std::string(text.empty() ? "" : " (") + minor + (text.empty() ? "" : ")");
  *out = text;
  return 0;
}
}  // namespace

std::string last_hdf5_error() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_innermost, &message);
  return message;
}

Handle checked(hid_t id, std::string const& what) {
  if (id < 0) {
    std::string const why = last_hdf5_error();
    throw IoError(what + (why.empty() ? "" : ": " + why));
  }
  return Handle(id);
}

void check(herr_t status, std::string const& what) {
  if (status < 0) {
    std::string const why = last_hdf5_error();
    throw IoError(what + (why.empty() ? "" : ": " + why));
  }
}

Handle open_file_readonly(std::string const& path, std::string const& kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  require<IoError>(!path.empty(), kind, ": no path given");
  require<IoError>(fs::exists(path, ec), kind, " '", path, "' does not exist");
  require<IoError>(!fs::is_directory(path, ec), kind, " '", path, "' is a directory, not an HDF5 file");
  htri_t const is_hdf5 = H5Fis_hdf5(path.c_str());
  require<IoError>(is_hdf5 >= 0, kind, " '", path, "' cannot be read (permissions?)");
  require<IoError>(is_hdf5 > 0, kind, " '", path, "' is not an HDF5 file (no HDF5 signature)");
  return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), kind + " '" + path + "' cannot be opened");
}

bool object_exists(hid_t loc, std::string const& path) {
  if (path.empty() || path == "/") return true;
  std::string prefix = path[0] == '/' ? "" : ".";
  std::size_t pos = path[0] == '/' ? 1 : 0;
  while (pos <= path.size()) {
    std::size_t const next = path.find('/', pos);
    std::string const part = path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    if (!part.empty()) {
      prefix += "/" + part;
      if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
      if (next != std::string::npos && H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) > 0;
}

std::vector<hsize_t> dataset_dims(hid_t dataset) {
  Handle space = checked(H5Dget_space(dataset), "cannot read a data set's shape");
  int const rank = H5Sget_simple_extent_ndims(space);
  check(rank, "cannot read a data set's rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "cannot read a data set's shape");
  return dims;
}

std::string format_dims(std::vector<hsize_t> const& dims) {
  std::ostringstream os;
  os << '(';
  for (std::size_t i = 0; i < dims.size(); ++i) os << (i ? ", " : "") << dims[i];
  if (dims.size() == 1) os << ',';
  os << ')';
  return os.str();
}

H5T_class_t dataset_class(hid_t dataset) {
  Handle type = checked(H5Dget_type(dataset), "cannot read a data set's type");
  return H5Tget_class(type);
}

// ------------------------------------------------------------------ attributes
namespace {

Handle utf8_string_type() {
  Handle t = checked(H5Tcopy(H5T_C_S1), "cannot create a string type");
  check(H5Tset_size(t, H5T_VARIABLE), "cannot create a string type");
  check(H5Tset_cset(t, H5T_CSET_UTF8), "cannot create a string type");
  return t;
}

Handle make_space(bool scalar, std::size_t n) {
  if (scalar) return checked(H5Screate(H5S_SCALAR), "cannot create a dataspace");
  hsize_t const dims[1] = {static_cast<hsize_t>(n)};
  return checked(H5Screate_simple(1, dims, nullptr), "cannot create a dataspace");
}

void write_raw(hid_t obj, std::string const& name, hid_t file_type, hid_t mem_type, bool scalar, std::size_t n,
               void const* data) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "cannot replace attribute '" + name + "'");
  Handle space = make_space(scalar, n);
  Handle attr = checked(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create attribute '" + name + "'");
  if (scalar || n > 0) check(H5Awrite(attr, mem_type, data), "cannot write attribute '" + name + "'");
}

}  // namespace

void write_attribute(hid_t obj, std::string const& name, AttributeMap::Value const& value) {
  std::visit(
      [&](auto const& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          write_raw(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, true, 1, &v);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          write_raw(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, true, 1, &v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          Handle t = utf8_string_type();
          char const* p = v.c_str();
          write_raw(obj, name, t, t, true, 1, &p);
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          write_raw(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, false, v.size(), v.data());
        } else if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
          write_raw(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, false, v.size(), v.data());
        } else {
          Handle t = utf8_string_type();
          std::vector<char const*> p;
          for (auto const& s : v) p.push_back(s.c_str());
          write_raw(obj, name, t, t, false, v.size(), p.data());
        }
      },
      value);
}

namespace {

struct AttributeIteration {
  AttributeMap* out;
  std::string error;
};

std::vector<std::string> read_strings(hid_t attr, hid_t file_type, hid_t space, std::size_t n) {
  std::vector<std::string> out;
  if (n == 0) return out;
  if (H5Tis_variable_str(file_type) > 0) {
    Handle mem = checked(H5Tcopy(H5T_C_S1), "cannot create a string type");
    check(H5Tset_size(mem, H5T_VARIABLE), "cannot create a string type");
    check(H5Tset_cset(mem, H5Tget_cset(file_type)), "cannot create a string type");
    std::vector<char*> p(n, nullptr);
    check(H5Aread(attr, mem, p.data()), "cannot read a string attribute");
    for (char* s : p) out.emplace_back(s ? s : "");
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mem, space, H5P_DEFAULT, p.data());
#else
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, p.data());
#endif
  } else {
    std::size_t const size = H5Tget_size(file_type);
    Handle mem = checked(H5Tcopy(H5T_C_S1), "cannot create a string type");
    check(H5Tset_size(mem, size), "cannot create a string type");
    std::vector<char> buf(n * size);
    check(H5Aread(attr, mem, buf.data()), "cannot read a string attribute");
    for (std::size_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * size, size);
      auto const end = s.find_last_not_of(std::string("\0 ", 2));
      s.erase(end == std::string::npos ? 0 : end + 1);
      out.push_back(s);
    }
  }
  return out;
}

herr_t read_one_attribute(hid_t obj, char const* name, H5A_info_t const*, void* data) {
  auto* it = static_cast<AttributeIteration*>(data);
  try {
    Handle attr = checked(H5Aopen(obj, name, H5P_DEFAULT), std::string("cannot open attribute '") + name + "'");
    Handle type = checked(H5Aget_type(attr), "cannot read the type of attribute '" + std::string(name) + "'");
    Handle space = checked(H5Aget_space(attr), "cannot read the shape of attribute '" + std::string(name) + "'");
    H5S_class_t const space_class = H5Sget_simple_extent_type(space);
    if (space_class == H5S_NULL) return 0;
    bool const scalar = space_class == H5S_SCALAR;
    hssize_t const npoints = H5Sget_simple_extent_npoints(space);
    std::size_t const n = npoints < 0 ? 0 : static_cast<std::size_t>(npoints);
    switch (H5Tget_class(type)) {
      case H5T_FLOAT: {
        std::vector<double> v(n);
        if (n > 0) check(H5Aread(attr, H5T_NATIVE_DOUBLE, v.data()), "cannot read attribute '" + std::string(name) + "'");
        if (scalar) it->out->set(name, v.at(0));
        else it->out->set(name, std::move(v));
        break;
      }
      case H5T_INTEGER: {
        std::vector<std::int64_t> v(n);
        if (n > 0) check(H5Aread(attr, H5T_NATIVE_INT64, v.data()), "cannot read attribute '" + std::string(name) + "'");
        if (scalar) it->out->set(name, v.at(0));
        else it->out->set(name, std::move(v));
        break;
      }
      case H5T_STRING: {
        auto v = read_strings(attr, type, space, n);
        if (scalar) it->out->set(name, v.empty() ? std::string() : v[0]);
        else it->out->set(name, std::move(v));
        break;
      }
      default: break;  // enums, compounds, references: not psgm's
    }
  } catch (std::exception const& e) {
    it->error = e.what();
    return -1;
  }
  return 0;
}

}  // namespace

AttributeMap read_attributes(hid_t obj, std::string const& origin) {
  AttributeMap out(origin);
  AttributeIteration it{&out, {}};
  hsize_t index = 0;
  herr_t const status = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &index, read_one_attribute, &it);
  if (!it.error.empty()) throw IoError(origin + ": " + it.error);
  check(status, origin + ": cannot read attributes");
  return out;
}

void read_rows(hid_t dataset, std::int64_t first, std::int64_t count, hid_t memtype, void* buffer,
               std::string const& what) {
  if (count == 0) return;
  auto const dims = dataset_dims(dataset);
  std::vector<hsize_t> start(dims.size(), 0), block(dims);
  start[0] = static_cast<hsize_t>(first);
  block[0] = static_cast<hsize_t>(count);
  Handle file_space = checked(H5Dget_space(dataset), what);
  check(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start.data(), nullptr, block.data(), nullptr), what);
  Handle mem_space = checked(H5Screate_simple(static_cast<int>(block.size()), block.data(), nullptr), what);
  check(H5Dread(dataset, memtype, mem_space, file_space, H5P_DEFAULT, buffer), what);
}

}  // namespace psgm::io::Impl
