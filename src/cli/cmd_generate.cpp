// `psgm generate`: porosity fields in, an HDF5 data set of (c, φ) fields out
// (spec model.md; docs/data.md). This file reads the configuration, states
// the output policy and reports; the run itself is the library call
// psgm::workflow::generate (docs/workflow.md) on Kokkos' default execution
// space: per condition, R porosity fields are drawn (GP, or taken from a
// user file), solved in batches and streamed to the file. Every realisation
// is stored with its status.
#include "Command.hpp"
#include "OutputPolicy.hpp"

#include <psgm/Config.hpp>

#include <psgm/core/Error.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/PorosityFile.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/workflow/Generate.hpp>
#if PSGM_ENABLE_MPI
#include <psgm/mpi/Generate.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_generate {

using psgm::require;
using psgm::cli::Config;
using psgm::cli::InterruptScope;

// ------------------------------------------------------------------ presets
// The reference data set of spec model.md §7, every option spelled out.
std::string preset_text(std::string const& name, std::int64_t count) {
  std::ostringstream os;
  os << "# psgm generate, preset '" << name << "'" << R"(
[run]
seed = 2024               # one seed drives the condition design and every porosity draw
batch_size = 0            # realisations per batch; 0: automatic (memory_budget_mb, progress)
memory_budget_mb = 1024   # device memory the batches may take (automatic batch size)
chunk_samples = 0         # samples per HDF5 chunk; 0: about 256 KiB per chunk
deflate_level = 0         # gzip level of the sample data sets, 0..9 (0: none)

[pde]                     # spec model.md §1, §3-6; docs/model.md
L = 1e-4                  # electrode thickness [m]
N = 100                   # cells
kappa0 = 1.0              # bulk conductivity [S/m]
D0 = 3e-11                # bulk diffusivity [m^2/s]
bruggeman = 1.5
a0 = 5e5                  # specific surface area scale [1/m]
k_rn = 0.1                # reaction rate
G = 1e3                   # solid potential gradient [V/m]
t_plus = 0.4
faraday = 96485.33212
c0 = 1000.0               # initial concentration [mol/m^3]
c_right = 1000.0          # Dirichlet concentration on the last cell
time_integration = "transient"   # "transient" (int(T/dt) implicit-Euler steps) or "steady"
dt = 0.1                  # [s]
T = 100.0                 # [s]
kinetics = "linear"       # "linear" (reference) or "butler_volmer"
alpha_a = 0.5             # Butler-Volmer only, from here on
alpha_c = 0.5
gamma = 0.5
temperature = 298.15      # [K]
gas_constant = 8.314462618
# c_ref = 1000.0          # default: c0
# i0 = 2.57e-3            # default: k_rn R T / F
newton_tolerance = 1e-10
newton_max_iterations = 50

[porosity]                # spec model.md §2
source = "gp"             # "gp": Gaussian-process draws; "file": fields from an HDF5 file
kernel = "squared_exponential"   # or "matern32", "matern52"
sigma = 1.0
nugget = 1e-4
map = "sigmoid"           # or "gaussian_cdf"
epsilon_min = 0.2
epsilon_max = 0.5
factorization = "automatic"      # or "cholesky", "eigen"
# file = "porosity.h5"    # source = "file": (count, N) or (N) fields; realisation r uses field r mod count
# dataset = "/porosity"

[conditions]              # spec model.md §7
source = "random"         # "random", "heldout" (held-out design, same ranges), "list", "file"
)" << "count = " << count << R"(
realisations = 25         # porosity realisations per condition
# l_min = 2e-6            # default L/50
# l_max = 2e-5            # default L/5
l_spacing = "log_uniform" # or "uniform"
U0_min = -0.2
U0_max = 0.2
F_right_min = 0.0
F_right_max = 50.0
# list = [[1e-5, 0.0, 25.0]]     # source = "list": (l, U0, F_right) triplets
# file = "conditions.csv"        # source = "file": CSV "l,U0,F_right" or HDF5 (M, 3)
# dataset = "/conditions"        # HDF5 data set for source = "file"
)";
  return os.str();
}

std::vector<std::pair<std::string, std::string>> const& presets() {
  static std::vector<std::pair<std::string, std::string>> const p{
      {"reference", preset_text("reference", psgm::pde::reference_num_conditions)},
      {"small", preset_text("small", 40)},
  };
  return p;
}

