// psgm::stats::evaluate_files (docs/metrics.md §4): host bookkeeping in
// src/stats/evaluation.cpp, device work in the comparator and, for a
// generated noise floor, in the FloorEnsemble the caller gives.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/pde/EnsembleSolver.hpp>
#include <psgm/stats/Evaluation.hpp>
#include <psgm/stats/Metrics.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace psgm::stats {
namespace Impl {

using host_fields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

/// The samples of one file grouped by condition row: ok samples (ascending
/// indices) and the count of the others.
struct FileIndex {
  io::DatasetInfo info;
  std::vector<std::vector<std::int64_t>> ok;  ///< per condition row
  std::vector<std::int64_t> dropped;          ///< per condition row
};
FileIndex index_file(io::DatasetReader const& reader);

/// Reads the samples `indices` (ascending) of `reader` into out(0 .. n-1),
/// one read per contiguous run.
void read_samples(io::DatasetReader const& reader, std::vector<std::int64_t> const& indices, host_fields out);

/// The row of `rows` equal to `c` up to round-off (relative 1e-9 per
/// component, with floors 1e-3 V for U0 and 1 for F_right); -1 if none.
std::int64_t find_condition(std::vector<pde::Condition> const& rows, pde::Condition const& c);

/// Throws psgm::InvalidArgument unless the grids agree (N and every cell centre).
void require_same_grid(io::DatasetInfo const& a, io::DatasetInfo const& b);

/// "l = 1e-05, U0 = 0, F_right = 25"
std::string describe(pde::Condition const& c);

/// Row m of a file's condition table (K values).
std::vector<double> condition_row(io::DatasetInfo const& info, std::int64_t m);
/// The row of `info` equal to `values` up to round-off: find_condition() for
/// the porous electrode's conditions, else relative 1e-9 per column (absolute
/// floor 1e-12); -1 if none.
std::int64_t find_condition(io::DatasetInfo const& info, std::vector<double> const& values);
/// "name = value, ..." in the columns of `info`'s schema.
std::string describe(io::DatasetInfo const& info, std::vector<double> const& values);

}  // namespace Impl

