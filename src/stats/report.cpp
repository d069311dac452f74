// Tables of an evaluation (docs/metrics.md §5).
#include <psgm/core/Error.hpp>
#include <psgm/stats/Report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace psgm::stats {
namespace {

/// Full precision for CSV (machine-read).
std::string num(double v) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}
/// Short form for markdown (human-read).
std::string short_num(double v) {
  if (std::isnan(v)) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}
std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * v);
  return buf;
}
std::string interval(Proportion const& p) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.3f [%.3f, %.3f]", p.estimate, p.lower, p.upper);
  return buf;
}
char const* metric_title(Metric m) {
  switch (m) {
    case Metric::mean_error: return "mean error";
    case Metric::spread_error: return "spread error";
    case Metric::coverage: return "band coverage";
    case Metric::wasserstein: return "W1 (mean over x)";
    case Metric::energy_distance: return "energy distance";
    case Metric::energy_p_value: return "energy p-value";
  }
  return "?";
}
bool porous_channels(EnsembleComparison const& c) {
  return c.channels == std::vector<std::string>{field_names[0], field_names[1]};
}
std::string field_title(EnsembleComparison const& c, int f) {
  if (porous_channels(c)) return f == 0 ? "c [mol/m³]" : "φ [V]";
  return c.channels[std::size_t(f)];
}

// The condition columns: the data set's, or the porous electrode's (l, U0, F_right).
std::vector<std::string> condition_names(ConditionEvaluation const& e) {
  if (!e.condition_values.empty()) return e.condition_names;
  return {"l", "U0", "F_right"};
}
std::vector<double> condition_values(ConditionEvaluation const& e) {
  if (!e.condition_values.empty()) return e.condition_values;
  return {e.condition.l, e.condition.U0, e.condition.F_right};
}

int num_channels(std::vector<ConditionEvaluation> const& evaluations) {
  return evaluations.empty() ? 0 : evaluations.front().comparison.num_channels();
}

bool has_qoi(std::vector<ConditionEvaluation> const& evaluations) {
  for (auto const& e : evaluations)
    if (!e.comparison.has_qoi) return false;
  return !evaluations.empty();
}

void require_consistent(std::vector<ConditionEvaluation> const& evaluations) {
  require(!evaluations.empty(), "evaluation report: no conditions were evaluated");
  auto const& first = evaluations.front();
  for (auto const& e : evaluations) {
    int const C = e.comparison.num_channels();
    require(e.comparison.num_points > 0 && C >= 1 &&
                e.comparison.pinned.size() == std::size_t(C) * std::size_t(e.comparison.num_points) &&
                e.comparison.floor.size() == std::size_t(C) && e.comparison.channels.size() == std::size_t(C),
            "evaluation report: condition ", e.condition_index, " has no comparison results");
    require(e.comparison.channels == first.comparison.channels && condition_names(e) == condition_names(first),
            "evaluation report: condition ", e.condition_index, " has other channels or condition columns than the ",
            "first");
  }
}

}  // namespace

std::pair<double, double> summarize_metric(std::vector<ConditionEvaluation> const& evaluations, int field,
                                           Metric metric) {
  require(field >= 0 && field < std::max(num_fields, num_channels(evaluations)), "summarize_metric: field ", field,
          " does not exist");
  double model = 0.0, floor = 0.0;
  int count = 0;
  for (auto const& e : evaluations) {
    double const m = e.comparison.model[field].get(metric);
    double const f = e.comparison.floor[field].get(metric);
    if (metric == Metric::energy_p_value) {
      if (std::isnan(m) || std::isnan(f)) continue;
      model += m < 0.01 ? 1.0 : 0.0;
      floor += f < 0.01 ? 1.0 : 0.0;
    } else {
      model += m;
      floor += f;
    }
    ++count;
  }
  if (count == 0) return {std::nan(""), std::nan("")};
  return {model / count, floor / count};
}

bool has_baseline(std::vector<ConditionEvaluation> const& evaluations) {
  if (evaluations.empty()) return false;
  for (auto const& e : evaluations)
    if (!e.baseline) return false;
  return true;
}

