// `psgm evaluate`: model samples against a PDE data set, every metric beside
// its noise floor (spec sgm.md §6; docs/metrics.md). Writes metrics.md,
// metrics.csv, qoi.csv and evaluation.h5 into the output directory (the
// library call psgm::workflow::evaluate; under MPI psgm::mpi::evaluate, the
// conditions split across the ranks), and with --figures the PNG figures
// drawn from evaluation.h5.
#include "Command.hpp"
#include "OutputPolicy.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/stats/Evaluation.hpp>
#include <psgm/stats/EvaluationFile.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/stats/Report.hpp>
#include <psgm/workflow/Evaluate.hpp>
#include <psgm/workflow/EvaluatePosterior.hpp>
#if PSGM_ENABLE_MPI
#include <psgm/mpi/Evaluate.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_evaluate {

using psgm::require;
using psgm::cli::Config;

std::string preset_text(std::string const& name, int permutations) {
  std::ostringstream os;
  os << "# psgm evaluate, preset '" << name << "' (docs/metrics.md)" << R"(
[evaluate]
band_level = 0.95         # central band of the coverage metric M3 and of the figures
)" << "permutations = " << permutations << R"(        # relabellings of the energy-distance test M5 (0: no p-value)
seed = 0                  # seed of the permutations (stream 'evaluation')
pinned_tolerance = 1e-9   # a point is pinned when its PDE spread is below this times the field's largest
c_crit_quantile = 0.1     # QoI threshold c_crit: this quantile of the PDE's min_x c, per condition ...
# c_crit = 990.0          # ... unless c_crit is given [mol/m^3]
confidence = 0.95         # of the Wilson intervals of the QoI
max_conditions = 0        # evaluate at most this many conditions (0: all)

[floor]                   # the noise floor: a second PDE ensemble per condition
samples = 0               # generated realisations per condition; 0: as many as the model has there
# seed = 2024             # seed of generated floor fields; default: the PDE data set's seed
)";
  return os.str();
}

std::vector<std::pair<std::string, std::string>> const& presets() {
  static std::vector<std::pair<std::string, std::string>> const p{
      {"reference", preset_text("reference", 999)},
      {"small", preset_text("small", 199)},
  };
  return p;
}

struct Options {
  std::string model_path, data_path, floor_path, baseline_path, output;
  std::string observe;     ///< --observe FILE: judge posterior samples against the weighted data set
  double min_ess = 1000;   ///< --min-ess: refuse a reference below this effective sample size
  int floor_draws = 20;    ///< --floor-draws: resamplings of the reference's noise floor
  bool overwrite = false;
  bool figures = false;
  bool quiet = false;
  bool print_config = false;
};

