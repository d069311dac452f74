// Plumbing shared by the psgm subcommands (generate, train, sample, evaluate,
// pipeline, ...): self-registration, strict TOML configuration with presets
// and command-line overrides, and progress reporting.
#pragma once

#include <CLI/CLI.hpp>

#include <psgm/core/Error.hpp>
#include <psgm/posterior/Observations.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace psgm {
namespace model {
struct ConditionSchema;
}
namespace pde {
struct Condition;
}
namespace cli {

/// A subcommand registers itself with a static RegisterCommand in its own
/// translation unit: `setup` declares its options on the CLI11 subcommand and
/// returns the function that runs it (exit code).
struct Command {
  std::string name;
  std::string description;
  std::function<std::function<int()>(CLI::App&)> setup;
};
std::vector<Command>& registry();
struct RegisterCommand {
  RegisterCommand(std::string name, std::string description, std::function<std::function<int()>(CLI::App&)> setup);
};

// ------------------------------------------------------------------ configuration
/// A TOML configuration read strictly: every key must be known. Built from a
/// preset (a TOML text compiled into psgm), an optional user file merged on
/// top, and `--set section.key=value` overrides merged last.
class Config {
 public:
  /// presets: name -> TOML text. `preset` selects one (must exist);
  /// `file` may be empty; `overrides` are "dotted.key=value" strings whose
  /// value is parsed as TOML (strings may be given bare).
  static Config load(std::string const& preset, std::vector<std::pair<std::string, std::string>> const& presets,
                     std::string const& file, std::vector<std::string> const& overrides);

  /// Typed access; marks the key as known. `get` throws if absent.
  template <class T>
  T get(std::string const& dotted) const;
  template <class T>
  T get_or(std::string const& dotted, T fallback) const;
  bool has(std::string const& dotted) const;
  std::vector<double> get_doubles(std::string const& dotted) const;
  std::vector<std::vector<double>> get_double_rows(std::string const& dotted) const;
  std::vector<std::string> get_strings(std::string const& dotted) const;

  /// Throws InvalidArgument listing every key in the configuration that no
  /// get/has call asked about (typos, keys of another command).
  void reject_unknown_keys() const;
  /// The effective configuration as TOML text (saved in outputs for provenance).
  std::string to_toml() const;

  Config();

 private:
  // The parsed TOML document lives in command.cpp, the only translation
  // unit that includes toml++: nvcc cannot compile toml++ 3.3 (its lambdas
  // in table::for_each, marzer/tomlplusplus#213), and the subcommands
  // include Kokkos, so in CUDA builds they go through nvcc while command.cpp
  // is compiled by the host compiler alone (src/cli/CMakeLists.txt).
  struct Document;
  std::shared_ptr<Document> doc_;
  mutable std::set<std::string> used_;
};

/// Adds `--preset NAME`, `--config FILE`, `--set KEY=VALUE` (repeatable) to a
/// subcommand and stores them in the returned struct.
struct ConfigOptions {
  std::string preset;
  std::string file;
  std::vector<std::string> overrides;
};
std::shared_ptr<ConfigOptions> add_config_options(CLI::App& app, std::string default_preset,
                                                  std::vector<std::string> const& preset_names);

// ------------------------------------------------------------------ processes
/// Under MPI (a build with PSGM_ENABLE_MPI, started by mpirun) the psgm
/// process is one of several ranks of MPI_COMM_WORLD (src/cli/processes.cpp,
/// docs/scaling.md §2). Only the root, rank 0, shows progress and prints
/// to stdout; without MPI every process is the root of a job of one.
bool is_root_process();
int process_rank();
int process_count();
/// Whether main() should start MPI (an MPI build only): when an MPI launcher
/// started this process (mpirun/mpiexec of Open MPI, MPICH or Intel MPI, or
/// srun with PMI or PMIx: their rank variables are set), or when the
/// environment says so (PSGM_MPI=on; PSGM_MPI=off never starts it). A psgm
/// started on its own runs as a job of one without MPI, as a build without
/// MPI does: Open MPI's singleton start-up (it spawns an `orted` daemon)
/// costs about a second per command. Throws psgm::Error on a PSGM_MPI value
/// other than on/off/auto.
bool mpi_requested();
/// MPI is initialised and not yet finalised: the commands that share their
/// work take psgm::mpi's path over MPI_COMM_WORLD, otherwise workflow's.
bool mpi_running();
/// Starts MPI now if it is not running (a job of one: `psgm train
/// --gradient-reduction reproducible` outside mpirun needs the reduction's
/// communicator); main() finalises it. An MPI build only.
void start_mpi();
/// `--mpi-output auto|direct|sharded` (psgm generate and psgm sample): how
/// the ranks of an mpirun job write the one output file (docs/scaling.md
/// §3), stored in `target` (default "auto"). Registered in MPI builds only;
/// without MPI the option does not exist and `target` keeps its value.
void add_mpi_output_option(CLI::App& app, std::string& target);

// ------------------------------------------------------------------ progress
/// Prints "label: done/total (pct) rate unit/s, ETA" to stderr, at most every
/// `interval` seconds and once at the end. Quiet when `enabled` is false,
/// and on every MPI rank but the root.
class Progress {
 public:
  Progress(std::string label, std::int64_t total, std::string unit, bool enabled = true, double interval = 1.0);
  void update(std::int64_t done, std::string const& extra = "");
  void finish(std::string const& extra = "");
  double elapsed_seconds() const;