double summarize_baseline(std::vector<ConditionEvaluation> const& evaluations, int field, Metric metric) {
  require(field >= 0 && field < std::max(num_fields, num_channels(evaluations)), "summarize_baseline: field ", field,
          " does not exist");
  if (!has_baseline(evaluations)) return std::nan("");
  double sum = 0.0;
  int count = 0;
  for (auto const& e : evaluations) {
    double const b = e.baseline->model[field].get(metric);
    if (metric == Metric::energy_p_value) {
      if (std::isnan(b)) continue;
      sum += b < 0.01 ? 1.0 : 0.0;
    } else {
      sum += b;
    }
    ++count;
  }
  return count ? sum / count : std::nan("");
}

std::string metrics_csv(std::vector<ConditionEvaluation> const& evaluations) {
  require_consistent(evaluations);
  bool const baseline = has_baseline(evaluations);
  std::ostringstream os;
  os << "condition_index";
  for (auto const& n : condition_names(evaluations.front())) os << ',' << n;
  os << ",field,n_model,n_pde,n_floor,pinned_points";
  for (Metric m : all_metrics) os << ',' << to_string(m) << ',' << to_string(m) << "_floor";
  if (baseline) {
    os << ",n_baseline";
    for (Metric m : all_metrics) os << ',' << to_string(m) << "_baseline";
  }
  os << '\n';
  for (auto const& e : evaluations) {
    auto const& c = e.comparison;
    for (int f = 0; f < c.num_channels(); ++f) {
      os << e.condition_index;
      for (double v : condition_values(e)) os << ',' << num(v);
      os << ',' << c.channels[std::size_t(f)] << ',' << c.model_profile.num_samples << ','
         << c.pde_profile.num_samples << ',' << c.floor_profile.num_samples << ',' << c.num_pinned(f);
      for (Metric m : all_metrics) os << ',' << num(c.model[f].get(m)) << ',' << num(c.floor[f].get(m));
      if (baseline) {
        os << ',' << e.baseline->model_profile.num_samples;
        for (Metric m : all_metrics) os << ',' << num(e.baseline->model[f].get(m));
      }
      os << '\n';
    }
  }
  return os.str();
}

std::string qoi_csv(std::vector<ConditionEvaluation> const& evaluations) {
  require_consistent(evaluations);
  bool const baseline = has_baseline(evaluations);
  std::ostringstream os;
  if (!has_qoi(evaluations)) {
    os << "# no quantity of interest: P(min_x c < c_crit) is the porous electrode's, and this data set's channels are";
    for (auto const& n : evaluations.front().comparison.channels) os << ' ' << n;
    os << '\n';
    return os.str();
  }
  os << "condition_index,l,U0,F_right,c_crit,c_crit_from_data";
  for (char const* e : {"pde", "model", "floor"}) os << ",p_" << e << ",p_" << e << "_lower,p_" << e << "_upper";
  os << ",error,error_floor";
  if (baseline) os << ",p_baseline,p_baseline_lower,p_baseline_upper,error_baseline";
  os << '\n';
  for (auto const& e : evaluations) {
    auto const& q = e.comparison.qoi;
    os << e.condition_index << ',' << num(e.condition.l) << ',' << num(e.condition.U0) << ','
       << num(e.condition.F_right) << ',' << num(q.c_crit) << ',' << (q.c_crit_from_data ? 1 : 0);
    for (Proportion const* p : {&q.pde, &q.model, &q.floor})
      os << ',' << num(p->estimate) << ',' << num(p->lower) << ',' << num(p->upper);
    os << ',' << num(q.error()) << ',' << num(q.floor_error());
    if (baseline) {
      // The baseline's own comparison drew the same PDE ensemble, so its
      // c_crit (a quantile of the PDE's min c) is this one.
      auto const& b = e.baseline->qoi;
      os << ',' << num(b.model.estimate) << ',' << num(b.model.lower) << ',' << num(b.model.upper) << ','
         << num(b.error());
    }
    os << '\n';
  }
  return os.str();
}

