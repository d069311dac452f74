// The source tree's and the installation's Python directories
// (python_dirs.hpp; the definitions come from src/stats/CMakeLists.txt).
#include "python_dirs.hpp"

namespace psgm::stats::Impl {

std::array<char const*, 2> built_in_python_dirs() { return {PSGM_PYTHON_SOURCE_DIR, PSGM_PYTHON_INSTALL_DIR}; }

}  // namespace psgm::stats::Impl
