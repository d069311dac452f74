// `psgm sample`: draw fields from a trained score model (docs/sampling.md §8).
// A model file, conditions (the reference condition, a list or a file), a
// sampler with its parameters and a sample count in; an HDF5 file with the
// data-set layout of docs/design.md §4 (without porosity) out, with the
// sampler, its configuration, the NFE and the wall time as attributes.
//
// Sample r of condition m is global sample m n + r: its noise depends on
// (seed, m n + r) only, so the file is the same whatever the batch size, and
// with the same seed, backend, precision and thread count it is identical.
#include "Command.hpp"
#include "OutputPolicy.hpp"
#include "SamplingCall.hpp"
#include "TorchModule.hpp"

#include <psgm/Config.hpp>

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/posterior/GuidedScore.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/workflow/Sample.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_sample {

using psgm::require;
using psgm::cli::Config;
using psgm::cli::InterruptScope;
using psgm::sde::SamplerConfig;
using psgm::sde::SamplerKind;

// ------------------------------------------------------------------ presets
/// "# name: key = default, ..." for every sampler of the name table.
std::string sampler_parameter_comments() {
  std::string out;
  for (auto const& name : psgm::sde::sampler_names()) {
    std::istringstream toml(SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(name)).to_toml());
    std::string line, keys;
    std::getline(toml, line);  // name = "..."
    while (std::getline(toml, line)) keys += (keys.empty() ? "" : ", ") + line;
    out += "# " + name + ": " + keys + "\n";
  }
  return out;
}

std::string preset_text(std::string const& name, char const* sampler, std::int64_t samples) {
  std::ostringstream os;
  os << "# psgm sample, preset '" << name << "' (docs/sampling.md)" << R"(
[sample]
seed = 2024               # drives the prior draws and every SDE increment (stream 'sampler_noise')
)" << "samples = " << samples << R"(        # per condition
backend = "native"        # "native" (Kokkos default execution space) or "libtorch"
dtype = "model"           # "model" (the precision the weights were stored in), "float32" or "float64"
batch_size = 0            # samples per batch; 0: automatic (memory_budget_mb)
memory_budget_mb = 1024   # memory the sampler and the network may take (automatic batch size)
# grid_from = "data.h5"   # data set whose grid and physics the output records;
                          # default: the model's training data set if it can be read, else L below
L = 1e-4                  # electrode thickness [m] for the grid when no data set is read
# guidance = "jacobian"   # posterior sampling (--observe) of a score model: "jacobian" (the model's
                          # Jacobian, 1 + m evaluations per step for m probes) or "prior_covariance"
                          # (no extra evaluation; docs/posterior.md §3)
# refine_steps = 0        # posterior sampling of a score model: Langevin refinement steps after the
# refine_step = 0         # guided integration, one evaluation each; h (contraction exp(-h) per step;
                          # 0: automatic, stable for any prior: about refine_sigma^2 / 10)
# refine_sigma = 0.05     # and the noise level of the prior's score (docs/posterior.md §3)

[sampler]
)" << "name = \"" << sampler << "\"" << R"(
# Unset parameters take the sampler's defaults; each sampler takes only its
# own (docs/sampling.md §2-§4; steps of edm_heun: sigma levels, NFE = 2 steps - 1;
# grid: "quadratic", "uniform", "log_snr" or "karras"; t_start = t_end = 0: the model's interval):
)" << sampler_parameter_comments() << R"(
[conditions]
source = "reference"      # "reference" (l = L/10, U0 = 0, F_right = 25), "list", or "file"
# list = [[1e-5, 0.0, 25.0]]
# file = "conditions.csv" # CSV "l,U0,F_right" or HDF5 (M, 3); a model of other conditions: its K columns
# dataset = "/conditions" # HDF5 data set for source = "file"
)";
  return os.str();
}

std::vector<std::pair<std::string, std::string>> const& presets() {
  static std::vector<std::pair<std::string, std::string>> const p{
      {"reference", preset_text("reference", "stochastic_heun", 1000)},
      {"small", preset_text("small", "dpm_solver_2m", 100)},
  };
  return p;
}

