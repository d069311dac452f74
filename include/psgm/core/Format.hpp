// Small formatting helpers shared by the library's messages and the CLI.
#pragma once

#include <string>

namespace psgm {

/// "12.3 MiB", "4.56 GiB" or "1.2 TiB": a size given in MiB, three significant digits.
std::string format_mib(double mib);

}  // namespace psgm
