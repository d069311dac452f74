// `psgm pipeline`: psgm's main job, end to end (spec sgm.md §6, issue 7):
//
//   1. generate   a training data set of PDE ensembles (random conditions)
//   2. train      the conditional Gaussian emulator on it (its whitening is
//                 the residual score model's prior)
//   3. train      a conditional score model on the same data
//   4. generate   PDE ensembles at held-out conditions (never in training)
//   5. sample     the same number of fields from the model at those conditions
//   6. sample     as many from the emulator
//   7. evaluate   model and emulator vs PDE, every metric beside its noise
//                 floor; figures
//   8. report     summary.md: what ran, how long, the headline numbers
//
// Each step is the psgm subcommand a user would type, run in this process
// with the arguments recorded in <out>/commands.sh, so every step can be
// rerun or changed by hand. The default preset `demo` is sized to finish in
// well under 15 minutes on two CPU cores; `--reference` (or --preset
// reference) runs the full reference configuration of the spec (a GPU job).
#include "Command.hpp"
#include "OutputPolicy.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Runtime.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/stats/Evaluation.hpp>

#include <Kokkos_Core.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_pipeline {

namespace fs = std::filesystem;
using psgm::cli::Config;

// ------------------------------------------------------------------ presets
// The demo: 2000 training conditions x 50 realisations (100 000 fields),
// the Gaussian emulator (level x shape spread) and the residual score model
// on its whitening (6000 steps), 20 held-out conditions x 200
// fields, the EDM Heun sampler with 25 levels (49 network evaluations), the
// Gaussian part of its flow integrated exactly. The data regime, the step
// count and the sampler were chosen on validation conditions of another seed
// (docs/results.md §2), never on the reported ones.
constexpr char const* demo_preset = R"(# psgm pipeline, preset 'demo' (docs/results.md)
[pipeline]
seed = 2024                # seeds every step (each step derives its own streams from it)
backend = "auto"           # score backend for train and sample: "auto" (libtorch when built in, else native),
                           # "libtorch" or "native"
figures = true             # PNG figures through python3 + matplotlib when present
keep_data = true           # keep the data sets and the model in <out>/data

[train_data]               # step 1: psgm generate
preset = "small"
conditions = 2000          # random conditions of the reference ranges
realisations = 50          # porosity fields per condition (at 100 000 fields, 2000 x 50 beat 1000 x 100 and
                           # 4000 x 25 on validation; docs/results.md §2)
set = []                   # further `psgm generate --set` overrides, e.g. ["pde.N=64"]

[emulator]                 # step 2: psgm train --preset gaussian on the same data: the yardstick
enabled = true
set = ["model.whitening_spread=level_shape"]  # sigma(u) as channel level x shape: better than log sigma
                           # from ~2000 training conditions (docs/training.md); the score model reuses it

[train]                    # step 3: psgm train
preset = "residual"        # the residual score model on whitened fields; "reference": spec sgm.md §4
steps = 6000               # 6000 reached the floor on validation where 3000 left c's spread 1.26x off
whitening_from_emulator = true   # a whitened model reuses the emulator's whitening (model.whitening_from)
                           # instead of fitting the same regressions again; needs emulator.enabled
set = []                   # further `psgm train --set` overrides

[heldout]                  # step 4: psgm generate at held-out conditions
conditions = 20
realisations = 200         # PDE fields per held-out condition (the model draws as many)
set = []

[sample]                   # step 5 (and 6 for the emulator): psgm sample
preset = "small"
sampler = "edm_heun"
steps = 25                 # edm_heun: 25 levels, 49 network evaluations per sample
exact_gaussian = true      # edm_heun: the Gaussian part of the flow integrated exactly, Heun on the rest
                           # (plain Heun widened the spread by 1-2 %; docs/results.md §2e); others ignore it
set = []

[evaluate]                 # step 7: psgm evaluate (noise floor generated on the fly)
preset = "small"
set = []
)";

// The reference configuration of the spec: the reference data set (1000 x 25),
// the reference network and training (batch 1024, 5000 epochs), the reference
// sampler (stochastic Heun, 1000 steps), n = 1000 per held-out condition.
constexpr char const* reference_preset = R"(# psgm pipeline, preset 'reference' (a GPU job)
[pipeline]
seed = 2024
backend = "auto"
figures = true
keep_data = true

