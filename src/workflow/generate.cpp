// psgm::workflow::generate: the host-side checks and attributes
// (docs/workflow.md); the batches run in impl/Generate_Impl.hpp.
#include <psgm/core/Error.hpp>
#include <psgm/core/Format.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/workflow/Generate.hpp>

#include <cstdio>
#include <limits>
#include <sstream>

namespace psgm::workflow::Impl {

std::int64_t check_generate_options(GenerateOptions const& o) {
  o.pde.validate();
  require(!o.conditions.empty(), "generate: no conditions");
  for (std::size_t m = 0; m < o.conditions.size(); ++m)
    pde::validate_condition(o.conditions[m], "generate: condition " + std::to_string(m));
  require(o.realisations >= 1, "generate: realisations = ", o.realisations, " must be >= 1");
  require(o.batch_size >= 0, "generate: batch_size = ", o.batch_size, " must be >= 0 (0: automatic)");
  require(o.memory_budget_mb > 0, "generate: memory_budget_mb = ", o.memory_budget_mb, " must be > 0");
  require(!o.output.empty(), "generate: no output file");
  o.shard.validate();
  if (o.porosity.is_gaussian_process()) o.porosity.model.validate();
  std::int64_t const M = static_cast<std::int64_t>(o.conditions.size());
  require(M <= std::numeric_limits<std::int64_t>::max() / o.realisations, "generate: ", M, " conditions x ",
          o.realisations, " realisations overflow a 64-bit count");
  // Sizes that cannot fit are refused before anything is allocated or
  // written, with what they would need: the GP's N x N covariance and its
  // factor, and one condition's realisations (a batch holds whole
  // conditions; a generous 32 N doubles per realisation covers porosity,
  // fields, the solver's and the GP's workspaces).
  int const N = o.pde.N;
  double const bytes_per_item = 32.0 * 8.0 * N;
  double const budget_bytes = o.memory_budget_mb * 1048576.0;
  if (o.porosity.is_gaussian_process())
    require(3.0 * 8.0 * double(N) * N <= budget_bytes, "generate: N = ", N, " needs ",
            format_mib(3.0 * 8.0 * double(N) * N / 1048576.0),
            " for the Gaussian process's N x N covariance and factor, more than memory_budget_mb = ",
            o.memory_budget_mb, " MiB");
  require(double(o.realisations) * bytes_per_item <= budget_bytes, "generate: realisations = ", o.realisations,
          " needs ", format_mib(double(o.realisations) * bytes_per_item / 1048576.0),
          " for one condition's batch (batches hold whole conditions), more than memory_budget_mb = ",
          o.memory_budget_mb, " MiB; at most ", std::int64_t(budget_bytes / bytes_per_item),
          " realisations per condition fit (raise the budget, or lower the realisations)");
  return static_cast<std::int64_t>(budget_bytes / bytes_per_item);
}

io::AttributeMap generate_attributes(GenerateOptions const& o, GeneratePlan const& plan, char const* backend,
                                     std::int64_t concurrency) {
  io::AttributeMap a = io::physics_attributes(o.pde, o.porosity.model);
  a.set("seed", static_cast<std::int64_t>(o.seed));
  a.set("kokkos_backend", backend);
  a.set("kokkos_concurrency", concurrency);
  a.set("realisations_per_condition", o.realisations);
  a.set("porosity_source", o.porosity.name());
  a.merge(o.attributes);
  if (!o.shard.is_whole()) {
    a.set(shard_attribute, o.shard.to_string());
    a.set(shard_first_sample_attribute, plan.first);
    a.set(shard_total_samples_attribute, plan.total);
  }
  return a;
}

}  // namespace psgm::workflow::Impl

namespace psgm::workflow {

std::string status_summary(std::vector<std::int64_t> const& counts) {
  std::ostringstream os;
  for (int k = 0; k < num_solve_statuses && k < int(counts.size()); ++k)
    if (k == 0 || counts[k] > 0) os << (k ? ", " : "") << to_string(static_cast<SolveStatus>(k)) << ' ' << counts[k];
  return os.str();
}

}  // namespace psgm::workflow
