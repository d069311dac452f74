// `psgm generate`: porosity fields in, an HDF5 data set of (c, φ) fields out
// (spec model.md; docs/data.md). Conditions are processed in batches on
// Kokkos' default execution space: per condition, R porosity fields are drawn
// (GP, or taken from a user file), then the whole batch is solved at once and
// streamed to the file. Every realisation is stored with its status.
#include "Command.hpp"
#include "OutputPolicy.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/gp/PorositySampler.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/PorosityFile.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/EnsembleSolver.hpp>

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
  bool overwrite = false;
  bool quiet = false;
  bool print_config = false;
};

template <class ExecSpace>
int generate(Settings const& s, Options const& options, std::string const& config_toml) {
  psgm::ScopedRegion region("psgm::cli::generate");
  using memory_space = typename ExecSpace::memory_space;
  using Sampler = psgm::gp::PorositySampler<ExecSpace>;
  using Solver = psgm::pde::EnsembleSolver<ExecSpace>;
  ExecSpace space;
  auto const t_start = std::chrono::steady_clock::now();

  int const N = s.pde.N;
  std::int64_t const M = static_cast<std::int64_t>(s.conditions.size());
  std::int64_t const R = s.realisations;
  std::int64_t const total = M * R;
  std::vector<double> const x = s.pde.cell_centres();

  // User porosity fields (validated: finite, in (0, 1), N cells).
  psgm::io::PorosityFields user_fields;
  if (s.porosity_source == "file") {
    user_fields = psgm::io::read_porosity_fields(s.porosity_file, s.porosity_dataset, N);
    if (user_fields.count != R && !options.quiet)
      std::cerr << "psgm generate: note: " << R << " realisations per condition cycle through the "
                << user_fields.count << " porosity field(s) of '" << s.porosity_file
                << "' (set conditions.realisations = " << user_fields.count << " to use each once)\n";
  }

  // Batch size, in whole conditions: at most memory_budget_mb of device
  // memory (a generous 32 N doubles per realisation covers porosity, fields,
  // the solver's and the GP's workspaces), and otherwise about 1/20 of the run
  // so that progress is reported, but never fewer realisations than keep the
  // execution space busy (64 per unit of concurrency).
  double const bytes_per_item = 32.0 * 8.0 * N;
  // Sizes that cannot fit are refused before anything is allocated or
  // written, with what they would need: the GP's N x N covariance and its
  // factor, one condition's realisations (a batch holds whole conditions),
  // and the file on its disk.
  double const budget_bytes = s.memory_budget_mb * 1048576.0;
  if (s.porosity_source == "gp")
    require(3.0 * 8.0 * double(N) * N <= budget_bytes, "psgm generate: pde.N = ", N, " needs ",
            psgm::cli::format_mib(3.0 * 8.0 * double(N) * N / 1048576.0),
            " for the Gaussian process's N x N covariance and factor, more than run.memory_budget_mb = ",
            s.memory_budget_mb, " MiB");
  require(double(R) * bytes_per_item <= budget_bytes, "psgm generate: conditions.realisations = ", R, " needs ",
          psgm::cli::format_mib(double(R) * bytes_per_item / 1048576.0),
          " for one condition's batch (batches hold whole conditions), more than run.memory_budget_mb = ",
          s.memory_budget_mb, " MiB; at most ", std::int64_t(budget_bytes / bytes_per_item),
          " realisations per condition fit (raise the budget, or lower conditions.realisations)");
  psgm::cli::require_disk_space("psgm generate", options.output, double(total) * (3.0 * N + 2.0) * 8.0);
  auto const memory_items = static_cast<std::int64_t>(s.memory_budget_mb * 1024 * 1024 / bytes_per_item);
  std::int64_t items = s.batch_size;
  if (items == 0) {
    std::int64_t const busy = 64 * static_cast<std::int64_t>(space.concurrency());
    items = std::max<std::int64_t>((total + 19) / 20, busy);
    items = std::min(items, std::max<std::int64_t>(memory_items, 1));
  }
  std::int64_t const conditions_per_batch = std::clamp<std::int64_t>(items / R, 1, M);
  std::int64_t const max_batch = conditions_per_batch * R;
  require(max_batch <= std::numeric_limits<int>::max(), "batch of ", max_batch, " realisations is too large");

  // Attributes: the physics, the provenance, the configuration.
  psgm::io::AttributeMap attributes = psgm::io::physics_attributes(s.pde, s.porosity);
  attributes.set("seed", s.seed);
  attributes.set("kokkos_backend", ExecSpace::name());
  attributes.set("kokkos_concurrency", static_cast<std::int64_t>(space.concurrency()));
  attributes.set("realisations_per_condition", R);
  attributes.set("porosity_source", s.porosity_source);
  if (s.porosity_source == "file") {
    attributes.set("porosity_file", s.porosity_file);
    attributes.set("porosity_dataset", s.porosity_dataset);
  }
  attributes.set("conditions_source", s.conditions_source);
  attributes.set("generator", "psgm generate");
  attributes.set("config_toml", config_toml);
  psgm::io::DatasetWriterOptions wopts;
  wopts.overwrite = options.overwrite;
  wopts.chunk_samples = s.chunk_samples;
  wopts.deflate_level = s.deflate_level;
  // Signals are caught from before the temporary output exists: a Ctrl-C
  // at any point from here on removes it instead of leaving it behind.
  InterruptScope signals;
  psgm::io::DatasetWriter writer(options.output, x, s.conditions, attributes, wopts);

  // Device and host buffers, allocated once for the largest batch.
  std::unique_ptr<Sampler> sampler;
  if (s.porosity_source == "gp") sampler = std::make_unique<Sampler>(space, s.porosity, x);
  Solver solver(space, s.pde, static_cast<int>(max_batch));
  typename Sampler::field_view porosity(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::cli::generate::porosity"), max_batch, N);
  Kokkos::View<double*, memory_space> U0(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::cli::generate::U0"),
                                         max_batch);
  Kokkos::View<double*, memory_space> F_right(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::cli::generate::F_right"), max_batch);
  typename Solver::fields_view fields(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::cli::generate::fields"), max_batch, 2, N);
  typename Solver::status_view status(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::cli::generate::status"), max_batch);
  auto h_porosity = Kokkos::create_mirror_view(porosity);
  auto h_U0 = Kokkos::create_mirror_view(U0);
  auto h_F_right = Kokkos::create_mirror_view(F_right);
  auto h_fields = Kokkos::create_mirror_view(fields);
  auto h_status = Kokkos::create_mirror_view(status);
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> h_index("psgm::cli::generate::condition_index", max_batch);

  if (!options.quiet)
    std::cerr << "psgm generate: " << M << " conditions x " << R << " realisations = " << total
              << " realisations (N = " << N << ", " << psgm::pde::to_string(s.pde.kinetics) << " kinetics, "
              << psgm::pde::to_string(s.pde.mode) << ") on " << ExecSpace::name() << " (concurrency "
              << space.concurrency() << "), batches of " << max_batch << " -> " << options.output << '\n';

  psgm::cli::Progress progress("generate", total, "realisations", !options.quiet);
  std::vector<std::int64_t> counts(psgm::num_solve_statuses, 0);
  double compute_s = 0, write_s = 0;
  auto status_text = [&] {
    std::ostringstream os;
    for (int k = 0; k < psgm::num_solve_statuses; ++k)
      if (k == 0 || counts[k] > 0)
        os << (k ? ", " : "") << psgm::to_string(static_cast<psgm::SolveStatus>(k)) << ' ' << counts[k];
    return os.str();
  };

  for (std::int64_t m0 = 0; m0 < M; m0 += conditions_per_batch) {
    if (InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm generate stopped after " + std::to_string(writer.size()) + " of " +
                                   std::to_string(total) + " realisations; no file was written to '" +
                                   options.output + "'");
    auto const t0 = std::chrono::steady_clock::now();
    std::int64_t const m1 = std::min(M, m0 + conditions_per_batch);
    std::int64_t const B = (m1 - m0) * R;
    auto const rows = std::make_pair(std::int64_t(0), B);
    for (std::int64_t m = m0; m < m1; ++m)
      for (std::int64_t r = 0; r < R; ++r) {
        std::int64_t const b = (m - m0) * R + r;
        h_U0(b) = s.conditions[m].U0;
        h_F_right(b) = s.conditions[m].F_right;
        h_index(b) = m;
      }
    Kokkos::deep_copy(space, Kokkos::subview(U0, rows), Kokkos::subview(h_U0, rows));
    Kokkos::deep_copy(space, Kokkos::subview(F_right, rows), Kokkos::subview(h_F_right, rows));
    // Porosity: realisation r of condition m is item m R + r of the porosity
    // stream, so a field depends on (seed, m, r) only, not on the batching.
    if (sampler) {
      for (std::int64_t m = m0; m < m1; ++m) {
        auto const mine = std::make_pair((m - m0) * R, (m - m0 + 1) * R);
        sampler->sample(space, s.conditions[m].l, static_cast<std::uint64_t>(s.seed), m * R,
                        Kokkos::subview(porosity, mine, Kokkos::ALL));
      }
    } else {
      for (std::int64_t b = 0; b < B; ++b) {
        std::int64_t const field = (b % R) % user_fields.count;
        for (int i = 0; i < N; ++i) h_porosity(b, i) = user_fields(field, i);
      }
      Kokkos::deep_copy(space, Kokkos::subview(porosity, rows, Kokkos::ALL), Kokkos::subview(h_porosity, rows, Kokkos::ALL));
    }
    solver.solve(space, Kokkos::subview(porosity, rows, Kokkos::ALL), Kokkos::subview(U0, rows),
                 Kokkos::subview(F_right, rows), Kokkos::subview(fields, rows, Kokkos::ALL, Kokkos::ALL),
                 Kokkos::subview(status, rows));
    Kokkos::deep_copy(space, Kokkos::subview(h_fields, rows, Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(fields, rows, Kokkos::ALL, Kokkos::ALL));
    Kokkos::deep_copy(space, Kokkos::subview(h_status, rows), Kokkos::subview(status, rows));
    if (sampler)
      Kokkos::deep_copy(space, Kokkos::subview(h_porosity, rows, Kokkos::ALL), Kokkos::subview(porosity, rows, Kokkos::ALL));
    space.fence();  // the host writes this batch next
    auto const t1 = std::chrono::steady_clock::now();
    writer.append(Kokkos::subview(h_fields, rows, Kokkos::ALL, Kokkos::ALL), Kokkos::subview(h_index, rows),
                  Kokkos::subview(h_status, rows), Kokkos::subview(h_porosity, rows, Kokkos::ALL));
    for (std::int64_t b = 0; b < B; ++b) ++counts[static_cast<int>(h_status(b))];
    auto const t2 = std::chrono::steady_clock::now();
    compute_s += std::chrono::duration<double>(t1 - t0).count();
    write_s += std::chrono::duration<double>(t2 - t1).count();
    progress.update(writer.size(), status_text());
  }
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm generate stopped after " + std::to_string(writer.size()) + " of " +
                                 std::to_string(total) + " realisations; no file was written to '" + options.output +
                                 "'");
  double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  psgm::io::AttributeMap timing;
  timing.set("wall_time_s", wall);
  writer.set_attributes(timing);
  writer.commit();
  progress.finish(status_text());
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm generate: the signal came as '" + options.output +
                                 "' was being completed; it is complete and kept");

  // Summary (stdout): what was written, how it went, how to cite the data.
  std::string const sha = psgm::io::DatasetReader(options.output).content_sha256();
  std::error_code ec;
  auto const bytes = std::filesystem::file_size(options.output, ec);
  char size[32];
  std::snprintf(size, sizeof size, "%.2f MiB", ec ? 0.0 : bytes / 1048576.0);
  std::cout << "psgm generate: wrote " << total << " realisations (" << M << " conditions x " << R << ", N = " << N
            << ") to " << options.output << " (" << size << ")\n"
            << "  status: " << status_text() << '\n';
  std::int64_t const not_ok = total - counts[0];
  if (not_ok > 0)
    std::cout << "  " << not_ok << " realisation(s) are not ok; they are stored with their status "
              << "(training reads only status == ok)\n";
  char line[256];
  std::snprintf(line, sizeof line, "  %.3g s wall (porosity + solve %.3g s, write %.3g s): %.4g realisations/s on %s\n",
                wall, compute_s, write_s, total / wall, ExecSpace::name());
  std::cout << line << "  content sha256: " << sha << '\n';
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
      app.footer(
          "Examples:\n"
          "  psgm generate --preset small -o small.h5\n"
          "  psgm generate -o reference.h5                      # the reference data set (1000 x 25)\n"
          "  psgm generate --preset small -o bv.h5 --set pde.kinetics=butler_volmer --set pde.time_integration=steady\n"
          "  psgm generate -o mine.h5 --set conditions.source=list --set 'conditions.list=[[1e-5, 0.0, 25.0]]'\n"
          "See docs/data.md for every option and the file format.");
      return [config, options, seed, seed_option]() {
        auto overrides = config->overrides;
        if (seed_option->count() > 0) overrides.push_back("run.seed=" + std::to_string(*seed));
        Config cfg = Config::load(config->preset, presets(), config->file, overrides);
        Settings const settings = read_settings(cfg);
        cfg.reject_unknown_keys();
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

}  // namespace