template <class ExecSpace>
EvaluationResult evaluate_files(ExecSpace const& space, EvaluationRequest const& request,
                                EvaluationProgress const& progress, FloorEnsemble<ExecSpace> const& floor,
                                ConditionBlock const& block) {
  ScopedRegion region("psgm::stats::evaluate_files");
  block.validate();
  using memory_space = typename ExecSpace::memory_space;
  using device_fields = Kokkos::View<double***, Kokkos::LayoutRight, memory_space>;
  request.metrics.validate();
  require(!request.model_path.empty(), "evaluation: no model-samples file was given");
  require(!request.data_path.empty(), "evaluation: no PDE data set was given");
  require(request.floor_samples >= 0 && request.floor_samples <= max_floor_samples, "evaluation: floor_samples = ",
          request.floor_samples, " must lie in [0, ", max_floor_samples, "] (0: the model's sample count)");
  require(request.max_conditions >= 0, "evaluation: max_conditions = ", request.max_conditions,
          " must be >= 0 (0: all)");

  io::DatasetReader const model_file(request.model_path);
  io::DatasetReader const data_file(request.data_path);
  std::unique_ptr<io::DatasetReader> floor_file;
  if (!request.floor_path.empty()) floor_file = std::make_unique<io::DatasetReader>(request.floor_path);
  Impl::FileIndex const model_index = Impl::index_file(model_file);
  Impl::FileIndex const data_index = Impl::index_file(data_file);
  Impl::FileIndex floor_index;
  std::unique_ptr<io::DatasetReader> baseline_file;
  Impl::FileIndex baseline_index;
  if (!request.baseline_path.empty()) {
    baseline_file = std::make_unique<io::DatasetReader>(request.baseline_path);
    baseline_index = Impl::index_file(*baseline_file);
    Impl::require_same_grid(baseline_index.info, data_index.info);
  }
  Impl::require_same_grid(model_index.info, data_index.info);
  if (floor_file) {
    floor_index = Impl::index_file(*floor_file);
    Impl::require_same_grid(floor_index.info, data_index.info);
  }
  // The ensembles describe the same channels at the same kind of conditions
  // (docs/data.md §7): a data set's schema is data, and must agree.
  io::DatasetSchema const& schema = data_index.info.schema;
  bool const porous = schema.is_porous_electrode();
  {
    auto const same_schema = [&](Impl::FileIndex const& other, std::string const& what) {
      require(other.info.schema == schema, "evaluation: ", what, " has the channels and condition columns of ",
              "another data set than the PDE data set '", request.data_path, "' (", other.info.num_channels(),
              " channel(s), ", other.info.num_condition_columns(), " condition column(s); the data set has ",
              schema.num_channels(), " and ", schema.num_condition_columns(), ", docs/data.md §7)");
    };
    same_schema(model_index, "the model samples '" + request.model_path + "'");
    if (floor_file) same_schema(floor_index, "the noise-floor file '" + request.floor_path + "'");
    if (baseline_file) same_schema(baseline_index, "the baseline samples '" + request.baseline_path + "'");
  }
  // The ensembles compared must come from the same physics: a floor of other
  // physics makes a poor model look good (docs/reliability.md). The floor
  // file must carry every physics attribute the data set does; sample files
  // record the physics of the data set their grid came from, where they have it.
  // Only the porous electrode's data sets carry physics psgm knows.
  if (porous) {
    auto const& ref = data_index.info.attributes;
    std::string const what = "the PDE data set '" + request.data_path + "'";
    if (floor_file)
      io::require_same_physics(ref, what, floor_index.info.attributes,
                               "the noise-floor file '" + request.floor_path + "'", true);
    io::require_same_physics(ref, what, model_index.info.attributes,
                             "the model samples '" + request.model_path + "'", false);
    if (baseline_file)
      io::require_same_physics(ref, what, baseline_index.info.attributes,
                               "the baseline samples '" + request.baseline_path + "'", false);
  }
  int const N = data_index.info.num_points;
  int const C = schema.num_channels();

  EvaluationResult result;
  if (!porous)
    result.notes.push_back("the data set is not the porous electrode's (channels and conditions of its own, docs/data.md "
                           "§7): the quantity of interest P(min_x c < c_crit) and the physics comparison do not apply "
                           "and were skipped");
  result.x = data_index.info.x;
  result.provenance.model_path = request.model_path;
  result.provenance.data_path = request.data_path;
  result.provenance.baseline_path = request.baseline_path;

  // ---- which conditions
  struct Match {
    std::int64_t model_row, data_row, floor_row, baseline_row;
  };
  std::vector<Match> matches;
  std::int64_t const model_conditions_count = model_index.info.num_conditions();
  auto const model_condition = [&](std::int64_t j) { return Impl::condition_row(model_index.info, j); };
  auto const describe_model = [&](std::int64_t j) { return Impl::describe(model_index.info, model_condition(j)); };
  // Conditions whose model samples failed (not finite, not converged) are
  // reported with their counts, never dropped silently.
  std::int64_t all_failed = 0, model_samples = 0;
  for (std::int64_t j = 0; j < model_conditions_count; ++j) {
    std::int64_t const ok = model_index.ok[j].size(), failed = model_index.dropped[j];
    model_samples += ok + failed;
    if (failed == 0) continue;
    if (ok == 0) ++all_failed;
    result.notes.push_back("model condition " + std::to_string(j) + " (" + describe_model(j) +
                           "): " + std::to_string(failed) + " of " + std::to_string(ok + failed) +
                           " model samples failed (status not ok)" +
                           (ok == 0 ? "; not evaluated" : "; evaluated on the " + std::to_string(ok) + " others"));
  }
  result.failed_model_conditions = all_failed;
  require(model_samples == 0 || all_failed < model_conditions_count, "evaluation: every model sample in '",
          request.model_path, "' failed (", model_samples, " samples at ", model_conditions_count,
          " conditions, none with status ok); there is nothing to evaluate (psgm sample reports the failures)");
  require(model_samples > 0, "evaluation: the model samples file '", request.model_path, "' holds no samples");
  for (std::int64_t j = 0; j < model_conditions_count; ++j) {
    if (model_index.ok[j].empty()) continue;  // reported above
    std::vector<double> const row = model_condition(j);
    std::int64_t const i = Impl::find_condition(data_index.info, row);
    if (i < 0) {
      ++result.unmatched_conditions;
      result.notes.push_back("model condition " + std::to_string(j) + " (" + describe_model(j) +
                             ") is not in the PDE data set; skipped");
      continue;
    }
    std::int64_t f = -1;
    if (floor_file) {
      f = Impl::find_condition(floor_index.info, row);
      require(f >= 0, "evaluation: the noise-floor file '", request.floor_path, "' has no condition ",
              describe_model(j), " (model condition ", j, ")");
    }
    std::int64_t b = -1;
    if (baseline_file) {
      b = Impl::find_condition(baseline_index.info, row);
      require(b >= 0 && baseline_index.ok[b].size() >= 2, "evaluation: the baseline file '", request.baseline_path,
              "' has no condition ", describe_model(j), " with 2 or more usable samples (model ",
              "condition ", j, "); draw the baseline at the same conditions as the model");
    }
    matches.push_back({j, i, f, b});
    if (request.max_conditions > 0 && std::int64_t(matches.size()) == request.max_conditions) break;
  }
  require(!matches.empty(), "evaluation: no condition of the model samples '", request.model_path,
          "' (", model_conditions_count, " conditions) is in the PDE data set '", request.data_path, "' (",
          data_index.info.num_conditions(), " conditions); evaluate samples drawn at the data set's conditions");

  // ---- sizes
  auto const floor_count = [&](Match const& m) -> std::int64_t {
    if (floor_file) return std::int64_t(floor_index.ok[m.floor_row].size());
    return request.floor_samples > 0 ? request.floor_samples : std::int64_t(model_index.ok[m.model_row].size());
  };
  std::int64_t n_model = 0, n_pde = 0, n_floor = 0, n_baseline = 0;
  for (Match const& m : matches) {
    std::int64_t const nm = model_index.ok[m.model_row].size();
    std::int64_t const np = data_index.ok[m.data_row].size();
    std::int64_t const nf = floor_count(m);
    std::string const where = "condition " + describe_model(m.model_row);
    require(nm >= 2, "evaluation: ", where, " has ", nm, " usable model samples; at least 2 are needed");
    require(np >= 2, "evaluation: ", where, " has ", np, " usable PDE samples (status ok) in '", request.data_path,
            "'; at least 2 are needed");
    require(nf >= 2, "evaluation: ", where, " has ", nf, " noise-floor samples; at least 2 are needed");
    require(nf <= max_floor_samples, "evaluation: ", nf, " noise-floor samples at ", where, " exceed ",
            max_floor_samples);
    n_model = std::max(n_model, nm);
    n_pde = std::max(n_pde, np);
    n_floor = std::max(n_floor, nf);
    if (baseline_file) {
      n_baseline = std::max<std::int64_t>(n_baseline, baseline_index.ok[m.baseline_row].size());
      result.dropped_baseline_samples += baseline_index.dropped[m.baseline_row];
    }
    result.dropped_model_samples += model_index.dropped[m.model_row];
    result.dropped_pde_samples += data_index.dropped[m.data_row];
  }

  // ---- the generated noise floor: the data set's physics, fresh porosity items
  FloorEnsembleRequest floor_request;
  typename pde::EnsembleSolver<ExecSpace>::status_view status;
  typename pde::EnsembleSolver<ExecSpace>::status_view::host_mirror_type h_status;
  if (floor_file) {
    result.provenance.floor_source = "file `" + request.floor_path + "`";
  } else {
    auto const& attributes = data_index.info.attributes;
    require(porous, "evaluation: the PDE data set '", request.data_path, "' is not the porous electrode's (",
            C, " channel(s), ", schema.num_condition_columns(), " condition column(s), docs/data.md §7), so no noise ",
            "floor can be generated by fresh PDE solves; give a second, independent ensemble at the same conditions ",
            "with the floor file option (psgm evaluate --floor FILE)");
    require(!attributes.contains("porosity_source") || attributes.get_string("porosity_source") == "gp",
            "evaluation: the PDE data set '", request.data_path,
            "' was solved on porosity fields from a file, so a noise floor cannot be drawn from the GP; "
            "give a second PDE ensemble of the same fields with the floor file option");
    require(bool(floor), "evaluation: no noise-floor file and nothing to generate the floor with; give a floor file "
            "or evaluate with psgm::workflow::evaluate, which draws and solves it");
    floor_request.params = io::electrode_parameters_from(attributes);
    floor_request.porosity = io::porosity_model_from(attributes);
    require(floor_request.params.N == N, "evaluation: the PDE data set's attribute N = ", floor_request.params.N,
            " disagrees with its grid (", N, " points)");
    floor_request.x = data_index.info.x;
    floor_request.seed = request.floor_seed ? *request.floor_seed : std::uint64_t(attributes.get_int("seed"));
    floor_request.max_count = n_floor;
    status = decltype(status)(Kokkos::view_alloc(space, "psgm::stats::floor_status"), n_floor);
    h_status = Kokkos::create_mirror_view(status);
    std::ostringstream os;
    os << "generated: " << (request.floor_samples > 0 ? std::to_string(request.floor_samples) : "as many as the model has")
       << " fresh PDE realisations per condition with the data set's physics (seed " << floor_request.seed
       << ", porosity items from 2^40)";
    result.provenance.floor_source = os.str();
  }

  // ---- buffers for the largest condition, reused
  Impl::host_fields h_model(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::stats::model_host"), n_model, C, N);
  Impl::host_fields h_pde(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::stats::pde_host"), n_pde, C, N);
  Impl::host_fields h_floor(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::stats::floor_host"), n_floor, C, N);
  device_fields d_model(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::stats::model_fields"), n_model, C, N);
  device_fields d_pde(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::stats::pde_fields"), n_pde, C, N);
  device_fields d_floor(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::stats::floor_fields"), n_floor, C, N);
  Impl::host_fields h_baseline(Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::stats::baseline_host"),
                               n_baseline, C, N);
  device_fields d_baseline(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::stats::baseline_fields"),
                           n_baseline, C, N);

  // Every condition was checked above; only those of `block` are evaluated.
  EnsembleComparator<ExecSpace> comparator(request.metrics);
  std::int64_t const K = matches.size();
  auto const [first, last] = block.range(K);
  result.first_condition = first;
  result.total_conditions = K;
  if (progress) progress(0, last - first, "");
  for (std::int64_t k = first; k < last; ++k) {
    Match const& m = matches[k];
    pde::Condition const condition = porous ? data_index.info.conditions[m.data_row] : pde::Condition{};
    std::vector<double> const condition_values = Impl::condition_row(data_index.info, m.data_row);
    std::string const condition_text = Impl::describe(data_index.info, condition_values);
    auto const rows = [](std::int64_t n) { return std::make_pair(std::int64_t(0), n); };
    auto const& model_rows = model_index.ok[m.model_row];
    auto const& pde_rows = data_index.ok[m.data_row];
    std::int64_t const nm = model_rows.size(), np = pde_rows.size();
    Impl::read_samples(model_file, model_rows, h_model);
    Impl::read_samples(data_file, pde_rows, h_pde);
    Kokkos::deep_copy(space, Kokkos::subview(d_model, rows(nm), Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(h_model, rows(nm), Kokkos::ALL, Kokkos::ALL));
    Kokkos::deep_copy(space, Kokkos::subview(d_pde, rows(np), Kokkos::ALL, Kokkos::ALL),
                      Kokkos::subview(h_pde, rows(np), Kokkos::ALL, Kokkos::ALL));
    std::int64_t nf = 0;
    if (floor_file) {
      nf = floor_index.ok[m.floor_row].size();
      result.dropped_floor_samples += floor_index.dropped[m.floor_row];
      Impl::read_samples(*floor_file, floor_index.ok[m.floor_row], h_floor);
      Kokkos::deep_copy(space, Kokkos::subview(d_floor, rows(nf), Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(h_floor, rows(nf), Kokkos::ALL, Kokkos::ALL));
    } else {
      std::int64_t const want = floor_count(m);
      auto const r = rows(want);
      floor_request.condition = condition;
      floor_request.row = m.data_row;
      floor_request.count = want;
      floor(space, floor_request, Kokkos::subview(d_floor, r, Kokkos::ALL, Kokkos::ALL), Kokkos::subview(status, r));
      // Keep the ok realisations only: compact them on the host (N·n values).
      Kokkos::deep_copy(space, Kokkos::subview(h_status, r), Kokkos::subview(status, r));
      Kokkos::deep_copy(space, Kokkos::subview(h_floor, r, Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(d_floor, r, Kokkos::ALL, Kokkos::ALL));
      space.fence();  // the statuses and fields are read on the host below
      for (std::int64_t s = 0; s < want; ++s) {
        if (h_status(s) != SolveStatus::ok) continue;
        if (nf != s)
          for (int c = 0; c < C; ++c)
            for (int i = 0; i < N; ++i) h_floor(nf, c, i) = h_floor(s, c, i);
        ++nf;
      }
      result.dropped_floor_samples += want - nf;
      require(nf >= 2, "evaluation: only ", nf, " of ", want, " generated noise-floor realisations at condition ",
              condition_text, " solved without failure; at least 2 are needed");
      if (nf < want)
        Kokkos::deep_copy(space, Kokkos::subview(d_floor, rows(nf), Kokkos::ALL, Kokkos::ALL),
                          Kokkos::subview(h_floor, rows(nf), Kokkos::ALL, Kokkos::ALL));
    }
    MetricsOptions options = request.metrics;
    options.evaluation_index = std::uint64_t(k);
    options.quantity_of_interest = porous;  // P(min_x c < c_crit) is the porous electrode's
    comparator.set_options(options);
    auto comparison = comparator.compare(space, Kokkos::subview(d_model, rows(nm), Kokkos::ALL, Kokkos::ALL),
                                         Kokkos::subview(d_pde, rows(np), Kokkos::ALL, Kokkos::ALL),
                                         Kokkos::subview(d_floor, rows(nf), Kokkos::ALL, Kokkos::ALL));
    std::optional<EnsembleComparison> baseline;
    if (baseline_file) {
      // The same PDE ensemble, floor and permutation stream: model and
      // baseline are judged on equal terms.
      auto const& baseline_rows = baseline_index.ok[m.baseline_row];
      std::int64_t const nb = baseline_rows.size();
      Impl::read_samples(*baseline_file, baseline_rows, h_baseline);
      Kokkos::deep_copy(space, Kokkos::subview(d_baseline, rows(nb), Kokkos::ALL, Kokkos::ALL),
                        Kokkos::subview(h_baseline, rows(nb), Kokkos::ALL, Kokkos::ALL));
      baseline = comparator.compare(space, Kokkos::subview(d_baseline, rows(nb), Kokkos::ALL, Kokkos::ALL),
                                    Kokkos::subview(d_pde, rows(np), Kokkos::ALL, Kokkos::ALL),
                                    Kokkos::subview(d_floor, rows(nf), Kokkos::ALL, Kokkos::ALL));
    }
    // The data set's own channel names (the comparator knows only their number).
    comparison.channels = schema.channels;
    if (baseline) baseline->channels = schema.channels;
    ConditionEvaluation evaluation;
    evaluation.condition = condition;
    evaluation.condition_index = m.data_row;
    evaluation.comparison = std::move(comparison);
    evaluation.baseline = std::move(baseline);
    if (!porous) {
      evaluation.condition_values = condition_values;
      evaluation.condition_names = schema.conditions.names;
      evaluation.condition_units = schema.conditions.units;
    }
    result.conditions.push_back(std::move(evaluation));
    if (progress) progress(k + 1 - first, last - first, condition_text);
  }
  if (block.is_whole()) note_left_out_samples(result);
  return result;
}

}  // namespace psgm::stats