// ------------------------------------------------------------------ settings
struct Settings {
  psgm::pde::ElectrodeParameters pde;
  psgm::gp::PorosityModel porosity;
  std::string porosity_source;
  std::string porosity_file, porosity_dataset;
  std::string conditions_source;
  std::vector<psgm::pde::Condition> conditions;
  std::int64_t realisations = 0;
  std::int64_t seed = 0;
  std::int64_t batch_size = 0;
  double memory_budget_mb = 0;
  std::int64_t chunk_samples = 0;
  int deflate_level = 0;
};

// Re-throws an InvalidArgument from a validate() with the configuration section named.
template <class F>
void validated(char const* section, F&& f) {
  try {
    f();
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration [") + section + "]: " + e.what());
  }
}

Settings read_settings(Config const& cfg) {
  Settings s;
  // ---- run
  s.seed = cfg.get<std::int64_t>("run.seed");
  require(s.seed >= 0, "configuration: run.seed = ", s.seed, " must be >= 0");
  s.batch_size = cfg.get<std::int64_t>("run.batch_size");
  require(s.batch_size >= 0, "configuration: run.batch_size = ", s.batch_size, " must be >= 0 (0: automatic)");
  s.memory_budget_mb = cfg.get<double>("run.memory_budget_mb");
  require(s.memory_budget_mb > 0, "configuration: run.memory_budget_mb = ", s.memory_budget_mb, " must be > 0");
  s.chunk_samples = cfg.get<std::int64_t>("run.chunk_samples");
  require(s.chunk_samples >= 0, "configuration: run.chunk_samples = ", s.chunk_samples, " must be >= 0 (0: automatic)");
  s.deflate_level = cfg.get<int>("run.deflate_level");
  require(s.deflate_level >= 0 && s.deflate_level <= 9, "configuration: run.deflate_level = ", s.deflate_level,
          " must be in 0..9");

  // ---- pde
  auto& p = s.pde;
  p.L = cfg.get<double>("pde.L");
  p.N = cfg.get<int>("pde.N");
  p.kappa0 = cfg.get<double>("pde.kappa0");
  p.D0 = cfg.get<double>("pde.D0");
  p.bruggeman = cfg.get<double>("pde.bruggeman");
  p.a0 = cfg.get<double>("pde.a0");
  p.k_rn = cfg.get<double>("pde.k_rn");
  p.G = cfg.get<double>("pde.G");
  p.t_plus = cfg.get<double>("pde.t_plus");
  p.faraday = cfg.get<double>("pde.faraday");
  p.c0 = cfg.get<double>("pde.c0");
  p.c_right = cfg.get<double>("pde.c_right");
  p.dt = cfg.get<double>("pde.dt");
  p.T = cfg.get<double>("pde.T");
  validated("pde", [&] {
    p.mode = psgm::pde::concentration_mode_from_string(cfg.get<std::string>("pde.time_integration"));
    p.kinetics = psgm::pde::kinetics_from_string(cfg.get<std::string>("pde.kinetics"));
  });
  p.alpha_a = cfg.get<double>("pde.alpha_a");
  p.alpha_c = cfg.get<double>("pde.alpha_c");
  p.gamma = cfg.get<double>("pde.gamma");
  p.temperature = cfg.get<double>("pde.temperature");
  p.gas_constant = cfg.get<double>("pde.gas_constant");
  if (cfg.has("pde.c_ref")) p.c_ref = cfg.get<double>("pde.c_ref");
  if (cfg.has("pde.i0")) p.i0 = cfg.get<double>("pde.i0");
  p.newton_tolerance = cfg.get<double>("pde.newton_tolerance");
  p.newton_max_iterations = cfg.get<int>("pde.newton_max_iterations");
  validated("pde", [&] { p.validate(); });

  // ---- porosity
  auto& g = s.porosity;
  s.porosity_source = cfg.get<std::string>("porosity.source");
  validated("porosity", [&] {
    g.kernel = psgm::gp::covariance_kernel_from_string(cfg.get<std::string>("porosity.kernel"));
    g.map = psgm::gp::porosity_map_from_string(cfg.get<std::string>("porosity.map"));
    g.factorization = psgm::gp::factorization_from_string(cfg.get<std::string>("porosity.factorization"));
  });
  g.sigma = cfg.get<double>("porosity.sigma");
  g.nugget = cfg.get<double>("porosity.nugget");
  g.epsilon_min = cfg.get<double>("porosity.epsilon_min");
  g.epsilon_max = cfg.get<double>("porosity.epsilon_max");
  validated("porosity", [&] { g.validate(); });
  if (s.porosity_source == "file") {
    require(cfg.has("porosity.file"), "configuration: porosity.source = 'file' needs porosity.file (an HDF5 file)");
    s.porosity_file = cfg.get<std::string>("porosity.file");
    s.porosity_dataset = cfg.get_or<std::string>("porosity.dataset", "/porosity");
  } else {
    require(s.porosity_source == "gp", "configuration: porosity.source = '", s.porosity_source,
            "'; expected 'gp' or 'file'");
    for (char const* key : {"porosity.file", "porosity.dataset"})
      require(!cfg.has(key), "configuration: ", key, " is set, but porosity.source = 'gp' does not read a file "
              "(set porosity.source = 'file')");
  }

  // ---- conditions
  s.conditions_source = cfg.get<std::string>("conditions.source");
  s.realisations = cfg.get<std::int64_t>("conditions.realisations");
  require(s.realisations >= 1, "configuration: conditions.realisations = ", s.realisations, " must be >= 1");
  psgm::pde::ConditionRanges ranges = psgm::pde::ConditionRanges::reference(p.L);
  ranges.l_min = cfg.get_or<double>("conditions.l_min", ranges.l_min);
  ranges.l_max = cfg.get_or<double>("conditions.l_max", ranges.l_max);
  validated("conditions", [&] {
    ranges.l_spacing = psgm::pde::spacing_from_string(cfg.get<std::string>("conditions.l_spacing"));
  });
  ranges.U0_min = cfg.get<double>("conditions.U0_min");
  ranges.U0_max = cfg.get<double>("conditions.U0_max");
  ranges.F_right_min = cfg.get<double>("conditions.F_right_min");
  ranges.F_right_max = cfg.get<double>("conditions.F_right_max");
  std::int64_t const count = cfg.get<std::int64_t>("conditions.count");
  bool const random = s.conditions_source == "random" || s.conditions_source == "heldout";
  psgm::cli::require_condition_keys_match(cfg, s.conditions_source);
  if (random) {
    require(count >= 1, "configuration: conditions.count = ", count, " must be >= 1");
    // The design is built in memory (about 64 bytes per condition): refuse
    // what cannot fit before allocating it.
    double const design_mb = 64.0 * double(count) / 1048576.0;
    require(design_mb <= s.memory_budget_mb, "configuration: conditions.count = ", count, " needs ",
            psgm::cli::format_mib(design_mb), " for the condition design alone, more than run.memory_budget_mb = ",
            s.memory_budget_mb, " MiB; at most ", std::int64_t(s.memory_budget_mb * 1048576.0 / 64.0),
            " conditions fit (raise the budget, or split the run)");
    validated("conditions", [&] { ranges.validate(); });
    s.conditions = s.conditions_source == "random"
                       ? psgm::pde::random_conditions(ranges, count, static_cast<std::uint64_t>(s.seed))
                       : psgm::pde::heldout_conditions(ranges, count, static_cast<std::uint64_t>(s.seed));
  } else if (s.conditions_source == "list" || s.conditions_source == "file") {
    s.conditions = psgm::cli::listed_conditions(cfg, s.conditions_source);
  } else {
    require(false, "configuration: conditions.source = '", s.conditions_source,
            "'; expected 'random', 'heldout', 'list' or 'file'");
  }
  return s;
}

