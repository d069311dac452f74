// The one main of every psgm test executable.
//
// Kokkos is initialised once, quietly, and only when tests actually run:
// catch_discover_tests parses whatever the binary prints while listing, so
// listing must print nothing but the test names.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <psgm/core/Runtime.hpp>

int main(int argc, char* argv[]) {
  Catch::Session session;
  int const rc = session.applyCommandLine(argc, argv);
  if (rc != 0) return rc;
  auto const& config = session.configData();
  bool const only_listing = config.listTests || config.listTestNamesOnly || config.listTags ||
                            config.listReporters || config.showHelp;
  if (only_listing) return session.run();

  psgm::ScopeGuard guard;  // Kokkos (quiet), then LibTorch's thread pool
  return session.run();
}