// ------------------------------------------------------------------ settings
struct Settings {
  std::uint64_t seed = 0;
  std::int64_t samples = 0;
  std::string backend, dtype;
  std::int64_t batch_size = 0;
  double memory_budget_mb = 0;
  std::string grid_from;
  psgm::posterior::Guidance guidance = psgm::posterior::Guidance::jacobian;
  psgm::posterior::Refinement refinement;
  double L = 0;
  SamplerConfig sampler;
  std::string conditions_source;
  /// (M, K) rows of a list or file, read with the model's condition schema
  /// once the model is known (resolve_conditions()).
  std::vector<double> condition_table;
};

Settings read_settings(Config const& cfg) {
  Settings s;
  auto const seed = cfg.get<std::int64_t>("sample.seed");
  require(seed >= 0, "configuration: sample.seed = ", seed, " must be >= 0");
  s.seed = static_cast<std::uint64_t>(seed);
  s.samples = cfg.get<std::int64_t>("sample.samples");
  require(s.samples >= 1, "configuration: sample.samples = ", s.samples, " must be >= 1 (samples per condition)");
  s.backend = cfg.get<std::string>("sample.backend");
  require(s.backend == "native" || s.backend == "libtorch", "configuration: sample.backend = '", s.backend,
          "'; expected 'native' or 'libtorch'");
  s.dtype = cfg.get<std::string>("sample.dtype");
  require(s.dtype == "model" || s.dtype == "float32" || s.dtype == "float64", "configuration: sample.dtype = '",
          s.dtype, "'; expected 'model', 'float32' or 'float64'");
  s.batch_size = cfg.get<std::int64_t>("sample.batch_size");
  require(s.batch_size >= 0, "configuration: sample.batch_size = ", s.batch_size, " must be >= 0 (0: automatic)");
  s.memory_budget_mb = cfg.get<double>("sample.memory_budget_mb");
  require(s.memory_budget_mb > 0, "configuration: sample.memory_budget_mb = ", s.memory_budget_mb, " must be > 0");
  s.grid_from = cfg.get_or<std::string>("sample.grid_from", "");
  try {
    s.guidance = psgm::posterior::guidance_from_string(cfg.get_or<std::string>("sample.guidance", "jacobian"));
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration: sample.guidance: ") + e.what());
  }
  {
    psgm::posterior::Refinement const defaults;
    auto const steps = cfg.get_or<std::int64_t>("sample.refine_steps", defaults.steps);
    require(steps >= 0 && steps <= 1000000, "configuration: sample.refine_steps = ", steps,
            " must be in [0, 1000000] (0: no refinement)");
    s.refinement.steps = static_cast<int>(steps);
    s.refinement.step = cfg.get_or<double>("sample.refine_step", defaults.step);
    s.refinement.sigma = cfg.get_or<double>("sample.refine_sigma", defaults.sigma);
    try {
      s.refinement.validate();
    } catch (psgm::InvalidArgument const& e) {
      throw psgm::InvalidArgument(std::string("configuration: sample.refine_*: ") + e.what());
    }
  }
  s.L = cfg.get<double>("sample.L");
  require(s.L > 0 && std::isfinite(s.L), "configuration: sample.L = ", s.L, " must be finite and > 0");

  // ---- sampler: the named sampler's defaults, then every key given.
  try {
    auto& c = s.sampler;
    c = SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(cfg.get<std::string>("sampler.name")));
    // Each sampler takes its own keys; another sampler's is refused with the keys this one takes.
    for (auto const& key : psgm::sde::sampler_parameter_names())
      if (cfg.has("sampler." + key)) c.require_accepts(key);
    c.for_each_parameter([&](char const* name, auto& value) {
      std::string const key = std::string("sampler.") + name;
      if (!cfg.has(key)) return;
      using T = std::decay_t<decltype(value)>;
      if constexpr (std::is_same_v<T, psgm::sde::TimeGrid>)
        value = psgm::sde::time_grid_from_string(cfg.get<std::string>(key));
      else
        value = cfg.get<T>(key);
    });
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration [sampler]: ") + e.what());
  }

  // ---- conditions
  s.conditions_source = cfg.get<std::string>("conditions.source");
  psgm::cli::require_condition_keys_match(cfg, s.conditions_source);
  if (s.conditions_source == "reference") {
    // Resolved in run(), with the L of the grid (l = L/10).
  } else if (s.conditions_source == "list" || s.conditions_source == "file") {
    // Read in resolve_conditions(), with the columns the model takes; the keys are known here.
    if (cfg.has("conditions.list")) cfg.get_double_rows("conditions.list");
    if (cfg.has("conditions.file")) cfg.get<std::string>("conditions.file");
    if (s.conditions_source == "file") cfg.get_or<std::string>("conditions.dataset", "/conditions");
  } else {
    require(false, "configuration: conditions.source = '", s.conditions_source,
            "'; expected 'reference', 'list' or 'file'");
  }
  return s;
}