// ------------------------------------------------------------------ the run
struct Options {
  std::string output;
  psgm::workflow::Shard shard;
  std::string mpi_output = "auto";  ///< --mpi-output: how the ranks write the one file (docs/scaling.md §3)
  bool overwrite = false;
  bool quiet = false;
  bool print_config = false;
};

/// The library call (psgm::workflow::generate) with this command's
/// configuration, progress, interrupts and summary.
template <class ExecSpace>
int generate(Settings const& s, Options const& options, std::string const& config_toml) {
  ExecSpace space;
  psgm::workflow::GenerateOptions o;
  o.pde = s.pde;
  o.conditions = s.conditions;
  o.realisations = s.realisations;
  o.seed = static_cast<std::uint64_t>(s.seed);
  o.batch_size = s.batch_size;
  o.memory_budget_mb = s.memory_budget_mb;
  o.output = options.output;
  o.writer.overwrite = options.overwrite;
  o.writer.chunk_samples = s.chunk_samples;
  o.writer.deflate_level = s.deflate_level;
  o.shard = options.shard;
  int const N = s.pde.N;
  std::int64_t const M = static_cast<std::int64_t>(s.conditions.size());
  std::int64_t const R = s.realisations;

  // User porosity fields (validated: finite, in (0, 1), N cells).
  psgm::io::PorosityFields user_fields;
  if (s.porosity_source == "file") {
    user_fields = psgm::io::read_porosity_fields(s.porosity_file, s.porosity_dataset, N);
    if (user_fields.count != R && !options.quiet)
      std::cerr << "psgm generate: note: " << R << " realisations per condition cycle through the "
                << user_fields.count << " porosity field(s) of '" << s.porosity_file
                << "' (set conditions.realisations = " << user_fields.count << " to use each once)\n";
    o.porosity = psgm::workflow::PorositySource::from_fields(psgm::workflow::PorositySource::host_fields_view(
        user_fields.values.data(), user_fields.count, N));
    o.attributes.set("porosity_file", s.porosity_file);
    o.attributes.set("porosity_dataset", s.porosity_dataset);
  } else {
    o.porosity = psgm::workflow::PorositySource::gaussian_process(s.porosity);
  }
  o.attributes.set("conditions_source", s.conditions_source);
  o.attributes.set("generator", "psgm generate");
  o.attributes.set("config_toml", config_toml);

  // Sizes that cannot fit are refused before anything is written (the
  // library's memory checks, then the disk).
  psgm::workflow::GeneratePlan const plan = psgm::workflow::plan_generate(space, o);
  psgm::cli::require_disk_space("psgm generate", options.output, double(plan.size()) * (3.0 * N + 2.0) * 8.0);
  std::string const part =
      o.shard.is_whole() ? std::string() : ", shard " + o.shard.to_string() + ": samples " +
                                               std::to_string(plan.first) + " to " + std::to_string(plan.last - 1);
  if (!options.quiet)
    std::cerr << "psgm generate: " << M << " conditions x " << R << " realisations = " << plan.total
              << " realisations" << part << " (N = " << N << ", " << psgm::pde::to_string(s.pde.kinetics)
              << " kinetics, " << psgm::pde::to_string(s.pde.mode) << ") on " << ExecSpace::name()
              << " (concurrency " << space.concurrency() << "), batches of " << plan.max_batch << " -> "
              << options.output << '\n';

  // Signals are caught from before the temporary output exists: a Ctrl-C
  // at any point from here on removes it instead of leaving it behind.
  InterruptScope signals;
  std::unique_ptr<psgm::cli::Progress> progress;
  auto const report = [&](std::int64_t done, std::int64_t total, std::string const& statuses) {
    if (InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm generate stopped after " + std::to_string(done) + " of " +
                                   std::to_string(total) + " realisations; no file was written to '" +
                                   options.output + "'");
    // Under MPI the progress is rank 0's, of its block of the realisations.
    if (!progress)
      progress = std::make_unique<psgm::cli::Progress>(
          psgm::cli::process_count() > 1 ? "generate (rank 0's part)" : "generate", total, "realisations",
          !options.quiet);
    progress->update(done, statuses);
  };
  psgm::workflow::GenerateResult const result = [&] {
#if PSGM_ENABLE_MPI
    // Under an MPI launcher each rank of MPI_COMM_WORLD computes one block
    // of the realisations (docs/scaling.md); one rank: workflow::generate.
    if (psgm::cli::mpi_running())
      return psgm::mpi::generate(space, MPI_COMM_WORLD, o, report, psgm::mpi::parse_output_path(options.mpi_output));
#endif
    return psgm::workflow::generate(space, o, report);
  }();
  std::string const statuses = psgm::workflow::status_summary(result.status_counts);
  if (progress) progress->finish(statuses);
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm generate: the signal came as '" + options.output +
                                 "' was being completed; it is complete and kept");

  // Summary (stdout): what was written, how it went, how to cite the data.
  std::string const sha = psgm::io::DatasetReader(options.output).content_sha256();
  std::error_code ec;
  auto const bytes = std::filesystem::file_size(options.output, ec);
  char size[32];
  std::snprintf(size, sizeof size, "%.2f MiB", ec ? 0.0 : bytes / 1048576.0);
  std::int64_t const written = plan.size();
  std::cout << "psgm generate: wrote " << written << " realisations (";
  if (o.shard.is_whole())
    std::cout << M << " conditions x " << R;
  else
    std::cout << "shard " << o.shard.to_string() << " of " << M << " conditions x " << R << ": samples "
              << plan.first << " to " << plan.last - 1;
  std::cout << ", N = " << N << ") to " << options.output << " (" << size << ")\n"
            << "  status: " << statuses << '\n';
  std::int64_t const not_ok = written - result.status_counts[0];
  if (not_ok > 0)
    std::cout << "  " << not_ok << " realisation(s) are not ok; they are stored with their status "
              << "(training reads only status == ok)\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %.3g s wall (porosity + solve %.3g s, write %.3g s): %.4g realisations/s on %s\n",
                result.wall_s, result.compute_s, result.write_s, written / result.wall_s, ExecSpace::name());
  std::cout << line << "  content sha256: " << sha << '\n';
  if (!o.shard.is_whole())
    std::cout << "  (the sha256 of this shard's content; psgm merge joins the " << o.shard.count
              << " shards into the file of one run)\n";
  return 0;
}