psgm::stats::EvaluationRequest read_request(Config const& cfg, Options const& o) {
  psgm::stats::EvaluationRequest r;
  r.model_path = o.model_path;
  r.data_path = o.data_path;
  r.floor_path = o.floor_path;
  r.baseline_path = o.baseline_path;
  auto& m = r.metrics;
  m.band_level = cfg.get<double>("evaluate.band_level");
  m.permutations = cfg.get<int>("evaluate.permutations");
  std::int64_t const seed = cfg.get<std::int64_t>("evaluate.seed");
  require(seed >= 0, "configuration: evaluate.seed = ", seed, " must be >= 0");
  m.seed = std::uint64_t(seed);
  m.pinned_tolerance = cfg.get<double>("evaluate.pinned_tolerance");
  m.c_crit_quantile = cfg.get<double>("evaluate.c_crit_quantile");
  if (cfg.has("evaluate.c_crit")) m.c_crit = cfg.get<double>("evaluate.c_crit");
  m.confidence = cfg.get<double>("evaluate.confidence");
  try {
    m.validate();
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration [evaluate]: ") + e.what());
  }
  r.max_conditions = cfg.get<std::int64_t>("evaluate.max_conditions");
  require(r.max_conditions >= 0, "configuration: evaluate.max_conditions = ", r.max_conditions,
          " must be >= 0 (0: all)");
  r.floor_samples = cfg.get<std::int64_t>("floor.samples");
  require(r.floor_samples >= 0, "configuration: floor.samples = ", r.floor_samples,
          " must be >= 0 (0: as many as the model has)");
  if (cfg.has("floor.seed")) {
    std::int64_t const s = cfg.get<std::int64_t>("floor.seed");
    require(s >= 0, "configuration: floor.seed = ", s, " must be >= 0");
    r.floor_seed = std::uint64_t(s);
  }
  require(o.floor_path.empty() || (r.floor_samples == 0 && !r.floor_seed),
          "configuration: floor.samples and floor.seed describe a generated noise floor, but --floor gives a file");
  return r;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

int evaluate(psgm::stats::EvaluationRequest const& request, Options const& options, std::string const& config_toml) {
  using ExecSpace = Kokkos::DefaultExecutionSpace;
  ExecSpace space;
  // Refuse existing outputs before the work, not after it (OutputPolicy.hpp):
  // replaced only with --overwrite, and only what psgm wrote (evaluation.h5
  // by its format, the tables and figures by the directory's manifest).
  namespace fs = std::filesystem;
  psgm::cli::OutputPolicy policy("psgm evaluate", options.overwrite);
  policy.input(request.model_path, "model samples");
  policy.input(request.data_path, "PDE data set");
  policy.input(request.floor_path, "noise-floor data set");
  policy.input(request.baseline_path, "baseline samples");
  for (auto const& p : psgm::stats::evaluation_output_paths(options.output))
    policy.output(p, "output file",
                  fs::path(p).extension() == ".h5" ? std::vector<std::string>{psgm::stats::evaluation_format}
                                                   : std::vector<std::string>{});
  fs::path const figures_dir = fs::path(options.output) / "figures";
  std::error_code ec;
  if (options.figures && fs::is_directory(figures_dir, ec))
    for (fs::directory_iterator it(figures_dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".png") policy.output(it->path().string(), "figure", {});
  policy.check();
  psgm::cli::InterruptScope signals;
  if (!options.quiet)
    std::cerr << "psgm evaluate: " << request.model_path << " against " << request.data_path << " on "
              << ExecSpace::name() << ", noise floor "
              << (request.floor_path.empty() ? std::string("generated on the fly") : "from " + request.floor_path)
              << '\n';
  std::unique_ptr<psgm::cli::Progress> progress;
  std::int64_t conditions_done = 0, conditions_total = 0;
  auto const report = [&](std::int64_t done, std::int64_t total, std::string const& what) {
    conditions_done = done;
    conditions_total = total;
    if (psgm::cli::InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm evaluate stopped after " + std::to_string(done) + " of " +
                                   std::to_string(total) + " conditions; no output was written");
    // Under MPI the progress is rank 0's, of its block of the conditions.
    if (!progress)
      progress = std::make_unique<psgm::cli::Progress>(
          psgm::cli::process_count() > 1 ? "evaluate (rank 0's part)" : "evaluate", total, "conditions",
          !options.quiet);
    progress->update(done, what);
  };
  // The evaluation and its outputs (psgm::workflow::evaluate). A signal that
  // came after the last condition stops it at the last progress report:
  // still nothing written.
  psgm::workflow::EvaluateOptions run;
  run.request = request;
  // Within a condition, between batches of the energy test's relabellings
  // (a large evaluate.permutations keeps one condition busy for minutes).
  run.request.metrics.between_permutation_batches = [&] {
    if (psgm::cli::InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm evaluate stopped in the energy test's permutations of condition " +
                                   std::to_string(conditions_done + 1) + " of " + std::to_string(conditions_total) +
                                   "; no output was written");
  };
  run.output = options.output;
  run.overwrite = options.overwrite;
  run.config_toml = config_toml;
  auto const evaluated = [&] {
#if PSGM_ENABLE_MPI
    // Under an MPI launcher each rank of MPI_COMM_WORLD evaluates one block
    // of the conditions and rank 0 writes the outputs (docs/scaling.md §5);
    // one rank: workflow::evaluate itself.
    if (psgm::cli::mpi_running()) return psgm::mpi::evaluate(space, MPI_COMM_WORLD, run, report);
#endif
    return psgm::workflow::evaluate(space, run, report);
  }();
  auto const& result = evaluated.result;
  auto const& files = evaluated.files;
  if (progress) progress->finish();
  // Under MPI, rank 0 wrote the outputs: it alone records them and draws
  // the figures; every rank holds the whole result.
  if (!psgm::cli::is_root_process()) return 0;
  psgm::cli::Manifest manifest(options.output);
  manifest.add(files);
  // Each output is written whole (under a temporary name, then renamed); a
  // signal during the writing ends the command once they all are, with
  // its status, and without the figures.
  if (psgm::cli::InterruptScope::interrupted())
    throw psgm::cli::Interrupted("psgm evaluate: the signal came while the outputs in '" + options.output +
                                 "' were written; they are complete and kept, the figures were not drawn");

  // Summary on stdout: the mean of every metric over the conditions beside its floor.
  auto const& c = result.conditions;
  bool const baseline = psgm::stats::has_baseline(c);
  std::cout << "psgm evaluate: " << c.size() << " condition(s), model vs PDE ("
            << (baseline ? "Gaussian emulator / " : "") << "noise floor: PDE vs PDE)\n";
  auto const& channels = c.front().comparison.channels;  // the data set's (c, phi for the porous electrode)
  for (int f = 0; f < int(channels.size()); ++f) {
    std::cout << "  " << channels[std::size_t(f)] << ":";
    for (auto const metric : psgm::stats::all_metrics) {
      auto const [model, floor] = psgm::stats::summarize_metric(c, f, metric);
      double const base = psgm::stats::summarize_baseline(c, f, metric);
      if (metric == psgm::stats::Metric::energy_p_value)
        std::cout << "  p<0.01 in " << fmt(100 * model) << "% (" << (baseline ? fmt(100 * base) + "% / " : "")
                  << fmt(100 * floor) << "%)";
      else
        std::cout << "  " << psgm::stats::to_string(metric) << " " << fmt(model) << " ("
                  << (baseline ? fmt(base) + " / " : "") << fmt(floor) << ")";
    }
    std::cout << '\n';
  }
  if (c.front().comparison.has_qoi) {
    double qm = 0, qf = 0, qb = 0;
    for (auto const& e : c) {
      qm += e.comparison.qoi.error() / c.size();
      qf += e.comparison.qoi.floor_error() / c.size();
      if (baseline) qb += e.baseline->qoi.error() / c.size();
    }
    std::cout << "  QoI |P_model - P_pde| for P(min_x c < c_crit): " << fmt(qm) << " ("
              << (baseline ? fmt(qb) + " / " : "") << fmt(qf) << ")\n";
  }
  for (auto const& note : result.notes) std::cout << "  note: " << note << '\n';
  for (auto const& f : files) std::cout << "  wrote " << f << '\n';
  if (options.figures) {
    auto const fig = psgm::stats::draw_report_figures((std::filesystem::path(options.output) / "evaluation.h5").string(),
                                                      (std::filesystem::path(options.output) / "figures").string());
    std::cout << "  " << fig.message << '\n';
    manifest.add(fig.files);
    for (auto const& f : fig.files) std::cout << "  wrote " << f << '\n';
    if (psgm::cli::InterruptScope::interrupted())
      throw psgm::cli::Interrupted("psgm evaluate: the signal came while the figures were drawn; the outputs in '" +
                                   options.output + "' are complete, the figures listed above too");
  }
  return 0;
}

// psgm evaluate --observe: posterior samples against the importance-sampled
// PDE posterior of the data set (docs/posterior.md §4; the library call
// psgm::workflow::evaluate_posterior). Prints one table per condition and,
// with -o, writes posterior.csv. Exit 4 when a condition's reference has an
// ESS below --min-ess: nothing is judged there (2 is a bad input, 3 an
// unexpected error).
int evaluate_posterior(psgm::stats::EvaluationRequest const& request, Options const& options) {
  using ExecSpace = Kokkos::DefaultExecutionSpace;
  ExecSpace space;
  require(request.floor_path.empty() && request.baseline_path.empty(),
          "psgm evaluate --observe: --floor and --baseline do not apply; the noise floor is the reference's own "
          "(half of the data set resampled by its weights)");
  require(psgm::cli::process_count() == 1,
          "psgm evaluate --observe runs in one process (the reference of one condition is one computation)");
  namespace fs = std::filesystem;
  psgm::cli::OutputPolicy policy("psgm evaluate", options.overwrite);
  policy.input(request.model_path, "posterior samples");
  policy.input(request.data_path, "PDE reference ensemble");
  policy.input(options.observe, "observations file (--observe)");
  std::string const csv_path = options.output.empty() ? "" : (fs::path(options.output) / "posterior.csv").string();
  if (!csv_path.empty()) policy.output(csv_path, "output file", {});
  policy.check();
  psgm::workflow::PosteriorEvaluateOptions o;
  o.samples_path = request.model_path;
  o.reference_path = request.data_path;
  o.observations =
      psgm::cli::read_observations(options.observe, psgm::io::DatasetReader(request.data_path).info().schema.channels);
  o.reference.min_ess = options.min_ess;
  o.reference.floor_draws = options.floor_draws;
  o.reference.seed = request.metrics.seed;
  o.reference.band_level = request.metrics.band_level;
  if (!options.quiet)
    std::cerr << "psgm evaluate: posterior samples " << request.model_path << " against the PDE ensemble "
              << request.data_path << " weighted by " << o.observations.size() << " observation(s) of "
              << options.observe << ", on " << ExecSpace::name() << '\n';
  auto const r = psgm::workflow::evaluate_posterior(space, o);
  auto const& ch = r.channels;
  std::cout << "psgm evaluate: posterior samples against the importance-sampled PDE posterior, "
            << r.conditions.size() << " condition(s); the samples' recorded observations "
            << (r.observations_recorded ? "match the given ones" : "are absent (not checked)") << '\n';
  auto const g = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", v);
    return std::string(buf);
  };
  for (auto const& c : r.conditions) {
    auto const& k = c.comparison;
    std::cout << "  condition " << c.samples_row << " (" << c.description << "): " << k.reference_fields
              << " PDE fields, ESS " << std::llround(k.ess_reference) << " (half A, the reference) and "
              << std::llround(k.ess_floor) << " (half B, the floor), n = " << k.samples << '\n';
    if (!k.judged) {
      std::cout << "  NOT JUDGED: " << k.message << '\n';
      continue;
    }
    std::cout << "  | channel | mean err | floor | ratio | spread err | floor | ratio | coverage | floor |\n"
                 "  |---|---|---|---|---|---|---|---|---|\n";
    for (std::size_t f = 0; f < ch.size(); ++f) {
      auto const& m = k.metrics[f];
      auto const& fl = k.floor[f];
      std::cout << "  | " << ch[f] << " | " << g(m.mean_error) << " | " << g(fl.mean_error) << " | "
                << g(m.mean_error / fl.mean_error) << " | " << g(m.spread_error) << " | " << g(fl.spread_error) << " | "
                << g(m.spread_error / fl.spread_error) << " | " << g(m.coverage) << " | " << g(fl.coverage) << " |\n";
    }
  }
  if (!csv_path.empty()) {
    fs::create_directories(options.output);
    std::string const tmp = csv_path + ".tmp";
    {
      std::ofstream out(tmp);
      out.precision(17);
      out << "condition,channel,n,reference_fields,ess_reference,ess_floor,judged,mean_error,mean_error_floor,"
             "spread_error,spread_error_floor,coverage,coverage_floor\n";
      for (auto const& c : r.conditions)
        for (std::size_t f = 0; f < ch.size(); ++f) {
          auto const& k = c.comparison;
          out << c.samples_row << ',' << ch[f] << ',' << k.samples << ',' << k.reference_fields << ','
              << k.ess_reference << ',' << k.ess_floor << ',' << (k.judged ? 1 : 0);
          if (k.judged)
            out << ',' << k.metrics[f].mean_error << ',' << k.floor[f].mean_error << ',' << k.metrics[f].spread_error
                << ',' << k.floor[f].spread_error << ',' << k.metrics[f].coverage << ',' << k.floor[f].coverage;
          else
            out << ",,,,,,";
          out << '\n';
        }
      require<psgm::IoError>(bool(out.flush()), "psgm evaluate: cannot write '", tmp, "'");
    }
    fs::rename(tmp, csv_path);
    psgm::cli::Manifest(options.output).add({csv_path});
    std::cout << "  wrote " << csv_path << '\n';
  }
  if (!r.judged()) {
    std::cerr << "psgm evaluate: ESS below --min-ess = " << options.min_ess
              << " at a condition: the importance-sampled reference is too poor to judge against there (more PDE "
                 "fields, or less informative probes)\n";
    return 4;
  }
  return 0;
}

psgm::cli::RegisterCommand evaluate_command(
    "evaluate", "compare model samples with PDE ensembles, every metric beside its noise floor",
    [](CLI::App& app) -> std::function<int()> {
      std::vector<std::string> names;
      for (auto const& [name, text] : presets()) names.push_back(name);
      auto config = psgm::cli::add_config_options(app, "reference", names);
      auto options = std::make_shared<Options>();
      app.add_option("-m,--model-samples", options->model_path, "fields sampled from the model (psgm sample output)")
          ->check(CLI::ExistingFile);
      app.add_option("-d,--data", options->data_path,
                     "PDE data set at the same conditions (psgm generate output, or any data set of docs/data.md)")
          ->check(CLI::ExistingFile);
      app.add_option("--floor", options->floor_path,
                     "second, independent data set at the same conditions for the noise floor (default: generated "
                     "by fresh PDE solves; required for data sets other than the porous electrode's)")
          ->check(CLI::ExistingFile);
      app.add_option("--baseline", options->baseline_path,
                     "the conditional Gaussian emulator's samples at the same conditions (psgm sample -m "
                     "emulator.h5), reported beside the model")
          ->check(CLI::ExistingFile);
      app.add_option("-o,--output", options->output, "directory for metrics.md, metrics.csv, qoi.csv, evaluation.h5");
      app.add_option("--observe", options->observe,
                     "probe observations (CSV or TOML, as psgm sample --observe): judge the posterior samples -m "
                     "against the PDE ensemble -d weighted by the observations' likelihood, beside its noise floor "
                     "(docs/posterior.md)")
          ->check(CLI::ExistingFile);
      app.add_option("--min-ess", options->min_ess,
                     "with --observe: refuse to judge (exit 4) where either half of the weighted PDE ensemble has "
                     "an effective sample size below this")
          ->capture_default_str()
          ->check(CLI::NonNegativeNumber);
      app.add_option("--floor-draws", options->floor_draws,
                     "with --observe: resamplings of the reference's half B averaged for the noise floor")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      app.add_flag("--overwrite", options->overwrite, "replace existing output files");
      app.add_flag("--figures", options->figures,
                   "also draw PNG figures into <output>/figures (needs python3 with matplotlib and h5py)");
      app.add_flag("-q,--quiet", options->quiet, "no progress on stderr");
      app.add_flag("--print-config", options->print_config, "print the effective configuration and exit");
      app.footer(
          "Examples:\n"
          "  psgm evaluate -m samples.h5 -d heldout.h5 -o report --figures\n"
          "  psgm evaluate -m samples.h5 -d heldout.h5 --baseline emulator_samples.h5 -o report\n"
          "  psgm evaluate -m samples.h5 -d heldout.h5 --floor heldout2.h5 -o report --preset small\n"
          "  psgm evaluate -m samples.h5 -d heldout.h5 -o report --set evaluate.c_crit=990\n"
          "  psgm evaluate -m post.h5 -d ref.h5 --observe probes.csv   # posterior samples vs the weighted PDE ensemble\n"
          "See docs/metrics.md for the metrics, the noise floor and the output files.");
      return [config, options]() {
        Config cfg = Config::load(config->preset, presets(), config->file, config->overrides);
        psgm::stats::EvaluationRequest const request = read_request(cfg, *options);
        cfg.reject_unknown_keys();
        if (options->print_config) {
          std::cout << cfg.to_toml() << '\n';
          return 0;
        }
        require(!options->model_path.empty(), "psgm evaluate: no model samples; pass -m FILE.h5");
        require(!options->data_path.empty(), "psgm evaluate: no PDE data set; pass -d FILE.h5");
        if (!options->observe.empty()) return evaluate_posterior(request, *options);
        require(!options->output.empty(), "psgm evaluate: no output directory; pass -o DIR");
        if (!psgm::cli::is_root_process()) options->quiet = true;  // under MPI, rank 0 reports
        return evaluate(request, *options, cfg.to_toml());
      };
    });

}  // namespace cmd_evaluate
}  // namespace