/// The listed conditions in the columns the model takes (its whitening's
/// schema; the porous electrode's (l, U0, F_right) for the reference model).
void resolve_conditions(Settings& s, Config const& cfg, psgm::model::ModelDescription const& model) {
  if (s.conditions_source == "reference") return;
  s.condition_table = psgm::cli::listed_condition_table(cfg, s.conditions_source, model.condition_schema());
}

struct Options {
  std::string model_path, output;
  std::string observe;  ///< --observe FILE: probe observations (CSV or TOML)
  psgm::workflow::Shard shard;
  std::string mpi_output = "auto";  ///< --mpi-output: how the ranks write the one file (docs/scaling.md §3)
  bool overwrite = false;
  bool quiet = false;
  bool print_config = false;
};

/// The grid and the physics the output records: from a data set (given, or
/// the model's training data if it can be read), else N cells on [0, L].
struct GridInfo {
  std::vector<double> x;
  psgm::io::AttributeMap physics;
  std::string source;
};
GridInfo grid_for(Settings const& s, psgm::model::ModelDescription const& model, bool quiet) {
  GridInfo g;
  int const N = model.field_points();
  std::string path = s.grid_from;
  bool const explicit_path = !path.empty();
  if (!explicit_path && !model.training.dataset_path.empty() && std::filesystem::exists(model.training.dataset_path))
    path = model.training.dataset_path;
  if (!path.empty()) {
    try {
      psgm::io::DatasetReader reader(path);
      auto const& info = reader.info();
      psgm::io::check_model_matches_data(model, info.num_channels(), info.num_points, "'" + path + "'");
      g.x = info.x;
      // The porous electrode's physics travels with its samples; other data sets have none psgm knows.
      if (info.schema.is_porous_electrode())
        g.physics = psgm::io::physics_attributes(psgm::io::electrode_parameters_from(info.attributes),
                                                 psgm::io::porosity_model_from(info.attributes));
      g.source = path;
      return g;
    } catch (psgm::Error const& e) {
      if (explicit_path) throw;
      if (!quiet)
        std::cerr << "psgm sample: note: the model's training data set '" << path
                  << "' gives no grid (" << e.what() << "); using N = " << N << " cells on L = " << s.L << '\n';
    }
  }
  psgm::pde::ElectrodeParameters p;
  p.L = s.L;
  p.N = N;
  g.x = p.cell_centres();
  g.physics.set("L", s.L);
  g.physics.set("N", N);
  g.source = "L";
  return g;
}

