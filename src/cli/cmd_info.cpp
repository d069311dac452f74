// `psgm info`: how this psgm was built; with --partial DIR, the hidden
// temporary files that killed runs left in DIR (docs/reliability.md).
#include "Command.hpp"
#include "TorchModule.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/core/Runtime.hpp>
#if PSGM_HAS_HDF5
#include <psgm/io/FileFormat.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <filesystem>
#include <iostream>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_info {

struct Options {
  bool verbose = false;
  std::vector<std::string> partial_dirs;
  bool remove_partial = false;
};

/// psgm writes every file under a hidden temporary name beside its target
/// and renames it when complete; a run killed by SIGKILL or a power cut
/// cannot remove its temporary file. This lists (and removes) them.
int partial_files(Options const& o) {
#if PSGM_HAS_HDF5
  int found = 0;
  for (auto const& dir : o.partial_dirs) {
    psgm::require<psgm::IoError>(std::filesystem::is_directory(dir), "psgm info --partial: '", dir,
                                 "' is not a directory");
    for (auto const& f : psgm::io::find_partial_files(dir)) {
      ++found;
      std::error_code ec;
      if (o.remove_partial) {
        std::filesystem::remove(f, ec);
        std::cout << (ec ? "could not remove " : "removed ") << f << (ec ? ": " + ec.message() : "") << '\n';
      } else {
        std::cout << f << '\n';
      }
    }
  }
  if (found == 0) std::cout << "psgm info: no leftover temporary files\n";
  else if (!o.remove_partial)
    std::cout << "psgm info: " << found << " leftover temporary file(s) of killed runs; remove them with "
              << "psgm info --partial DIR --remove-partial (no running psgm may be writing there)\n";
  return 0;
#else
  (void)o;
  psgm::require(false, "psgm info --partial: this psgm was built without HDF5 (PSGM_ENABLE_HDF5=OFF)");
  return 2;
#endif
}

psgm::cli::RegisterCommand info_command(
    "info", "print how psgm was built and the Kokkos configuration; --partial DIR: leftover temporary files",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<Options>();
      app.add_flag("-v,--verbose", o->verbose,
                   "also print whether the libtorch backend's module loads, and Kokkos' configuration");
      app.add_option("--partial", o->partial_dirs,
                     "list the hidden temporary files (.NAME.partial-*, .NAME.tmp-*) that killed psgm runs left in "
                     "this directory (repeatable)");
      app.add_flag("--remove-partial", o->remove_partial, "with --partial: remove them");
      return [o] {
        if (!o->partial_dirs.empty()) return partial_files(*o);
        psgm::require(!o->remove_partial, "psgm info: --remove-partial needs --partial DIR");
        std::cout << psgm::build_info() << '\n';
        if (o->verbose) {
          // Loads the LibTorch module (0.5 s): verbose only.
          std::cout << psgm::cli::torch_module_report() << '\n';
          Kokkos::print_configuration(std::cout, true);
        }
        return 0;
      };
    });
}  // namespace cmd_info
}  // namespace
