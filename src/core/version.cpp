#include <psgm/Config.hpp>
#include <psgm/core/Runtime.hpp>

namespace psgm {
std::string version() { return PSGM_VERSION_STRING; }
}  // namespace psgm