[train_data]
preset = "reference"
conditions = 1000
realisations = 25
set = []

[emulator]
enabled = true
set = []

[train]
preset = "reference"
steps = 0                  # 0: the preset's (5000 epochs)
whitening_from_emulator = false  # the reference network is not whitened
set = []

[heldout]
conditions = 20
realisations = 1000
set = []

[sample]
preset = "reference"
sampler = "stochastic_heun"
steps = 1000
exact_gaussian = false
set = []

[evaluate]
preset = "reference"
set = []
)";

std::vector<std::pair<std::string, std::string>> const& presets() {
  static std::vector<std::pair<std::string, std::string>> const p{{"demo", demo_preset},
                                                                  {"reference", reference_preset}};
  return p;
}

// ------------------------------------------------------------------ steps
struct StepRecord {
  std::string name;  // the subcommand
  std::vector<std::string> args;
  std::string label;  // which step of the pipeline: train_data, train, emulator, heldout, sample, ...
  double seconds = 0;
};

std::string shell_quote(std::string const& s) {
  bool plain = !s.empty();
  for (char ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || std::string("-_./=:,+").find(ch) != std::string::npos))
      plain = false;
  if (plain) return s;
  std::string out = "'";
  for (char ch : s) out += (ch == '\'') ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

std::string command_line(StepRecord const& step) {
  std::string line = "psgm " + step.name;
  for (auto const& a : step.args) line += " " + shell_quote(a);
  return line;
}

/// Runs a registered subcommand in this process with the given arguments,
/// exactly as `psgm <name> <args...>` would.
int run_subcommand(StepRecord& step, bool quiet) {
  for (auto const& command : psgm::cli::registry()) {
    if (command.name != step.name) continue;
    CLI::App app{command.description, "psgm " + command.name};
    auto runner = command.setup(app);
    std::vector<std::string> reversed(step.args.rbegin(), step.args.rend());  // CLI11 consumes from the back
    try {
      app.parse(reversed);
    } catch (CLI::ParseError const& e) {
      throw psgm::InvalidArgument("pipeline step '" + command_line(step) + "': " + e.what());
    }
    if (!quiet) std::cerr << "\n[pipeline] " << command_line(step) << '\n';
    auto const start = std::chrono::steady_clock::now();
    int const rc = runner();
    step.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!quiet) std::cerr << "[pipeline] " << step.name << " took " << psgm::cli::format_duration(step.seconds) << '\n';
    return rc;
  }
  throw psgm::InvalidArgument("pipeline: psgm was built without the '" + step.name +
                              "' command (it needs PSGM_ENABLE_HDF5=ON)");
}

/// Checks a step's configuration without running it: the step's own
/// `--print-config` run (every key known, every value in range), its output
/// discarded. Inputs that earlier steps write do not exist yet: their
/// options are left out, and a conditions file stands for one placeholder
/// row (psgm::cli::configuration_check_only).
void check_step_configuration(StepRecord const& step) {
  StepRecord check{step.name, {}, step.label};
  for (std::size_t k = 0; k < step.args.size(); ++k) {
    auto const& a = step.args[k];
    bool const file_option = a == "-m" || a == "-d" || a == "--data" || a == "--baseline" || a == "--floor";
    if (file_option && k + 1 < step.args.size() && !fs::exists(step.args[k + 1])) {
      ++k;
      continue;
    }
    check.args.push_back(a);
  }
  check.args.push_back("--print-config");
  std::ostringstream discard;
  auto* const old_buf = std::cout.rdbuf(discard.rdbuf());
  psgm::cli::configuration_check_only() = true;
  try {
    run_subcommand(check, true);
  } catch (psgm::Error const& e) {
    std::cout.rdbuf(old_buf);
    psgm::cli::configuration_check_only() = false;
    throw psgm::InvalidArgument("pipeline: the " + step.label + " step's configuration is refused (nothing was run "
                                "or removed): " + e.what());
  } catch (...) {
    std::cout.rdbuf(old_buf);
    psgm::cli::configuration_check_only() = false;
    throw;
  }
  std::cout.rdbuf(old_buf);
  psgm::cli::configuration_check_only() = false;
}