std::string metrics_markdown(std::vector<ConditionEvaluation> const& evaluations, MetricsOptions const& options,
                             EvaluationProvenance const& provenance) {
  require_consistent(evaluations);
  std::ostringstream os;
  os << "# psgm evaluation\n\n";
  os << "- model samples: `" << provenance.model_path << "`\n";
  os << "- PDE data set: `" << provenance.data_path << "`\n";
  os << "- noise floor: " << provenance.floor_source << "\n";
  bool const qoi = has_qoi(evaluations);
  os << "- conditions: " << evaluations.size() << "; band level " << options.band_level << "; "
     << options.permutations << " permutations (seed " << options.seed << ")";
  if (qoi)
    os << "; QoI threshold "
       << (options.c_crit ? "c_crit = " + short_num(*options.c_crit) + " mol/m³"
                          : "c_crit = " + short_num(options.c_crit_quantile) + "-quantile of the PDE's min_x c")
       << "; Wilson intervals at " << options.confidence;
  else
    os << "; no quantity of interest (P(min_x c < c_crit) is the porous electrode's)";
  os << "\n\n";
  if (!provenance.notes.empty()) {
    os << "**Left out or failed** (counts per condition):\n\n";
    for (auto const& note : provenance.notes) os << "- " << note << '\n';
    os << '\n';
  }
  os << "Every metric is shown beside its **noise floor**: the same metric computed with a second, independent "
        "PDE ensemble in place of the model (docs/metrics.md). A model is as good as the data allow when its "
        "metrics sit at the floor. Definitions: M1 mean error ‖μ_model − μ_pde‖₂/‖σ_pde‖₂, M2 spread error "
        "‖σ_model − σ_pde‖₂/‖σ_pde‖₂, M3 fraction of PDE values inside the model's pointwise "
     << options.band_level * 100
     << " % band, M4 pointwise 1-D Wasserstein distance averaged over the free grid points, M5 energy distance of "
        "the fields standardised by the PDE's pointwise mean and spread, with its permutation p-value"
     << (qoi ? ", M6 P(min_x c < c_crit)" : "") << ".\n\n";

  bool const baseline = has_baseline(evaluations);
  if (baseline)
    os << "Beside the model stands the **conditional Gaussian emulator** (`" << provenance.baseline_path
       << "`): regressed mean and spread with one pooled correlation, fitted on the same training data. A score "
          "model earns its cost only where it beats it.\n\n";
  os << "## Summary over " << evaluations.size() << " condition" << (evaluations.size() == 1 ? "" : "s") << "\n\n";
  if (baseline)
    os << "| field | metric | model | Gaussian emulator | noise floor | model / floor | emulator / floor |\n"
          "|---|---|---|---|---|---|---|\n";
  else
    os << "| field | metric | model | noise floor | model / floor |\n|---|---|---|---|---|\n";
  auto const cell = [&](double v, Metric m) {
    return m == Metric::energy_p_value ? percent(v) : short_num(v);
  };
  auto const& channels = evaluations.front().comparison.channels;
  int const C = num_channels(evaluations);
  for (int f = 0; f < C; ++f)
    for (Metric m : all_metrics) {
      auto const [model, floor] = summarize_metric(evaluations, f, m);
      double const base = summarize_baseline(evaluations, f, m);
      os << "| " << channels[std::size_t(f)] << " | " << metric_title(m);
      if (m == Metric::energy_p_value)
        os << " (share with p < 0.01)";
      else if (m == Metric::coverage)
        os << " (target " << options.band_level << ")";
      else
        os << " (mean)";
      os << " | " << cell(model, m);
      if (baseline) os << " | " << cell(base, m);
      os << " | " << cell(floor, m);
      bool const ratio = m != Metric::energy_p_value && m != Metric::coverage && floor > 0;
      os << " | " << (ratio ? short_num(model / floor) : "");
      if (baseline) os << " | " << (ratio ? short_num(base / floor) : "");
      os << " |\n";
    }
  double qoi_model = 0, qoi_floor = 0, qoi_base = 0;
  if (qoi) {
    for (auto const& e : evaluations) {
      qoi_model += e.comparison.qoi.error() / evaluations.size();
      qoi_floor += e.comparison.qoi.floor_error() / evaluations.size();
      if (baseline) qoi_base += e.baseline->qoi.error() / evaluations.size();
    }
    os << "| c | QoI error abs(P_model − P_pde) (mean) | " << short_num(qoi_model);
    if (baseline) os << " | " << short_num(qoi_base);
    os << " | " << short_num(qoi_floor) << " | " << (qoi_floor > 0 ? short_num(qoi_model / qoi_floor) : "–");
    if (baseline) os << " | " << (qoi_floor > 0 ? short_num(qoi_base / qoi_floor) : "–");
    os << " |";
  }
  os << "\n\n";
  if (baseline) {
    // Said plainly: where the model does not beat the emulator.
    std::vector<std::string> losses;
    for (int f = 0; f < C; ++f)
      for (Metric m : all_metrics) {
        double const model = summarize_metric(evaluations, f, m).first, base = summarize_baseline(evaluations, f, m);
        bool worse = false;
        if (m == Metric::coverage)
          worse = std::abs(model - options.band_level) > std::abs(base - options.band_level);
        else
          worse = model > base;
        if (worse) losses.push_back(channels[std::size_t(f)] + " " + metric_title(m));
      }
    if (qoi && qoi_model > qoi_base) losses.push_back("QoI error");
    os << "**Where the model does not beat the Gaussian emulator:** ";
    if (losses.empty()) {
      os << "nowhere in this summary.\n\n";
    } else {
      for (std::size_t k = 0; k < losses.size(); ++k) os << (k ? ", " : "") << losses[k];
      os << ".\n\n";
    }
  }

  auto const& first = evaluations.front();
  std::vector<std::string> const columns = condition_names(first);
  for (int f = 0; f < C; ++f) {
    os << "## " << field_title(first.comparison, f) << ": model (noise floor)\n\n";
    os << "| row |";
    if (first.condition_values.empty()) {
      os << " l [m] | U0 [V] | F_right |";
    } else {
      for (std::size_t k = 0; k < columns.size(); ++k)
        os << ' ' << columns[k]
           << (k < first.condition_units.size() && first.condition_units[k] != "1" ? " [" + first.condition_units[k] + "]"
                                                                                    : std::string())
           << " |";
    }
    os << " n model/pde/floor |";
    for (Metric m : all_metrics) os << ' ' << metric_title(m) << " |";
    os << "\n|---|";
    for (std::size_t k = 0; k < columns.size(); ++k) os << "---|";
    os << "---|";
    for (int k = 0; k < num_metrics; ++k) os << "---|";
    os << '\n';
    for (auto const& e : evaluations) {
      auto const& c = e.comparison;
      os << "| " << e.condition_index << " |";
      for (double v : condition_values(e)) os << ' ' << short_num(v) << " |";
      os << ' ' << c.model_profile.num_samples << '/'
         << c.pde_profile.num_samples << '/' << c.floor_profile.num_samples << " |";
      for (Metric m : all_metrics) os << ' ' << short_num(c.model[f].get(m)) << " (" << short_num(c.floor[f].get(m)) << ") |";
      os << '\n';
    }
    os << '\n';
  }

  if (!qoi) return os.str();
  os << "## Quantity of interest P(min_x c < c_crit), " << options.confidence * 100 << " % Wilson intervals\n\n";
  os << "| row | c_crit [mol/m³] | PDE | model | floor | abs(ΔP) model (floor) |\n|---|---|---|---|---|---|\n";
  for (auto const& e : evaluations) {
    auto const& q = e.comparison.qoi;
    os << "| " << e.condition_index << " | " << short_num(q.c_crit) << " | " << interval(q.pde) << " | "
       << interval(q.model) << " | " << interval(q.floor) << " | " << short_num(q.error()) << " ("
       << short_num(q.floor_error()) << ") |\n";
  }
  return os.str();
}

}  // namespace psgm::stats
