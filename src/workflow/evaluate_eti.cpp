// psgm::workflow::evaluate for every enabled execution space (ETI): the
// evaluation of psgm::stats with its noise floor drawn and solved by
// EnsembleGenerator, then the outputs.
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/workflow/Evaluate.hpp>
#include <psgm/workflow/impl/EnsembleGenerator_Impl.hpp>

#include <memory>

namespace psgm::workflow {

template <class ExecSpace>
stats::FloorEnsemble<ExecSpace> floor_ensemble() {
  // One generator for the whole evaluation (its buffers and the porosity
  // factors' cache), built with the first condition's request.
  auto generator = std::make_shared<std::unique_ptr<EnsembleGenerator<ExecSpace>>>();
  return [generator](ExecSpace const& space, stats::FloorEnsembleRequest const& r,
                     Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space> fields,
                     Kokkos::View<SolveStatus*, typename ExecSpace::memory_space> status) {
    if (!*generator)
      *generator = std::make_unique<EnsembleGenerator<ExecSpace>>(
          space, r.params, PorositySource::gaussian_process(r.porosity),
          PorosityItems{r.seed, std::int64_t(stats::floor_item_offset), stats::max_floor_samples},
          static_cast<int>(r.max_count));
    auto const batch = (*generator)->generate(space, {{r.condition, r.row, 0, r.count}});
    Kokkos::deep_copy(space, fields, batch.fields);
    Kokkos::deep_copy(space, status, batch.status);
  };
}

template <class ExecSpace>
EvaluateResult evaluate(ExecSpace const& space, EvaluateOptions const& options,
                        stats::EvaluationProgress const& progress) {
  ScopedRegion region("psgm::workflow::evaluate");
  EvaluateResult out;
  out.result = stats::evaluate_files(space, options.request, progress, floor_ensemble<ExecSpace>());
  out.result.provenance.config_toml = options.config_toml;
  out.files = stats::write_evaluation_outputs(options.output, out.result, options.request.metrics, options.overwrite);
  return out;
}

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_EVALUATE_INST(Space)                                                                 \
  template psgm::stats::FloorEnsemble<Space> psgm::workflow::floor_ensemble<Space>();                      \
  template psgm::workflow::EvaluateResult psgm::workflow::evaluate<Space>(                                 \
      Space const&, psgm::workflow::EvaluateOptions const&, psgm::stats::EvaluationProgress const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_EVALUATE_INST)
#undef PSGM_WORKFLOW_EVALUATE_INST