void append_sets(std::vector<std::string>& args, std::vector<std::string> const& sets) {
  for (auto const& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
}

// ------------------------------------------------------------------ report
/// metrics.csv of `psgm evaluate` -> per field, per metric: mean over
/// conditions of the model value and of its floor.
struct Headline {
  struct Value {
    double model = 0, floor = 0, baseline = 0;
  };
  struct Count {
    int model = 0, floor = 0, baseline = 0;
  };
  std::vector<std::string> metrics;                                   // in column order
  std::map<std::string, std::map<std::string, Value>> mean;           // field -> metric -> mean over conditions
  std::map<std::string, std::map<std::string, Count>> p_small;        // p-value < 0.01 counts
  std::map<std::string, int> conditions;                              // field -> rows
  bool baseline = false;                                              // the evaluation had the emulator beside
  Value qoi;                                                          // mean QoI error
};

std::vector<std::string> split_csv(std::string const& line) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : line) {
    if (ch == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

Headline read_headline(fs::path const& csv_path) {
  std::ifstream in(csv_path);
  psgm::require<psgm::IoError>(bool(in), "pipeline: cannot read ", csv_path.string());
  std::string line;
  std::getline(in, line);
  auto const header = split_csv(line);
  Headline h;
  int field_col = -1;
  std::vector<int> metric_cols, baseline_cols;
  for (std::size_t k = 0; k < header.size(); ++k) {
    if (header[k] == "field") field_col = static_cast<int>(k);
    if (k + 1 < header.size() && header[k + 1] == header[k] + "_floor") {
      h.metrics.push_back(header[k]);
      metric_cols.push_back(static_cast<int>(k));
    }
  }
  for (auto const& name : h.metrics)
    for (std::size_t k = 0; k < header.size(); ++k)
      if (header[k] == name + "_baseline") baseline_cols.push_back(static_cast<int>(k));
  h.baseline = !h.metrics.empty() && baseline_cols.size() == h.metrics.size();
  psgm::require<psgm::IoError>(field_col >= 0 && !metric_cols.empty(), "pipeline: unexpected columns in ",
                               csv_path.string());
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto const cells = split_csv(line);
    std::string const field = cells.at(field_col);
    h.conditions[field]++;
    for (std::size_t m = 0; m < metric_cols.size(); ++m) {
      double const model = std::stod(cells.at(metric_cols[m]));
      double const floor = std::stod(cells.at(metric_cols[m] + 1));
      double const base = h.baseline ? std::stod(cells.at(baseline_cols[m])) : 0.0;
      auto& acc = h.mean[field][h.metrics[m]];
      acc.model += model;
      acc.floor += floor;
      acc.baseline += base;
      if (h.metrics[m].find("p_value") != std::string::npos) {
        auto& cnt = h.p_small[field][h.metrics[m]];
        cnt.model += model < 0.01;
        cnt.floor += floor < 0.01;
        cnt.baseline += base < 0.01;
      }
    }
  }
  for (auto& [field, metrics] : h.mean)
    for (auto& [name, acc] : metrics) {
      acc.model /= h.conditions[field];
      acc.floor /= h.conditions[field];
      acc.baseline /= h.conditions[field];
    }
  return h;
}

/// qoi.csv of `psgm evaluate` -> the mean QoI errors.
void read_qoi(fs::path const& csv_path, Headline& h) {
  std::ifstream in(csv_path);
  psgm::require<psgm::IoError>(bool(in), "pipeline: cannot read ", csv_path.string());
  std::string line;
  std::getline(in, line);
  auto const header = split_csv(line);
  auto col = [&](char const* name) {
    for (std::size_t k = 0; k < header.size(); ++k)
      if (header[k] == name) return static_cast<int>(k);
    return -1;
  };
  int const e = col("error"), f = col("error_floor"), b = col("error_baseline");
  psgm::require<psgm::IoError>(e >= 0 && f >= 0, "pipeline: unexpected columns in ", csv_path.string());
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto const cells = split_csv(line);
    h.qoi.model += std::stod(cells.at(e));
    h.qoi.floor += std::stod(cells.at(f));
    if (b >= 0) h.qoi.baseline += std::stod(cells.at(b));
    ++n;
  }
  if (n > 0) {
    h.qoi.model /= n;
    h.qoi.floor /= n;
    h.qoi.baseline /= n;
  }
}