// ------------------------------------------------------------------ the run
/// The library call (psgm::workflow::sample) with this command's settings,
/// progress, interrupts and summary.
int run(Settings const& s, Options const& options, std::string const& config_toml,
        psgm::model::ModelDescription const& description) {
  using execution_space = Kokkos::DefaultExecutionSpace;
  execution_space space;
  bool const emulator = description.kind == psgm::model::ModelKind::gaussian_emulator;
  int const N = description.field_points(), C = description.field_channels();
  // C and K come from the model (its training data's schema, docs/data.md §7).
  psgm::io::DatasetSchema const schema{description.field_channel_names(), description.condition_schema()};
  int const K = schema.num_condition_columns();
  GridInfo const grid = grid_for(s, description, options.quiet);
  psgm::workflow::SampleOptions o;
  o.conditions = s.condition_table;
  if (s.conditions_source == "reference") {
    require(schema.conditions == psgm::model::ConditionSchema::porous_electrode(), "psgm sample: conditions.source = ",
            "'reference' is the porous electrode's reference condition, but the model takes other conditions (",
            K, " columns); give conditions.source = 'list' or 'file'");
    auto const c = psgm::pde::reference_evaluation_condition(grid.physics.get_double("L"));
    o.conditions = {c.l, c.U0, c.F_right};
  }
  std::int64_t const M = static_cast<std::int64_t>(o.conditions.size()) / K;

  // Conditions outside the training range are extrapolation: say so.
  for (std::int64_t m = 0; m < M; ++m) {
    double const* physical = o.conditions.data() + m * K;
    bool const inside = description.whitening
                            ? description.whitening->is_in_training_range(physical)
                            : description.normalization.is_in_training_range({physical[0], physical[1], physical[2]});
    if (!inside && !options.quiet) {
      std::cerr << "psgm sample: warning: condition " << m << " (";
      for (int k = 0; k < K; ++k) std::cerr << (k ? ", " : "") << schema.conditions.names[k] << " = " << physical[k];
      std::cerr << ") lies outside the model's training range: extrapolation\n";
    }
  }

  o.seed = s.seed;
  o.samples = s.samples;
  o.batch_size = s.batch_size;
  o.memory_budget_mb = s.memory_budget_mb;
  o.sampler = s.sampler;
  o.x = grid.x;
  o.output = options.output;
  o.writer.overwrite = options.overwrite;
  o.shard = options.shard;
  if (!options.observe.empty())
    o.observations = psgm::cli::read_observations(options.observe, description.field_channel_names());
  o.guidance = s.guidance;
  o.refinement = s.refinement;
  o.attributes = grid.physics;
  o.attributes.set("grid_source", grid.source);
  o.attributes.set("model_path", std::filesystem::absolute(options.model_path).string());
  o.attributes.set("generator", "psgm sample");
  o.attributes.set("config_toml", config_toml);
  std::string const dtype = s.dtype == "model" ? description.weights.dtype : s.dtype;
  std::string const backend_name = emulator ? "none" : s.backend;
  std::string const dtype_name = emulator ? "float64" : dtype;

  psgm::workflow::SamplePlan const plan = psgm::workflow::plan_sample(description, o);
  psgm::cli::require_disk_space("psgm sample", options.output, double(plan.size()) * (2.0 * C * N + 2.0) * 8.0);
  std::int64_t const planned = psgm::workflow::planned_nfe(description, o);
  std::string const method = psgm::workflow::method_description(description, o);
  std::string const part =
      o.shard.is_whole() ? std::string() : ", shard " + o.shard.to_string() + ": samples " +
                                               std::to_string(plan.first) + " to " + std::to_string(plan.last - 1);
  if (!options.quiet)
    std::cerr << "psgm sample: " << M << " condition(s) x " << s.samples << " samples = " << plan.total << part
              << " (N = " << N << ", "
              << (emulator ? std::string("Gaussian emulator") : std::string(psgm::model::to_string(description.sde.type)) + " model")
              << ")" << (o.observations.empty() ? "" : ", posterior given " + std::to_string(o.observations.size()) +
                                                          " observation(s),")
              << " with " << method
              << (planned > 0 ? " (" + std::to_string(planned) + " NFE)" : std::string(emulator ? "" : " (adaptive NFE)")) << ", "
              << backend_name << " " << dtype_name << " on " << execution_space::name() << ", batches of " << plan.batch
              << " -> " << options.output << '\n';

  // Signals are caught from before the temporary output exists: a Ctrl-C
  // at any point from here on removes it instead of leaving it behind.
  InterruptScope signals;
  // Progress in sample-evaluations when the NFE is known (it moves within a batch), else in samples.
  // Under MPI the progress is rank 0's, of its block of the samples.
  std::int64_t const mine =
      psgm::cli::process_count() > 1
          ? [&] {
              auto const [first, last] = psgm::workflow::Shard{0, psgm::cli::process_count()}.range(plan.size());
              return last - first;
            }()
          : plan.size();
  std::int64_t const units = planned > 0 ? mine * planned : mine;
  psgm::cli::Progress progress(psgm::cli::process_count() > 1 ? "sample (rank 0's part)" : "sample", units,
                               planned > 0 ? "sample-NFE" : "samples", !options.quiet);
  std::int64_t written = 0;
  auto const report = [&](std::int64_t done, std::int64_t total, std::string const& extra) {
    if (InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm sample stopped after " + std::to_string(done) + " of " +
                                   std::to_string(total) + " samples; no file was written to '" + options.output +
                                   "'");
    written = done;
    progress.update(planned > 0 ? done * planned : done, extra);
  };
  // Within a batch, after each network evaluation: the progress, and a
  // signal stops the run there (a batch of many samples or many steps can
  // take minutes; the batch in progress is dropped, as between batches).
  psgm::workflow::EvaluationHook const within_batch = [&](std::int64_t nfe) {
    if (InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm sample stopped after " + std::to_string(written) + " of " +
                                   std::to_string(mine) + " samples, in a batch after " + std::to_string(nfe) +
                                   " network evaluations; no file was written to '" + options.output + "'");
    if (planned > 0) progress.update(written * planned + std::min(plan.batch, mine - written) * nfe);
  };
  psgm::cli::sampling::Request request;
  request.space = space;
  request.model = &description;
  request.dtype = dtype;
  request.options = &o;
  request.progress = report;
  request.on_evaluation = within_batch;
  request.over_mpi = psgm::cli::mpi_running();
  request.mpi_output = options.mpi_output;
  // The backend by name: "native" here, "libtorch" in the module
  // psgm_cli_torch (src/cli/TorchModule.hpp), loaded now. A Gaussian
  // emulator needs neither (exact draws).
  psgm::workflow::SampleResult const result =
      !emulator && s.backend == "libtorch"
          ? psgm::cli::torch_commands("psgm sample").sample(request)
          : psgm::cli::sampling::run(psgm::score::Native<execution_space>{}, request);
  progress.finish();
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm sample: the signal came as '" + options.output +
                                 "' was being completed; it is complete and kept");

  std::int64_t const n = plan.size();
  char line[512];
  std::snprintf(line, sizeof line,
                "psgm sample: wrote %lld samples (%lld condition(s) x %lld%s, N = %d) to %s\n"
                "  %s, NFE %lld per sample, %lld batch(es) of <= %lld; %.3g s wall, %.4g samples/s (%s %s on %s)\n",
                (long long)n, (long long)M, (long long)s.samples,
                o.shard.is_whole() ? "" : (", shard " + o.shard.to_string()).c_str(), N, options.output.c_str(),
                method.c_str(), (long long)result.nfe_max, (long long)result.batches, (long long)plan.batch,
                result.wall_s, n / result.wall_s, backend_name.c_str(), dtype_name.c_str(), execution_space::name());
  std::cout << line;
  if (result.failed > 0)
    std::cout << "  " << result.failed
              << " sample(s) are not finite or did not converge; they are stored with their status\n";
  std::cout << "  content sha256: " << psgm::io::DatasetReader(options.output).content_sha256() << '\n';
  return 0;
}

