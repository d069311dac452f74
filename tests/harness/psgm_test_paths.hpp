// Where the tests find the source tree's files, without a definition of the
// path on their command lines (cmake/PsgmTesting.cmake).
#pragma once

namespace psgm_test {

/// The source tree's root: tests/harness/paths.cpp, the one unit compiled
/// with its absolute path.
char const* source_dir();

}  // namespace psgm_test
