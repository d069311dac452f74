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

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>
#if PSGM_HAS_TORCH
#include <psgm/torch/TorchScoreModel.hpp>
#endif

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
/// psgm sample's view of the conditional Gaussian emulator: the interface of
/// psgm::sde::Sampler that run() uses, with exact draws and no network.
template <class ExecSpace>
class EmulatorDraws {
 public:
  using execution_space = ExecSpace;
  using scalar_type = double;
  using field_view = Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
  using status_view = Kokkos::View<psgm::SolveStatus*, typename ExecSpace::memory_space>;
  using host_condition_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

  explicit EmulatorDraws(psgm::model::Whitening const& w) : emulator_(w) {}
  psgm::sde::SampleReport sample(ExecSpace const& space, host_condition_view conditions, std::uint64_t seed,
                                 std::int64_t first, field_view out, status_view status) {
    emulator_.sample(space, conditions, seed, first, out);
    Kokkos::deep_copy(space, status, psgm::SolveStatus::ok);
    psgm::sde::SampleReport r;
    r.num_samples = static_cast<std::int64_t>(out.extent(0));
    return r;
  }
  void on_evaluation(std::function<void(std::int64_t)>) {}

 private:
  psgm::model::GaussianEmulator<ExecSpace> emulator_;
};

/// Marks every sample of `fields` (B, C, N) whose status is ok but which
/// holds a NaN or Inf non_finite; returns how many it marked.
template <class Fields, class Statuses>
std::int64_t mark_non_finite(Fields const& fields, Statuses const& status) {
  std::int64_t marked = 0;
  for (std::size_t i = 0; i < status.extent(0); ++i) {
    if (status(i) != psgm::SolveStatus::ok) continue;
    bool finite = true;
    for (std::size_t c = 0; c < fields.extent(1) && finite; ++c)
      for (std::size_t k = 0; k < fields.extent(2) && finite; ++k) finite = std::isfinite(fields(i, c, k));
    if (!finite) {
      status(i) = psgm::SolveStatus::non_finite;
      ++marked;
    }
  }
  return marked;
}

