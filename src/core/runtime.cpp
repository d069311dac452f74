#include <psgm/Config.hpp>
#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/core/Runtime.hpp>

#include <Kokkos_Core.hpp>

#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>


namespace psgm {

namespace {
bool g_owns_kokkos = false;

void set_default_env(char const* name, std::string const& value) {
  if (std::getenv(name) == nullptr) ::setenv(name, value.c_str(), 0);
}
}  // namespace

bool initialize(RuntimeOptions const& options) {
  if (Kokkos::is_initialized()) return false;
  // Before any OpenMP runtime is touched: a thread count for every consumer
  // (Kokkos, LibTorch) and no thread binding by default, so that concurrent
  // processes (ctest -j) do not pile onto the same cores.
  int threads = options.num_threads;
  if (threads <= 0) {
    if (char const* env = std::getenv("OMP_NUM_THREADS")) threads = std::atoi(env);
  }
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  set_default_env("OMP_NUM_THREADS", std::to_string(threads));
  set_default_env("OMP_PROC_BIND", "false");

#if KOKKOS_VERSION >= 30700
  Kokkos::InitializationSettings settings;
  settings.set_num_threads(threads);
  if (options.device_id >= 0) settings.set_device_id(options.device_id);
  settings.set_disable_warnings(options.quiet);
  Kokkos::initialize(settings);
#else
  Kokkos::InitArguments args;
  args.num_threads = threads;
  args.device_id = options.device_id;
  args.disable_warnings = options.quiet;
  Kokkos::initialize(args);
#endif
  g_owns_kokkos = true;
  // LibTorch (libpsgm_torch) takes the same thread count when it is first used
  // (psgm::score::Impl::ensure_torch_threads), after Kokkos owns the OpenMP pool.
  return true;
}

void finalize() {
  if (g_owns_kokkos && Kokkos::is_initialized()) Kokkos::finalize();
  g_owns_kokkos = false;
}

std::string build_info() {
  std::ostringstream os;
  os << "psgm " << version() << " (Kokkos " << KOKKOS_VERSION / 10000 << '.' << KOKKOS_VERSION / 100 % 100 << '.'
     << KOKKOS_VERSION % 100 << "; execution spaces:";
#define PSGM_IMPL_NAME(Space) os << ' ' << Space::name();
  PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_IMPL_NAME)
#undef PSGM_IMPL_NAME
  os << "; score backends: native" << (PSGM_HAS_TORCH ? ", libtorch" : "") << "; hdf5 "
     << (PSGM_HAS_HDF5 ? "on" : "off") << ')';
  return os.str();
}

}  // namespace psgm
