#include <psgm/core/Format.hpp>

#include <cstdio>

namespace psgm {

std::string format_mib(double mib) {
  char buf[64];
  if (mib < 1024)
    std::snprintf(buf, sizeof buf, "%.3g MiB", mib);
  else if (mib < 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.3g GiB", mib / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.3g TiB", mib / (1024.0 * 1024));
  return buf;
}

}  // namespace psgm