/// Samples the model into the output file. `make_draws(space, batch)` makes
/// what draws a batch: a psgm::sde::Sampler, or EmulatorDraws.
template <class ExecSpace, class MakeDraws>
int run(Settings const& s, Options const& options, std::string const& config_toml,
        psgm::model::ModelDescription const& description, char const* backend_name, char const* dtype_name,
        MakeDraws const& make_draws) {
  psgm::ScopedRegion region("psgm::cli::sample");
  using execution_space = ExecSpace;
  execution_space space;
  auto const t_start = std::chrono::steady_clock::now();
  bool const emulator = description.kind == psgm::model::ModelKind::gaussian_emulator;
  int const N = description.field_points(), C = description.field_channels();
  // C and K come from the model (its training data's schema, docs/data.md §7).
  psgm::io::DatasetSchema const schema{description.field_channel_names(), description.condition_schema()};
  int const K = schema.num_condition_columns();
  GridInfo const grid = grid_for(s, description, options.quiet);
  std::vector<double> conditions = s.condition_table;
  if (s.conditions_source == "reference") {
    require(schema.conditions == psgm::model::ConditionSchema::porous_electrode(), "psgm sample: conditions.source = ",
            "'reference' is the porous electrode's reference condition, but the model takes other conditions (",
            K, " columns); give conditions.source = 'list' or 'file'");
    auto const c = psgm::pde::reference_evaluation_condition(grid.physics.get_double("L"));
    conditions = {c.l, c.U0, c.F_right};
  }
  std::int64_t const M = static_cast<std::int64_t>(conditions.size()) / K;
  std::int64_t const total = M * s.samples;

  // Conditions outside the training range are extrapolation: say so.
  for (std::int64_t m = 0; m < M; ++m) {
    double const* physical = conditions.data() + m * K;
    bool const inside = description.whitening
                            ? description.whitening->is_in_training_range(physical)
                            : description.normalization.is_in_training_range({physical[0], physical[1], physical[2]});
    if (!inside && !options.quiet) {
      std::cerr << "psgm sample: warning: condition " << m << " (";
      for (int k = 0; k < K; ++k) std::cerr << (k ? ", " : "") << schema.conditions.names[k] << " = " << physical[k];
      std::cerr << ") lies outside the model's training range: extrapolation\n";
    }
  }

  // Batch size: what fits memory_budget_mb (sampler workspaces, about 12
  // fields, and the network's activations, about 16 x width per point).
  auto const& arch = description.architecture;
  double const bytes_per_sample =
      emulator ? 3.0 * sizeof(double) * C * N
               : double(sizeof(double)) * arch.num_points * (12.0 * arch.channels + 16.0 * arch.width) +
                     3.0 * sizeof(double) * C * N;
  std::int64_t batch = s.batch_size;
  if (batch == 0) batch = std::max<std::int64_t>(1, static_cast<std::int64_t>(s.memory_budget_mb * 1048576.0 / bytes_per_sample));
  batch = std::min(batch, total);
  require(batch <= std::numeric_limits<int>::max(), "psgm sample: a batch of ", batch, " samples is too large");
  psgm::cli::require_disk_space("psgm sample", options.output, double(total) * (2.0 * C * N + 2.0) * 8.0);

  psgm::io::AttributeMap attributes = grid.physics;
  attributes.set("grid_source", grid.source);
  attributes.set("seed", static_cast<std::int64_t>(s.seed));
  attributes.set("kokkos_backend", execution_space::name());
  attributes.set("kokkos_concurrency", static_cast<std::int64_t>(space.concurrency()));
  attributes.set("score_backend", backend_name);
  attributes.set("dtype", dtype_name);
  attributes.set("model_path", std::filesystem::absolute(options.model_path).string());
  attributes.set("model_kind", psgm::model::to_string(description.kind));
  attributes.set("model_sde", emulator ? "none" : psgm::model::to_string(description.sde.type));
  attributes.set("sampler", emulator ? "exact" : psgm::sde::to_string(s.sampler.kind));
  attributes.set("sampler_config", emulator ? std::string("exact Gaussian draws (no sampler)") : s.sampler.to_toml());
  attributes.set("samples_per_condition", s.samples);
  attributes.set("batch_size", batch);
  attributes.set("generator", "psgm sample");
  attributes.set("config_toml", config_toml);
  psgm::io::DatasetWriterOptions wopts;
  wopts.overwrite = options.overwrite;
  wopts.store_porosity = false;
  // Signals are caught from before the temporary output exists: a Ctrl-C
  // at any point from here on removes it instead of leaving it behind.
  InterruptScope signals;
  psgm::io::DatasetWriter writer(options.output, grid.x, schema, conditions, attributes, wopts);

  auto sampler = make_draws(space, static_cast<int>(batch));
  using Sampler = decltype(sampler);
  typename Sampler::field_view fields(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::cli::sample::fields")), batch, C, N);
  typename Sampler::status_view status(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::cli::sample::status")), batch);
  auto h_fields = Kokkos::create_mirror_view(fields);
  auto h_status = Kokkos::create_mirror_view(status);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> h_cond("psgm::cli::sample::conditions", batch, K);
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> h_index("psgm::cli::sample::condition_index", batch);
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> h_out("psgm::cli::sample::output", batch, C, N);

  std::int64_t const planned = emulator ? 0 : s.sampler.planned_nfe();
  std::string const method = emulator ? std::string("exact draws") : s.sampler.describe();
  if (!options.quiet)
    std::cerr << "psgm sample: " << M << " condition(s) x " << s.samples << " samples = " << total << " (N = " << N
              << ", " << (emulator ? std::string("Gaussian emulator") : std::string(psgm::model::to_string(description.sde.type)) + " model")
              << ") with " << method
              << (planned > 0 ? " (" + std::to_string(planned) + " NFE)" : std::string(emulator ? "" : " (adaptive NFE)")) << ", "
              << backend_name << " " << dtype_name << " on " << execution_space::name() << ", batches of " << batch
              << " -> " << options.output << '\n';

  // Progress in sample-evaluations when the NFE is known (ETA within a batch), else in samples.
  std::int64_t const units = planned > 0 ? total * planned : total;
  psgm::cli::Progress progress("sample", units, planned > 0 ? "sample-NFE" : "samples", !options.quiet);
  std::int64_t done = 0, failed = 0, batches = 0, nfe_max = 0, nfe_total = 0;
  double nfe_mean_sum = 0;
  std::int64_t current_batch = 0;
  if (planned > 0)
    sampler.on_evaluation([&](std::int64_t nfe) { progress.update(done * planned + current_batch * nfe); });
  for (std::int64_t first = 0; first < total; first += batch) {
    if (InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm sample stopped after " + std::to_string(writer.size()) + " of " +
                                   std::to_string(total) + " samples; no file was written to '" + options.output +
                                   "'");
    std::int64_t const b = std::min(batch, total - first);
    current_batch = b;
    for (std::int64_t i = 0; i < b; ++i) {
      std::int64_t const m = (first + i) / s.samples;
      for (int k = 0; k < K; ++k) h_cond(i, k) = conditions[std::size_t(m * K + k)];
      h_index(i) = m;
    }
    // The first b rows of each buffer (LayoutRight: contiguous).
    typename Sampler::field_view out(fields.data(), b, C, N);
    typename Sampler::status_view st(status.data(), b);
    decltype(h_fields) h_f(h_fields.data(), b, C, N);
    decltype(h_status) h_st(h_status.data(), b);
    auto const report =
        sampler.sample(space, typename Sampler::host_condition_view(h_cond.data(), b, K), s.seed, first, out, st);
    Kokkos::deep_copy(space, h_f, out);
    Kokkos::deep_copy(space, h_st, st);
    space.fence();  // the host converts and writes this batch next
    for (std::int64_t i = 0; i < b; ++i)
      for (int c = 0; c < C; ++c)
        for (int k = 0; k < N; ++k) h_out(i, c, k) = static_cast<double>(h_f(i, c, k));
    // Nothing is stored as ok unless every value is finite, whatever the
    // draws reported (the emulator reports none of its own).
    std::int64_t const not_finite = mark_non_finite(h_out, h_st);
    writer.append(psgm::io::DatasetWriter::host_fields_view(h_out.data(), b, C, N),
                  psgm::io::DatasetWriter::host_index_view(h_index.data(), b),
                  psgm::io::DatasetWriter::host_status_view(h_st.data(), b));
    done += b;
    failed += report.num_failed + not_finite;
    ++batches;
    nfe_total += report.nfe;
    nfe_max = std::max(nfe_max, report.max_nfe_per_sample);
    nfe_mean_sum += report.mean_nfe_per_sample * b;
    std::ostringstream extra;
    if (failed > 0) extra << failed << " failed";
    progress.update(planned > 0 ? done * planned : done, extra.str());
  }
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm sample stopped after " + std::to_string(writer.size()) + " of " +
                                 std::to_string(total) + " samples; no file was written to '" + options.output + "'");
  double const wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  psgm::io::AttributeMap result;
  result.set("nfe", nfe_max);  // evaluations each sample received (adaptive: the most any sample needed)
  result.set("nfe_mean_per_sample", nfe_mean_sum / total);
  result.set("network_evaluations", nfe_total);  // batched evaluations over all batches
  result.set("wall_time_s", wall);
  result.set("samples_per_second", total / wall);
  result.set("num_failed", failed);
  writer.set_attributes(result);
  writer.commit();
  progress.finish();
  if (InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm sample: the signal came as '" + options.output +
                                 "' was being completed; it is complete and kept");

  char line[512];
  std::snprintf(line, sizeof line,
                "psgm sample: wrote %lld samples (%lld condition(s) x %lld, N = %d) to %s\n"
                "  %s, NFE %lld per sample, %lld batch(es) of <= %lld; %.3g s wall, %.4g samples/s (%s %s on %s)\n",
                (long long)total, (long long)M, (long long)s.samples, N, options.output.c_str(),
                method.c_str(), (long long)nfe_max, (long long)batches, (long long)batch, wall,
                total / wall, backend_name, dtype_name, execution_space::name());
  std::cout << line;
  if (failed > 0)
    std::cout << "  " << failed << " sample(s) are not finite or did not converge; they are stored with their status\n";
  return 0;
}

template <class Model>
int run_model(Settings const& s, Options const& options, std::string const& config_toml, Model& model,
              char const* backend_name, char const* dtype) {
  using Space = typename Model::execution_space;
  return run<Space>(s, options, config_toml, model.description(), backend_name, dtype,
                    [&](Space const& space, int batch) { return psgm::sde::Sampler<Model>(space, model, s.sampler, batch); });
}

template <class Scalar>
int run_backend(Settings const& s, Options const& options, std::string const& config_toml,
                psgm::model::ModelDescription description) {
  char const* dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
  if (description.kind == psgm::model::ModelKind::gaussian_emulator) {
    using Space = Kokkos::DefaultExecutionSpace;
    return run<Space>(s, options, config_toml, description, "none", "float64",
                      [&](Space const&, int) { return EmulatorDraws<Space>(*description.whitening); });
  }
  if (s.backend == "libtorch") {
#if PSGM_HAS_TORCH
    psgm::score::ScoreModel<psgm::score::LibTorch, Scalar> model(std::move(description));
    return run_model(s, options, config_toml, model, "libtorch", dtype);
#else
    require(false, "psgm sample: backend 'libtorch' is not built into this psgm (configured with "
            "-DPSGM_ENABLE_TORCH=OFF); reconfigure with -DPSGM_ENABLE_TORCH=ON or use --backend native");
#endif
  }
  using Space = Kokkos::DefaultExecutionSpace;
  psgm::score::ScoreModel<psgm::score::Native<Space>, Scalar> model(Space(), std::move(description));
  return run_model(s, options, config_toml, model, "native", dtype);
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
      app.footer(
          "Examples:\n"
          "  psgm sample -m model.h5 -o samples.h5                     # reference sampler, reference condition\n"
          "  psgm sample -m model.h5 -o fast.h5 --sampler dpm_solver_2m --set sampler.steps=20\n"
          "  psgm sample -m model.h5 -o s.h5 --set conditions.source=list --set 'conditions.list=[[1e-5, 0.0, 25.0]]'\n"
          "  psgm sample -m model.h5 -o s.h5 --set conditions.source=file --set conditions.file=heldout.h5 -n 500\n"
          "See docs/sampling.md for the samplers and their parameters.");
      return [=]() {
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
        if (options->print_config) {
          std::cout << cfg.to_toml() << '\n';
          return 0;
        }
        require(!options->model_path.empty(), "psgm sample: no model file; pass -m MODEL.h5");
        require(!options->output.empty(), "psgm sample: no output file; pass -o FILE.h5");
        psgm::cli::OutputPolicy policy("psgm sample", options->overwrite);
        policy.input(options->model_path, "model file");
        policy.input(settings.grid_from, "grid data set (sample.grid_from)");
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
        std::string const dtype = settings.dtype == "model" ? description.weights.dtype : settings.dtype;
        return dtype == "float64" ? run_backend<double>(settings, *options, cfg.to_toml(), std::move(description))
                                  : run_backend<float>(settings, *options, cfg.to_toml(), std::move(description));
      };
    });

}  // namespace
