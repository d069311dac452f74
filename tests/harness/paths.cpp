// The source tree's absolute path, compiled into this unit only: as a
// definition on every test unit's command line it made each of them miss
// ccache in a clone at another path (cmake/PsgmTesting.cmake).
#include "psgm_test_paths.hpp"

namespace psgm_test {

char const* source_dir() { return PSGM_SOURCE_DIR; }

}  // namespace psgm_test
