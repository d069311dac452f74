// psgm command-line interface. Each subcommand lives in its own file
// (src/cli/cmd_*.cpp) and registers itself; see src/cli/Command.hpp.
#include "Command.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/core/Runtime.hpp>
#if PSGM_ENABLE_MPI
#include <psgm/mpi/Comm.hpp>
#endif

#include <cstdlib>
#include <iostream>
#include <optional>
#include <set>
#include <streambuf>
#include <thread>
#include <unistd.h>

namespace {

#if PSGM_ENABLE_MPI
/// MPI for the whole run when a launcher started psgm (or PSGM_MPI=on),
/// started before Kokkos and ended after it (the library never calls
/// MPI_Init; docs/scaling.md §2). Without a launcher psgm is a job of one
/// and does not start MPI, which in Open MPI costs about a second (a
/// singleton spawns an `orted` daemon); a command that needs it anyway
/// starts it (psgm::cli::start_mpi), and this ends it.
struct MpiSession {
  MpiSession(int& argc, char**& argv) {
    if (psgm::cli::mpi_requested()) MPI_Init(&argc, &argv);
  }
  ~MpiSession() {
    if (psgm::cli::mpi_running()) MPI_Finalize();
  }
  MpiSession(MpiSession const&) = delete;
  MpiSession& operator=(MpiSession const&) = delete;
};
#endif

/// Discards what the other ranks would print to stdout.
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};

/// Points std::cout at `buffer` while it lives (std::cout outlives main()).
struct RedirectStdout {
  explicit RedirectStdout(std::streambuf* buffer) : saved(std::cout.rdbuf(buffer)) {}
  ~RedirectStdout() { std::cout.rdbuf(saved); }
  RedirectStdout(RedirectStdout const&) = delete;
  RedirectStdout& operator=(RedirectStdout const&) = delete;
  std::streambuf* saved;
};

/// Ends the job after an error on this rank (`exit_code`): under MPI with
/// more than one rank, MPI_Abort, so that the others do not wait forever
/// for this one in a collective call; otherwise the exit code.
int fail(int exit_code) {
#if PSGM_ENABLE_MPI
  if (psgm::cli::process_count() > 1) {
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }
#endif
  return exit_code;
}

/// "psgm: error: " with, under MPI with several ranks, which rank says it.
std::string prefix(char const* what) {
  std::string p = std::string("psgm: ") + what;
  if (psgm::cli::process_count() > 1)
    p += " (rank " + std::to_string(psgm::cli::process_rank()) + " of " +
         std::to_string(psgm::cli::process_count()) + ")";
  return p + ": ";
}

}  // namespace

int main(int argc, char** argv) {
  // OpenMP's idle threads must sleep, not spin: the CLI may load LibTorch
  // (its module, for the libtorch backend: TorchModule.hpp), and
  // LibTorch's worker threads and Kokkos' OpenMP pool otherwise busy-wait
  // against each other (measured on 2 cores: `psgm generate` 7x and LibTorch
  // training 4x slower). libgomp reads OMP_WAIT_POLICY only when it is
  // loaded, so when the user has not chosen a policy psgm runs itself again,
  // once, with OMP_WAIT_POLICY=passive (docs/performance.md).
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ::setenv("OMP_WAIT_POLICY", "passive", 1);
    ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
  }
#if PSGM_ENABLE_MPI
  std::optional<MpiSession> mpi;
  try {
    mpi.emplace(argc, argv);
  } catch (psgm::Error const& e) {  // a PSGM_MPI value that means nothing
    std::cerr << "psgm: error: " << e.what() << '\n';
    return 2;
  }
#endif
  NullBuffer null_buffer;
  std::ostream null_stream(&null_buffer);
  // Summaries on stdout: rank 0 prints them.
  RedirectStdout quiet_rank(psgm::cli::is_root_process() ? std::cout.rdbuf() : &null_buffer);
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
    // Every rank parsed the same command line: rank 0 alone says what was wrong.
    if (psgm::cli::is_root_process()) return app.exit(e);
    return app.exit(e, null_stream, null_stream);
  }
  // The subcommands that share their work between MPI ranks
  // (docs/scaling.md); the others would each do the whole run and write
  // the same files, so several ranks are refused.
  std::set<std::string> const distributed{"generate", "sample", "train", "evaluate", "info"};
  if (psgm::cli::process_count() > 1 && !app.get_subcommands().empty() &&
      !distributed.count(app.get_subcommands().front()->get_name())) {
    if (psgm::cli::is_root_process())
      std::cerr << "psgm: error: psgm " << app.get_subcommands().front()->get_name() << " runs on one process; "
                << "it was started on " << psgm::cli::process_count() << " MPI ranks (only generate, sample, train and "
                << "evaluate share their work between ranks: docs/scaling.md)\n";
    return 2;
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
#if PSGM_ENABLE_MPI
    if (psgm::cli::mpi_running())
      options.device_id = psgm::mpi::device_id(MPI_COMM_WORLD);  // on GPUs: the node-local rank's
#endif
    psgm::ScopeGuard guard(options);
    return run ? run() : 0;
  } catch (psgm::cli::Interrupted const& e) {
    std::cerr << prefix("interrupted") << e.what() << '\n';
    return fail(psgm::cli::InterruptScope::interrupted_exit_code());
#if PSGM_ENABLE_MPI
  } catch (psgm::mpi::RemoteError const& e) {
    // Another rank failed in a collective call and says so itself; rank 0
    // repeats it, in case MPI_Abort ends that rank before it has printed.
    if (psgm::cli::is_root_process()) std::cerr << prefix("error") << e.what() << '\n';
    return fail(2);
#endif
  } catch (psgm::Error const& e) {
    std::cerr << prefix("error") << e.what() << '\n';
    return fail(2);
  } catch (std::exception const& e) {
    std::cerr << prefix("unexpected error") << e.what() << '\n';
    return fail(3);
  }
}
