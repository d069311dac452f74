// Opens the module psgm_cli_torch (src/cli/TorchModule.hpp) on first use.
#include "TorchModule.hpp"

#include <psgm/core/Error.hpp>

#include <filesystem>
#if PSGM_HAS_TORCH
#include <dlfcn.h>
#endif

namespace psgm::cli {
namespace {

#if PSGM_HAS_TORCH
/// PSGM_CLI_TORCH_MODULE is the module's path relative to the executable's
/// directory, the same in the build tree and in an installation
/// (src/cli/CMakeLists.txt).
std::string module_path() {
  std::error_code ec;
  auto const exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path const dir = ec ? std::filesystem::path(".") : exe.parent_path();
  return (dir / PSGM_CLI_TORCH_MODULE).lexically_normal().string();
}

struct Loaded {
  std::string path;
  TorchCommands const* table = nullptr;
  std::string error;  ///< why table is null
};

/// Opened once; never closed (LibTorch's static state lives until exit).
Loaded const& loaded() {
  static Loaded const l = [] {
    Loaded r;
    r.path = module_path();
    void* handle = ::dlopen(r.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      char const* why = ::dlerror();
      r.error = why ? why : "dlopen failed";
      return r;
    }
    using Entry = TorchCommands const* (*)();
    auto const entry = reinterpret_cast<Entry>(::dlsym(handle, "psgm_cli_torch_commands"));
    if (entry == nullptr) {
      r.error = "it has no psgm_cli_torch_commands(): not psgm's LibTorch module";
      return r;
    }
    TorchCommands const* table = entry();
    if (std::string(table->abi) != PSGM_CLI_TORCH_ABI) {
      r.error = std::string("it belongs to another build of psgm (") + table->abi + "; this psgm: " +
                PSGM_CLI_TORCH_ABI + ")";
      return r;
    }
    r.table = table;
    return r;
  }();
  return l;
}
#endif

}  // namespace

TorchCommands const& torch_commands(std::string const& who) {
#if PSGM_HAS_TORCH
  Loaded const& l = loaded();
  if (l.table == nullptr)
    throw Error(who + ": the libtorch backend is psgm's module '" + l.path + "', which did not load: " + l.error +
                " (reinstall psgm, or use the native backend: --backend native)");
  return *l.table;
#else
  throw InvalidArgument(who + ": this psgm was built without LibTorch (PSGM_ENABLE_TORCH=OFF)");
#endif
}

std::string torch_module_report() {
#if PSGM_HAS_TORCH
  Loaded const& l = loaded();
  return "libtorch backend: module " + l.path + (l.table ? " (loads)" : " (does not load: " + l.error + ")");
#else
  return "libtorch backend: not built (PSGM_ENABLE_TORCH=OFF)";
#endif
}

}  // namespace psgm::cli