std::string toml_string(std::string const& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

psgm::cli::RegisterCommand sample_command(
    "sample", "draw fields from a trained score model into an HDF5 file (data-set layout)",
    [](CLI::App& app) -> std::function<int()> {
      std::vector<std::string> names;
      for (auto const& [name, text] : presets()) names.push_back(name);
      auto config = psgm::cli::add_config_options(app, "reference", names);
      auto options = std::make_shared<Options>();
      auto seed = std::make_shared<std::int64_t>(0);
      auto samples = std::make_shared<std::int64_t>(0);
      auto sampler = std::make_shared<std::string>();
      auto backend = std::make_shared<std::string>();
      app.add_option("-m,--model", options->model_path, "model file (HDF5, psgm-model)");
      app.add_option("-o,--output", options->output, "file to write (HDF5, data-set layout without porosity)");
      app.add_flag("--overwrite", options->overwrite, "replace the output file if it exists");
      CLI::Option* seed_option = app.add_option("--seed", *seed, "random seed (same as --set sample.seed=SEED)");
      CLI::Option* samples_option =
          app.add_option("-n,--samples", *samples, "samples per condition (same as --set sample.samples=N)");
      std::string sampler_names;
      for (auto const& name : psgm::sde::sampler_names()) sampler_names += (sampler_names.empty() ? "" : ", ") + name;
      CLI::Option* sampler_option = app.add_option(
          "--sampler", *sampler, "sampler name (same as --set sampler.name=NAME): " + sampler_names +
                                     " (the reference: stochastic_heun)");
      CLI::Option* backend_option =
          app.add_option("--backend", *backend, "score backend: native or libtorch (same as --set sample.backend=NAME)");
      app.add_flag("-q,--quiet", options->quiet, "no progress on stderr");
      app.add_flag("--print-config", options->print_config, "print the effective configuration and exit");
      app.add_option("--observe", options->observe,
                     "probe observations (CSV: channel,x,value,noise_std; or TOML [[observation]] tables): draw "
                     "from the posterior given them (docs/posterior.md)");
      psgm::cli::add_mpi_output_option(app, options->mpi_output);
      auto shard = std::make_shared<std::string>();
      app.add_option("--shard", *shard,
                     "i/n: write only part i (0 ... n-1) of n contiguous parts of the samples; psgm merge joins "
                     "the n files into the file of one run (docs/workflow.md)");
      app.footer(
          "Examples:\n"
          "  psgm sample -m model.h5 -o samples.h5                     # reference sampler, reference condition\n"
          "  psgm sample -m model.h5 -o fast.h5 --sampler dpm_solver_2m --set sampler.steps=20\n"
          "  psgm sample -m model.h5 -o s.h5 --set conditions.source=list --set 'conditions.list=[[1e-5, 0.0, 25.0]]'\n"
          "  psgm sample -m model.h5 -o s.h5 --set conditions.source=file --set conditions.file=heldout.h5 -n 500\n"
          "  psgm sample -m model.h5 -o post.h5 --observe probes.csv --sampler edm_heun   # posterior given probes\n"
          "See docs/sampling.md for the samplers and their parameters.");
      return [=]() {
        if (!psgm::cli::is_root_process()) options->quiet = true;  // under MPI, rank 0 reports
        auto overrides = config->overrides;
        if (seed_option->count() > 0) overrides.push_back("sample.seed=" + std::to_string(*seed));
        if (samples_option->count() > 0) overrides.push_back("sample.samples=" + std::to_string(*samples));
        if (sampler_option->count() > 0) overrides.push_back("sampler.name=" + toml_string(*sampler));
        if (backend_option->count() > 0) overrides.push_back("sample.backend=" + toml_string(*backend));
        Config cfg = Config::load(config->preset, presets(), config->file, overrides);
        Settings settings = read_settings(cfg);
        try {
          cfg.reject_unknown_keys();
        } catch (psgm::InvalidArgument const& e) {
          // A misspelt [sampler] key: say which keys the chosen sampler takes.
          std::string what = e.what();
          if (what.substr(0, what.find("; known keys")).find("sampler.") == std::string::npos) throw;
          std::string keys;
          for (auto const& k : settings.sampler.parameter_names()) keys += (keys.empty() ? "" : ", ") + k;
          throw psgm::InvalidArgument(what + " (sampler " + psgm::sde::to_string(settings.sampler.kind) +
                                      " takes " + keys + ")");
        }
        if (!shard->empty()) try {
          options->shard = psgm::workflow::Shard::parse(*shard);
        } catch (psgm::InvalidArgument const& e) {
          throw psgm::InvalidArgument(std::string("psgm sample: --shard: ") + e.what());
        }
        if (options->print_config) {
          std::cout << cfg.to_toml() << '\n';
          return 0;
        }
        require(!options->model_path.empty(), "psgm sample: no model file; pass -m MODEL.h5");
        require(!options->output.empty(), "psgm sample: no output file; pass -o FILE.h5");
        psgm::cli::OutputPolicy policy("psgm sample", options->overwrite);
        policy.input(options->model_path, "model file");
        policy.input(settings.grid_from, "grid data set (sample.grid_from)");
        policy.input(options->observe, "observations file (--observe)");
        if (settings.conditions_source == "file") policy.input(cfg.get<std::string>("conditions.file"), "conditions file");
        policy.output(options->output, "output file", {psgm::io::dataset_format});
        policy.check();
        auto description = psgm::io::read_model(options->model_path);
        resolve_conditions(settings, cfg, description);
        // The sampler configuration must suit the model's SDE (before any work).
        if (description.kind != psgm::model::ModelKind::gaussian_emulator) try {
          settings.sampler.validate(psgm::sde::DiffusionProcess(description.sde));
        } catch (psgm::InvalidArgument const& e) {
          throw psgm::InvalidArgument(std::string("configuration [sampler] for the model '") + options->model_path +
                                      "': " + e.what());
        }
        return run(settings, *options, cfg.to_toml(), description);
      };
    });

}  // namespace cmd_sample
}  // namespace