psgm::cli::RegisterCommand generate_command(
    "generate", "solve porous-electrode ensembles and write them to an HDF5 data set",
    [](CLI::App& app) -> std::function<int()> {
      std::vector<std::string> names;
      for (auto const& [name, text] : presets()) names.push_back(name);
      auto config = psgm::cli::add_config_options(app, "reference", names);
      auto options = std::make_shared<Options>();
      auto seed = std::make_shared<std::int64_t>(0);
      app.add_option("-o,--output", options->output, "data set file to write (HDF5)");
      app.add_flag("--overwrite", options->overwrite, "replace the output file if it exists");
      CLI::Option* seed_option = app.add_option("--seed", *seed, "random seed (same as --set run.seed=SEED)");
      app.add_flag("-q,--quiet", options->quiet, "no progress on stderr");
      app.add_flag("--print-config", options->print_config, "print the effective configuration and exit");
      psgm::cli::add_mpi_output_option(app, options->mpi_output);
      auto shard = std::make_shared<std::string>();
      app.add_option("--shard", *shard,
                     "i/n: write only part i (0 ... n-1) of n contiguous parts of the samples; psgm merge joins "
                     "the n files into the file of one run (docs/workflow.md)");
      app.footer(
          "Examples:\n"
          "  psgm generate --preset small -o small.h5\n"
          "  psgm generate -o reference.h5                      # the reference data set (1000 x 25)\n"
          "  psgm generate --preset small -o bv.h5 --set pde.kinetics=butler_volmer --set pde.time_integration=steady\n"
          "  psgm generate -o mine.h5 --set conditions.source=list --set 'conditions.list=[[1e-5, 0.0, 25.0]]'\n"
          "  psgm generate -o part0.h5 --shard 0/4                # part 0 of 4 (then: psgm merge part*.h5 -o all.h5)\n"
          "See docs/data.md for every option and the file format.");
      return [config, options, seed, seed_option, shard]() {
        if (!psgm::cli::is_root_process()) options->quiet = true;  // under MPI, rank 0 reports
        auto overrides = config->overrides;
        if (seed_option->count() > 0) overrides.push_back("run.seed=" + std::to_string(*seed));
        Config cfg = Config::load(config->preset, presets(), config->file, overrides);
        Settings const settings = read_settings(cfg);
        cfg.reject_unknown_keys();
        if (!shard->empty()) try {
          options->shard = psgm::workflow::Shard::parse(*shard);
        } catch (psgm::InvalidArgument const& e) {
          throw psgm::InvalidArgument(std::string("psgm generate: --shard: ") + e.what());
        }
        if (options->print_config) {
          std::cout << cfg.to_toml() << '\n';
          return 0;
        }
        require(!options->output.empty(), "psgm generate: no output file; pass -o FILE.h5");
        psgm::cli::OutputPolicy policy("psgm generate", options->overwrite);
        policy.input(settings.porosity_file, "porosity file");
        if (settings.conditions_source == "file") policy.input(cfg.get<std::string>("conditions.file"), "conditions file");
        policy.output(options->output, "output file", {psgm::io::dataset_format});
        policy.check();
        return generate<Kokkos::DefaultExecutionSpace>(settings, *options, cfg.to_toml());
      };
    });

}  // namespace cmd_generate
}  // namespace