std::string fmt(double v) {
  std::ostringstream os;
  os << std::setprecision(3) << v;
  return os.str();
}

void write_summary(fs::path const& out, std::string const& preset, std::vector<StepRecord> const& steps,
                   Headline const& headline, Config const& cfg, bool figures_drawn, std::int64_t train_fields,
                   std::int64_t heldout_fields) {
  std::ofstream md(out / "summary.md");
  double total = 0;
  for (auto const& s : steps) total += s.seconds;
  md << "# psgm pipeline report\n\n"
     << psgm::build_info() << ", " << Kokkos::DefaultExecutionSpace::name() << " with "
     << Kokkos::DefaultExecutionSpace().concurrency() << " threads; preset `" << preset << "`; total "
     << psgm::cli::format_duration(total) << ".\n\n"
     << "A conditional score model was trained on " << train_fields
     << " PDE fields and compared, at held-out conditions it never saw, with fresh PDE ensembles; every metric "
        "stands beside its noise floor (the same metric between two independent PDE ensembles of the same "
        "size). A model is as good as the data allows when its metrics sit at the floor."
     << (headline.baseline ? " Beside it stands the conditional Gaussian emulator (regressed mean and spread, one "
                             "pooled correlation) fitted on the same data: the score model earns its cost only "
                             "where it beats it."
                           : "")
     << "\n\n";
  md << "## Steps\n\n| step | command | time |\n|---|---|---|\n";
  for (auto const& s : steps)
    md << "| " << s.name << " | `" << command_line(s) << "` | " << psgm::cli::format_duration(s.seconds) << " |\n";
  md << "\nThe commands are in `commands.sh`; each can be rerun by hand.\n\n";

  md << "## Headline: mean over " << (headline.conditions.empty() ? 0 : headline.conditions.begin()->second)
     << " held-out conditions\n\n";
  bool const b = headline.baseline;
  if (b)
    md << "| metric | c: model | c: emulator | c: floor | φ: model | φ: emulator | φ: floor |\n"
          "|---|---|---|---|---|---|---|\n";
  else
    md << "| metric | c: model | c: floor | φ: model | φ: floor |\n|---|---|---|---|---|\n";
  for (auto const& name : headline.metrics) {
    md << "| " << name;
    for (char const* field : {"c", "phi"}) {
      auto fit = headline.mean.find(field);
      if (fit == headline.mean.end() || !fit->second.count(name)) {
        md << (b ? " | – | – | –" : " | – | –");
        continue;
      }
      auto const v = fit->second.at(name);
      if (name.find("p_value") != std::string::npos) {
        auto const n = headline.p_small.at(field).at(name);
        md << " | p<0.01 at " << n.model;
        if (b) md << " | p<0.01 at " << n.baseline;
        md << " | p<0.01 at " << n.floor;
      } else {
        md << " | " << fmt(v.model);
        if (b) md << " | " << fmt(v.baseline);
        md << " | " << fmt(v.floor);
      }
    }
    md << " |\n";
  }
  md << "| QoI error abs(P_model − P_pde), P(min c < c_crit) | " << fmt(headline.qoi.model);
  if (b) md << " | " << fmt(headline.qoi.baseline);
  md << " | " << fmt(headline.qoi.floor) << (b ? " | | | |\n" : " | | |\n");
  md << "\nEnergy-test rows count the held-out conditions (of " << (headline.conditions.empty() ? 0 : headline.conditions.begin()->second)
     << ") at which the test tells the ensemble from the PDE's at p < 0.01. `metrics.md` says plainly where the "
        "model does not beat the emulator.\n";
  md << "\nDefinitions: docs/metrics.md in the psgm sources (mean and spread errors in units of the PDE spread, 95 % band coverage of the PDE values by the "
        "model's band, grid-averaged 1-D Wasserstein distance, energy distance with its permutation p-value). "
        "Per-condition tables: `metrics.md`, `metrics.csv`, `qoi.csv`; the data behind every figure: "
        "`evaluation.h5`.\n\n";
  auto step_seconds = [&](std::string const& label) {
    for (auto const& st : steps)
      if (st.label == label) return st.seconds;
    return 0.0;
  };
  md << "## Cost per field\n\n| | seconds per field |\n|---|---|\n"
     << "| PDE ensemble (GP draw + solve + write), held-out set | "
     << fmt(step_seconds("heldout") / heldout_fields) << " |\n"
     << "| score-model sampling (" << cfg.get<std::string>("sample.sampler") << ", "
     << (psgm::sde::SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(cfg.get<std::string>("sample.sampler")))
                 .accepts("steps")
             ? std::to_string(cfg.get<std::int64_t>("sample.steps")) + " steps"
             : std::string("adaptive steps"))
     << ") | " << fmt(step_seconds("sample") / heldout_fields) << " |\n";
  if (b)
    md << "| Gaussian emulator (exact draws) | " << fmt(step_seconds("sample_emulator") / heldout_fields) << " |\n";
  bool const reused = cfg.get<bool>("train.whitening_from_emulator");
  md << "\nTraining cost is paid once: " << psgm::cli::format_duration(step_seconds("train"))
     << (b ? (reused ? " for the network, on top of the emulator's " : " (the emulator: ") +
                 psgm::cli::format_duration(step_seconds("emulator")) +
                 (reused ? " (the regressions of its whitening, which the score model reuses)" : ")")
           : std::string())
     << ". At this grid size the PDE solver is cheap; sampling pays off only when one solve costs more than "
        "the network evaluations a sample needs (docs/results.md discusses where that is).\n\n";
  md << "## Figures\n\n";
  if (figures_drawn) {
    md << "In `figures/`: `bands_<k>.png` (mean ± 95 % band, PDE blue vs model red, for c and φ at held-out "
          "condition k), `spread_<k>.png` (spread profiles), `metrics.png` (every metric per condition, model "
          "vs floor).\n";
  } else {
    md << "Not drawn (no python3 with matplotlib, or `pipeline.figures = false`); the data behind them is in "
          "`evaluation.h5`.\n";
  }
}

