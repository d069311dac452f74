// `psgm info`: how this psgm was built, and (given files) what a data set or
// model file holds.
#include "Command.hpp"

#include <psgm/core/Runtime.hpp>

#include <Kokkos_Core.hpp>

#include <iostream>

namespace {
psgm::cli::RegisterCommand info_command("info", "print how psgm was built and the Kokkos configuration",
                                        [](CLI::App& app) -> std::function<int()> {
                                          auto verbose = std::make_shared<bool>(false);
                                          app.add_flag("-v,--verbose", *verbose, "also print Kokkos' configuration");
                                          return [verbose] {
                                            std::cout << psgm::build_info() << '\n';
                                            if (*verbose) Kokkos::print_configuration(std::cout, true);
                                            return 0;
                                          };
                                        });
}  // namespace