 private:
  void print(std::int64_t done, std::string const& extra, bool final);
  std::string label_, unit_;
  std::int64_t total_;
  bool enabled_;
  double interval_;
  std::chrono::steady_clock::time_point start_, last_;
  std::int64_t last_done_ = 0;
};

/// "1h 02m", "3m 07s", "12.3 s"
std::string format_duration(double seconds);

/// Conditions the configuration lists itself: conditions.source = "list"
/// (conditions.list = [[l, U0, F_right], ...]) or "file" (conditions.file: a
/// CSV "l,U0,F_right" or an HDF5 file, data set conditions.dataset, default
/// "/conditions"). Throws InvalidArgument for any other source or a missing
/// or empty list.
/// While configuration_check_only() is true (psgm pipeline checks every
/// step's configuration before the files its later steps read exist), a
/// conditions file that does not exist yet stands for one placeholder row.
std::vector<pde::Condition> listed_conditions(Config const& cfg, std::string const& source);
/// The same for conditions of any schema (docs/data.md §7), as an (M, K)
/// table, K = schema.size(), row-major: for the porous electrode's schema the
/// rows of listed_conditions(); otherwise conditions.list rows of K values, a
/// CSV of K columns (an optional header must name the schema's columns), or an
/// HDF5 (M, K) data set (io::read_condition_table_hdf5). Every row is checked
/// by the schema (finite; > 0 in logarithmic columns).
std::vector<double> listed_condition_table(Config const& cfg, std::string const& source,
                                           model::ConditionSchema const& schema);
/// True while psgm pipeline validates its steps' configurations (--print-config
/// runs of each step) before running any of them.
bool& configuration_check_only();
/// Keys only one conditions.source reads (conditions.list: "list";
/// conditions.file and conditions.dataset: "file") must not be set for
/// another source: a silently ignored list is worse than an error.
void require_condition_keys_match(Config const& cfg, std::string const& source);

/// Probe observations from FILE (docs/posterior.md §1): TOML, an array of
/// [[observation]] tables with channel (a name of `channels` or an index), x,
/// value, noise_std; anything else is read as CSV (a header
/// channel,x,value,noise_std). Here, in command.cpp, because toml++ is
/// compiled by the host compiler alone in CUDA builds.
std::vector<posterior::Observation> read_observations(std::string const& path, std::vector<std::string> const& channels);

/// Ctrl-C and SIGTERM while a command runs: the handlers installed by the
/// scope only raise a flag; the command polls interrupted() between units of
/// work (a batch, a training step), stops cleanly (a checkpoint, or no
/// output at all) and ends with a non-zero status: it throws Interrupted, or
/// returns interrupted_exit_code(). Scopes nest (psgm pipeline runs the
/// other commands inside its own): only the outermost clears the flag, so a
/// signal during a step still stops the pipeline. The previous handlers are
/// restored when the scope ends.
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(InterruptScope const&) = delete;
  InterruptScope& operator=(InterruptScope const&) = delete;
  static bool interrupted();
  /// The signal that interrupted the run (SIGINT, SIGTERM), 0 if none.
  static int signal_number();
  /// 128 + the signal, as a shell reports a process the signal ended: 130
  /// for Ctrl-C, 143 for SIGTERM.
  static int interrupted_exit_code();

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

/// Thrown by a command that stopped on SIGINT/SIGTERM after leaving a
/// consistent state; main() reports it and exits with
/// InterruptScope::interrupted_exit_code().
class Interrupted : public Error {
 public:
  using Error::Error;
};

}  // namespace cli
}  // namespace psgm
