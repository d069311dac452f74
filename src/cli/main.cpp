// psgm command-line interface. Each subcommand lives in its own file
// (src/cli/cmd_*.cpp) and registers itself; see src/cli/Command.hpp.
#include "Command.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/core/Runtime.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>
#include <unistd.h>

int main(int argc, char** argv) {
  // OpenMP's idle threads must sleep, not spin: the CLI loads LibTorch, and
  // LibTorch's worker threads and Kokkos' OpenMP pool otherwise busy-wait
  // against each other (measured on 2 cores: `psgm generate` 7x and LibTorch
  // training 4x slower). libgomp reads OMP_WAIT_POLICY only when it is
  // loaded, so when the user has not chosen a policy psgm runs itself again,
  // once, with OMP_WAIT_POLICY=passive (docs/performance.md).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
  }
  CLI::App app{"psgm: uncertainty quantification with score-based generative models\n" + psgm::build_info()};
  app.require_subcommand(1);
  app.set_version_flag("--version", psgm::version());
  int threads = -1;
  app.add_option("--threads", threads, "host threads (default: OMP_NUM_THREADS, else all cores)");
  std::function<int()> run;
  for (auto const& command : psgm::cli::registry()) {
    auto* sub = app.add_subcommand(command.name, command.description);
    auto runner = std::make_shared<std::function<int()>>(command.setup(*sub));
    sub->callback([&run, runner] { run = *runner; });
  }
  try {
    app.parse(argc, argv);
  } catch (CLI::ParseError const& e) {
    return app.exit(e);
  }
  // More host threads than the machine has only oversubscribe it (and a huge
  // count would make the OpenMP runtime allocate per-thread state): clamped.
  unsigned const cores = std::thread::hardware_concurrency();
  if (threads == 0 || threads < -1) {
    std::cerr << "psgm: error: --threads " << threads << ": expected a positive thread count\n";
    return 2;
  }
  if (cores > 0 && threads > int(cores)) {
    std::cerr << "psgm: note: --threads " << threads << " exceeds the " << cores << " hardware threads of this "
              << "machine; using " << cores << '\n';
    threads = int(cores);
  }
  try {
    psgm::RuntimeOptions options;
    options.num_threads = threads;
    psgm::ScopeGuard guard(options);
    return run ? run() : 0;
  } catch (psgm::cli::Interrupted const& e) {
    std::cerr << "psgm: interrupted: " << e.what() << '\n';
    return psgm::cli::InterruptScope::interrupted_exit_code();
  } catch (psgm::Error const& e) {
    std::cerr << "psgm: error: " << e.what() << '\n';
    return 2;
  } catch (std::exception const& e) {
    std::cerr << "psgm: unexpected error: " << e.what() << '\n';
    return 3;
  }
}
