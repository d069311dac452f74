// psgm::workflow::evaluate_posterior (docs/posterior.md §4): the files read
// and matched on the host, the comparison on the caller's execution space
// (psgm/posterior/Reference.hpp), for every enabled execution space (ETI).
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/posterior/Reference.hpp>
#include <psgm/stats/impl/Evaluation_Impl.hpp>
#include <psgm/workflow/EvaluatePosterior.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>

namespace psgm::workflow {

std::vector<posterior::Observation> recorded_observations(std::string const& samples_path) {
  io::DatasetReader const reader(samples_path);
  auto const& info = reader.info();
  if (!info.attributes.contains("observations")) return {};
  return posterior::parse_observations_csv(info.attributes.get_string("observations"), info.schema.channels,
                                           samples_path + ", attribute 'observations'");
}

void require_same_observations(std::vector<posterior::Observation> const& given,
                               std::vector<posterior::Observation> const& recorded, std::string const& where) {
  require(given.size() == recorded.size(), where, " records ", recorded.size(),
          " observation(s), the samples were drawn given other probes than the ", given.size(),
          " given: refusing to judge them against this posterior");
  auto const same = [](double a, double b) { return a == b || std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b)); };
  for (std::size_t j = 0; j < given.size(); ++j) {
    auto const& g = given[j];
    auto const& r = recorded[j];
    require(g.channel == r.channel && same(g.x, r.x) && same(g.value, r.value) && same(g.noise_std, r.noise_std),
            where, ": observation ", j, " is recorded as (channel ", r.channel, ", x = ", r.x, ", value = ", r.value,
            ", noise_std = ", r.noise_std, ") but given as (channel ", g.channel, ", x = ", g.x, ", value = ", g.value,
            ", noise_std = ", g.noise_std,
            "): the samples were drawn given other probes; refusing to judge them against this posterior");
  }
}

template <class ExecSpace>
PosteriorEvaluateResult evaluate_posterior(ExecSpace const& space, PosteriorEvaluateOptions const& options) {
  ScopedRegion region("psgm::workflow::evaluate_posterior");
  using Mem = typename ExecSpace::memory_space;
  options.reference.validate();
  require(!options.observations.empty(), "evaluate_posterior: no observations");
  io::DatasetReader const samples_file(options.samples_path);
  io::DatasetReader const reference_file(options.reference_path);
  stats::Impl::FileIndex const samples_index = stats::Impl::index_file(samples_file);
  stats::Impl::FileIndex const reference_index = stats::Impl::index_file(reference_file);
  auto const& si = samples_index.info;
  auto const& ri = reference_index.info;
  stats::Impl::require_same_grid(si, ri);
  require(si.schema.channels == ri.schema.channels, "evaluate_posterior: '", si.path, "' and '", ri.path,
          "' hold different channels");
  PosteriorEvaluateResult result;
  result.channels = ri.schema.channels;
  int const C = ri.num_channels(), N = ri.num_points;
  // The operator on the reference's grid checks every probe (inside the grid,
  // a known channel, noise > 0).
  posterior::ObservationOperator const H(options.observations, ri.x, C);
  if (si.attributes.contains("observations")) {
    require_same_observations(
        options.observations,
        posterior::parse_observations_csv(si.attributes.get_string("observations"), si.schema.channels,
                                          si.path + ", attribute 'observations'"),
        "'" + si.path + "'");
    result.observations_recorded = true;
  }
  for (std::int64_t m = 0; m < si.num_conditions(); ++m) {
    auto const& rows = samples_index.ok[std::size_t(m)];
    if (rows.empty()) continue;
    std::vector<double> const values = stats::Impl::condition_row(si, m);
    std::int64_t const r = stats::Impl::find_condition(ri, values);
    require(r >= 0, "evaluate_posterior: the reference '", ri.path, "' has no fields at condition ", m, " of '",
            si.path, "' (", stats::Impl::describe(si, values), ")");
    auto const& ref_rows = reference_index.ok[std::size_t(r)];
    PosteriorConditionResult c;
    c.samples_row = m;
    c.reference_row = r;
    c.description = stats::Impl::describe(si, values);
    stats::Impl::host_fields h_samples("psgm::workflow::posterior_samples", rows.size(), C, N);
    stats::Impl::host_fields h_reference("psgm::workflow::posterior_reference", ref_rows.size(), C, N);
    stats::Impl::read_samples(samples_file, rows, h_samples);
    stats::Impl::read_samples(reference_file, ref_rows, h_reference);
    // The host buffers themselves on a host space; else copies on `space`.
    auto const d_samples = Kokkos::create_mirror_view(Mem{}, h_samples);
    auto const d_reference = Kokkos::create_mirror_view(Mem{}, h_reference);
    Kokkos::deep_copy(space, d_samples, h_samples);
    Kokkos::deep_copy(space, d_reference, h_reference);
    c.comparison = posterior::compare_posterior<ExecSpace>(space, d_samples, d_reference, H, options.reference);
    result.conditions.push_back(std::move(c));
  }
  require(!result.conditions.empty(), "evaluate_posterior: '", si.path, "' holds no sample with status ok");
  return result;
}

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI(Space)                                              \
  template psgm::workflow::PosteriorEvaluateResult psgm::workflow::evaluate_posterior<Space>( \
      Space const&, psgm::workflow::PosteriorEvaluateOptions const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI)
#undef PSGM_WORKFLOW_EVALUATE_POSTERIOR_ETI