// ------------------------------------------------------------------ command
struct Options {
  std::string output = "psgm-report";
  bool overwrite = false;
  bool reference = false;
  bool quiet = false;
  bool print_config = false;
};

int run_pipeline(Options const& options, psgm::cli::ConfigOptions const& config_options) {
  psgm::ScopedRegion region("psgm::cli::pipeline");
  std::string const preset = options.reference ? "reference" : config_options.preset;
  Config cfg = Config::load(preset, presets(), config_options.file, config_options.overrides);
  if (options.print_config) {
    std::cout << cfg.to_toml() << '\n';
    return 0;
  }
  auto const seed = cfg.get<std::int64_t>("pipeline.seed");
  std::string backend = cfg.get<std::string>("pipeline.backend");
  psgm::require(backend == "auto" || backend == "native" || backend == "libtorch",
                "configuration: pipeline.backend = '", backend, "': expected \"auto\", \"native\" or \"libtorch\"");
  if (backend == "auto") backend = PSGM_HAS_TORCH ? "libtorch" : "native";
  psgm::require(backend != "libtorch" || PSGM_HAS_TORCH,
                "configuration: pipeline.backend = \"libtorch\", but psgm was built without LibTorch "
                "(reconfigure with -DPSGM_ENABLE_TORCH=ON, or use \"native\")");
  bool const figures = cfg.get<bool>("pipeline.figures");
  bool const keep_data = cfg.get<bool>("pipeline.keep_data");
  auto const train_conditions = cfg.get<std::int64_t>("train_data.conditions");
  auto const train_realisations = cfg.get<std::int64_t>("train_data.realisations");
  auto const train_steps = cfg.get<std::int64_t>("train.steps");
  auto const heldout_conditions = cfg.get<std::int64_t>("heldout.conditions");
  auto const heldout_realisations = cfg.get<std::int64_t>("heldout.realisations");
  auto const sampler = cfg.get<std::string>("sample.sampler");
  auto const sampler_steps = cfg.get<std::int64_t>("sample.steps");
  // The name table knows the sampler (before any work) and whether it takes steps (ode_dopri5 does not).
  bool const sampler_takes_steps =
      psgm::sde::SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(sampler)).accepts("steps");
  // edm_heun's exact_gaussian (docs/sampling.md §4); a sampler without it ignores the key, as ode_dopri5 steps.
  bool const exact_gaussian =
      cfg.get<bool>("sample.exact_gaussian") &&
      psgm::sde::SamplerConfig::defaults(psgm::sde::sampler_kind_from_string(sampler)).accepts("exact_gaussian");
  psgm::require(train_conditions >= 2 && train_realisations >= 1, "configuration: train_data needs >= 2 conditions ",
                "and >= 1 realisation, got ", train_conditions, " x ", train_realisations);
  psgm::require(heldout_conditions >= 1 && heldout_realisations >= 10, "configuration: heldout needs >= 1 condition ",
                "and >= 10 realisations (the metrics compare ensembles), got ", heldout_conditions, " x ",
                heldout_realisations);
  psgm::require(train_steps >= 0 && sampler_steps >= 1, "configuration: train.steps = ", train_steps,
                " must be >= 0 (0: the train preset's) and sample.steps = ", sampler_steps, " >= 1");
  std::vector<std::string> step_presets;
  for (char const* key : {"train_data.preset", "train.preset", "sample.preset", "evaluate.preset"})
    step_presets.push_back(cfg.get<std::string>(key));
  std::vector<std::vector<std::string>> sets;
  for (char const* key : {"train_data.set", "train.set", "heldout.set", "sample.set", "evaluate.set", "emulator.set"})
    sets.push_back(cfg.get_strings(key));
  bool const emulator = cfg.get<bool>("emulator.enabled");
  bool const reuse_whitening = cfg.get<bool>("train.whitening_from_emulator");
  psgm::require(!reuse_whitening || emulator, "configuration: train.whitening_from_emulator = true reuses the ",
                "emulator's whitening, but emulator.enabled = false; set one of them the other way");
  cfg.reject_unknown_keys();

  fs::path const out = fs::absolute(options.output);
  fs::path const data = out / "data";

  std::string const s = std::to_string(seed);
  std::vector<StepRecord> steps;
  // 1. training data
  steps.push_back({"generate",
                   {"--preset", step_presets[0], "-o", (data / "train.h5").string(), "--seed", s, "--set",
                    "conditions.count=" + std::to_string(train_conditions), "--set",
                    "conditions.realisations=" + std::to_string(train_realisations)},
                   "train_data"});
  append_sets(steps.back().args, sets[0]);
  // 2. the Gaussian emulator on the same data (every condition: it has no
  //    network to validate)
  if (emulator) {
    steps.push_back({"train",
                     {"--preset", "gaussian", "--data", (data / "train.h5").string(), "-o",
                      (data / "emulator.h5").string(), "--seed", s},
                     "emulator"});
    append_sets(steps.back().args, sets[5]);
  }
  // 3. training; a whitened model takes the emulator's whitening (its μ, σ
  //    and basis are the same regressions of the same data) instead of
  //    fitting them a second time
  steps.push_back({"train",
                   {"--preset", step_presets[1], "--data", (data / "train.h5").string(), "-o",
                    (data / "model.h5").string(), "--seed", s, "--backend", backend},
                   "train"});
  if (train_steps > 0) append_sets(steps.back().args, {"training.steps=" + std::to_string(train_steps)});
  if (reuse_whitening) append_sets(steps.back().args, {"model.whitening_from=" + (data / "emulator.h5").string()});
  append_sets(steps.back().args, sets[1]);
  // 4. held-out PDE ensembles: the same physics as the training data (same
  //    generate preset and overrides), conditions from the held-out design.
  steps.push_back({"generate",
                   {"--preset", step_presets[0], "-o", (data / "heldout.h5").string(), "--seed", s, "--set",
                    "conditions.source=heldout", "--set", "conditions.count=" + std::to_string(heldout_conditions),
                    "--set", "conditions.realisations=" + std::to_string(heldout_realisations)},
                   "heldout"});
  append_sets(steps.back().args, sets[0]);
  append_sets(steps.back().args, sets[2]);
  // 5. model samples at the held-out conditions (and 6. the emulator's)
  auto sample_step = [&](fs::path const& model, fs::path const& output, char const* label) {
    steps.push_back({"sample",
                     {"--preset", step_presets[2], "-m", model.string(), "-o", output.string(), "--seed", s,
                      "--backend", backend, "-n", std::to_string(heldout_realisations), "--sampler", sampler,
                      "--set", "conditions.source=file", "--set", "conditions.file=" + (data / "heldout.h5").string(),
                      "--set", "sample.grid_from=" + (data / "heldout.h5").string()},
                     label});
    if (sampler_takes_steps) append_sets(steps.back().args, {"sampler.steps=" + std::to_string(sampler_steps)});
    if (exact_gaussian) append_sets(steps.back().args, {"sampler.exact_gaussian=true"});
    append_sets(steps.back().args, sets[3]);
  };
  sample_step(data / "model.h5", data / "samples.h5", "sample");
  if (emulator) sample_step(data / "emulator.h5", data / "emulator_samples.h5", "sample_emulator");
  // 7. evaluation (noise floor generated on the fly), figures
  steps.push_back({"evaluate",
                   {"--preset", step_presets[3], "-m", (data / "samples.h5").string(), "-d",
                    (data / "heldout.h5").string(), "-o", out.string(), "--overwrite"},
                   "evaluate"});
  if (emulator) {
    steps.back().args.push_back("--baseline");
    steps.back().args.push_back((data / "emulator_samples.h5").string());
  }
  if (figures) steps.back().args.push_back("--figures");
  append_sets(steps.back().args, sets[4]);
  if (options.quiet)
    for (auto& st : steps) st.args.push_back("-q");

  // Every step's configuration is checked before anything is run or removed.
  for (auto const& st : steps) check_step_configuration(st);

  // The output directory (OutputPolicy.hpp): an existing one needs
  // --overwrite, and then only what psgm wrote there (listed in its manifest)
  // is removed; a file the run would write that psgm did not write is refused.
  std::vector<std::string> planned{"pipeline.toml", "commands.sh", "summary.md"};
  for (auto const& p : psgm::stats::evaluation_output_paths(out.string()))
    planned.push_back(fs::path(p).filename().string());
  for (auto const& st : steps)
    for (std::size_t k = 0; k + 1 < st.args.size(); ++k)
      if (st.args[k] == "-o" && st.name != "evaluate") {
        planned.push_back(fs::path(st.args[k + 1]).lexically_relative(out).generic_string());
        if (st.name == "train")
          planned.push_back(fs::path(psgm::score::checkpoint_path(st.args[k + 1])).lexically_relative(out).generic_string());
      }
  psgm::cli::Manifest manifest(out);
  if (fs::exists(out) && !fs::is_empty(out)) {
    psgm::require<psgm::IoError>(options.overwrite, "pipeline: the output directory ", out.string(),
                                 " exists and is not empty; choose another -o or pass --overwrite");
    for (auto const& p : planned) {
      std::error_code ec;
      psgm::require<psgm::IoError>(!fs::exists(fs::symlink_status(out / p, ec)) || manifest.lists(out / p), "pipeline: ",
                                   (out / p).string(), " exists but was not written by psgm (it is not listed in ",
                                   (out / psgm::cli::Manifest::file_name).string(),
                                   "); --overwrite replaces only what psgm wrote: move it away or choose another -o");
    }
    auto const removed = manifest.remove_listed();
    if (!options.quiet && !removed.empty())
      std::cerr << "[pipeline] --overwrite: removed " << removed.size() << " file(s) of the previous run (listed in "
                << (out / psgm::cli::Manifest::file_name).string() << "); nothing else\n";
  }
  fs::create_directories(data);
  // Recorded before any step runs, so that the files of an interrupted run
  // are known to the next --overwrite as well.
  {
    std::vector<std::string> files;
    for (auto const& p : planned) files.push_back((out / p).string());
    manifest.add(files);
  }
  { std::ofstream(out / "pipeline.toml") << cfg.to_toml() << '\n'; }

  {
    std::ofstream sh(out / "commands.sh");
    sh << "#!/bin/sh\n# The steps of `psgm pipeline --preset " << preset << "`, as run.\nset -e\n";
    for (auto const& st : steps) sh << command_line(st) << '\n';
  }
  fs::permissions(out / "commands.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add);

  // Ctrl-C or SIGTERM stops the pipeline in the step it is in (each step
  // stops at its next unit of work, training with a checkpoint); the steps
  // after it do not run and no report is written.
  psgm::cli::InterruptScope signals;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    auto& st = steps[k];
    std::string const where = "step " + std::to_string(k + 1) + " of " + std::to_string(steps.size()) + " (" +
                              st.label + ": " + command_line(st) + ")";
    int rc = 0;
    try {
      rc = run_subcommand(st, options.quiet);
    } catch (psgm::cli::Interrupted const& e) {
      throw psgm::cli::Interrupted("pipeline stopped in " + where + ": " + e.what() +
                                   "; the steps after it did not run and no report was written");
    }
    if (psgm::cli::InterruptScope::interrupted()) {
      std::cerr << "psgm pipeline: interrupted in " << where
                << "; the steps after it did not run and no report was written"
                << (st.name == "train" ? " (the training checkpoint is kept; rerun the remaining steps of "
                                         "commands.sh by hand, or the pipeline with --overwrite)"
                                       : "")
                << '\n';
      return psgm::cli::InterruptScope::interrupted_exit_code();
    }
    psgm::require<psgm::Error>(rc == 0, "pipeline: step '", command_line(st), "' failed with exit code ", rc);
  }

  Headline headline = read_headline(out / "metrics.csv");
  read_qoi(out / "qoi.csv", headline);
  bool const figures_drawn = figures && fs::exists(out / "figures") && !fs::is_empty(out / "figures");
  write_summary(out, preset, steps, headline, cfg, figures_drawn, train_conditions * train_realisations,
                heldout_conditions * heldout_realisations);
  if (!keep_data) {
    // Only the data files this run wrote; anything else in data/ stays.
    std::error_code ec;
    for (auto const& p : planned)
      if (p.rfind("data/", 0) == 0) fs::remove(out / p, ec);
    if (fs::is_empty(data, ec)) fs::remove(data, ec);
  }
  std::cout << "psgm pipeline: report in " << out.string() << " (summary.md, metrics.md, "
            << (figures_drawn ? "figures/, " : "") << "evaluation.h5, commands.sh)\n";
  return 0;
}

