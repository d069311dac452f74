// Initialising psgm: Kokkos first, then (when enabled) LibTorch's thread pool.
//
// LibTorch pins OpenMP to one thread the first time it is used unless
// OMP_NUM_THREADS is set, and Kokkos' OpenMP backend must own the thread pool
// first. psgm::ScopeGuard does both in the right order; use it instead of
// Kokkos::ScopeGuard in programs that use psgm.
#pragma once

#include <string>

namespace psgm {

struct RuntimeOptions {
  int num_threads = -1;        ///< host threads; -1: OMP_NUM_THREADS, else all cores
  int device_id = -1;          ///< GPU to use; -1: Kokkos' default
  bool quiet = true;           ///< silence Kokkos' initialisation warnings
};

/// Initialises Kokkos (if not yet initialised) and sets OMP_NUM_THREADS /
/// OMP_PROC_BIND defaults beforehand when the environment leaves them unset.
/// Returns true if this call initialised Kokkos.
bool initialize(RuntimeOptions const& options = {});
/// Finalises Kokkos if psgm::initialize initialised it.
void finalize();

/// RAII: initialize() on construction, finalize() on destruction.
class ScopeGuard {
 public:
  explicit ScopeGuard(RuntimeOptions const& options = {}) : owns_(initialize(options)) {}
  ~ScopeGuard() {
    if (owns_) finalize();
  }
  ScopeGuard(ScopeGuard const&) = delete;
  ScopeGuard& operator=(ScopeGuard const&) = delete;

 private:
  bool owns_;
};

/// psgm's version string, e.g. "0.1.0".
std::string version();
/// One line describing how this psgm was built: version, Kokkos version and
/// enabled execution spaces, score backends.
std::string build_info();

}  // namespace psgm