psgm::cli::RegisterCommand pipeline_command(
    "pipeline", "the whole job: generate -> train -> sample -> evaluate -> report on held-out conditions",
    [](CLI::App& app) -> std::function<int()> {
      auto options = std::make_shared<Options>();
      std::vector<std::string> names;
      for (auto const& [name, text] : presets()) names.push_back(name);
      auto config = psgm::cli::add_config_options(app, "demo", names);
      app.add_option("-o,--output", options->output, "report directory")->capture_default_str();
      app.add_flag("--overwrite", options->overwrite, "replace the report directory's previous contents");
      app.add_flag("--reference", options->reference,
                   "the full reference configuration of the spec (same as --preset reference; a GPU job)");
      app.add_flag("-q,--quiet", options->quiet, "no progress on stderr");
      app.add_flag("--print-config", options->print_config, "print the effective configuration and exit");
      app.footer(
          "\nExamples:\n"
          "  psgm pipeline -o report                      # the demo: under 15 minutes on 2 cores\n"
          "  psgm pipeline --reference -o report-ref      # the spec's reference configuration (GPU)\n"
          "  psgm pipeline -o r --set train.steps=6000 --set sample.sampler=ode_dopri5\n"
          "See docs/results.md for what the report holds and the numbers it gave.");
      return [options, config] { return run_pipeline(*options, *config); };
    });

}  // namespace cmd_pipeline
}  // namespace
