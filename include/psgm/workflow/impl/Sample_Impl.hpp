// psgm::workflow::sample: the batches of a sampler (or the emulator's exact
// draws) streamed into a data set file. Templated on the draws object, so
// compiled where it is used (the models' samplers are instantiated in
// libpsgm and libpsgm_torch).
#pragma once

#include <psgm/io/ModelFile.hpp>
#include <psgm/posterior/GaussianPosterior.hpp>
#include <psgm/posterior/PosteriorSampler.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/SamplerKernels.hpp>
#include <psgm/workflow/Sample.hpp>
#include <psgm/workflow/ScoreBackends.hpp>
#if PSGM_HAS_TORCH
#include <psgm/torch/TorchScoreModel.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

namespace psgm::workflow {

inline SamplePlan plan_sample(model::ModelDescription const& model, SampleOptions const& o) {
  ScopedRegion region("psgm::workflow::plan_sample");
  bool const emulator = model.kind == model::ModelKind::gaussian_emulator;
  int const N = model.field_points(), C = model.field_channels();
  int const K = model.condition_schema().size();
  require(o.samples >= 1, "sample: samples = ", o.samples, " must be >= 1 (samples per condition)");
  require(o.batch_size >= 0, "sample: batch_size = ", o.batch_size, " must be >= 0 (0: automatic)");
  require(o.memory_budget_mb > 0, "sample: memory_budget_mb = ", o.memory_budget_mb, " must be > 0");
  require(!o.output.empty(), "sample: no output file");
  require(!o.conditions.empty() && o.conditions.size() % std::size_t(K) == 0, "sample: ", o.conditions.size(),
          " condition values are not rows of the model's ", K, " columns");
  require(static_cast<int>(o.x.size()) == N, "sample: the grid has ", o.x.size(), " points; the model ", N);
  o.shard.validate();
  if (!emulator) o.sampler.validate(sde::DiffusionProcess(model.sde));
  if (!o.observations.empty()) {
    // Refused here, before any output exists: probes off the grid or of an
    // unknown channel, a model that cannot be guided, a sampler that is not
    // compiled for guidance.
    posterior::ObservationOperator const H(o.observations, o.x, C);
    require(emulator || model.whitening.has_value(), "sample: observations guide a whitened score model (psgm train "
            "--preset residual) or the Gaussian emulator; this model has the reference normalisation");
    require(emulator || o.sampler.kind == sde::SamplerKind::edm_heun, "sample: posterior sampling of a score model "
            "uses the EDM Heun sampler (sampler.kind = \"edm_heun\"), not ", sde::to_string(o.sampler.kind),
            " (other methods compose with posterior::GuidedScore through the library, docs/posterior.md)");
    if (!emulator) o.refinement.validate();
  }
  std::int64_t const M = static_cast<std::int64_t>(o.conditions.size()) / K;
  require(M <= std::numeric_limits<std::int64_t>::max() / o.samples, "sample: ", M, " conditions x ", o.samples,
          " samples overflow a 64-bit count");
  SamplePlan plan;
  plan.total = M * o.samples;
  std::tie(plan.first, plan.last) = o.shard.range(plan.total);
  // Batch size: what fits memory_budget_mb (sampler workspaces, about 12
  // fields, and the network's activations, about 16 x width per point).
  auto const& arch = model.architecture;
  double const bytes_per_sample =
      emulator ? 3.0 * sizeof(double) * C * N
               : double(sizeof(double)) * arch.num_points * (12.0 * arch.channels + 16.0 * arch.width) +
                     3.0 * sizeof(double) * C * N;
  plan.batch = o.batch_size;
  if (plan.batch == 0)
    plan.batch = std::max<std::int64_t>(1, static_cast<std::int64_t>(o.memory_budget_mb * 1048576.0 / bytes_per_sample));
  // The batch size the file records is the whole run's, whichever shard this is.
  plan.batch = std::min(plan.batch, plan.total);
  require(plan.batch <= std::numeric_limits<int>::max(), "sample: a batch of ", plan.batch, " samples is too large");
  return plan;
}

inline std::int64_t planned_nfe(model::ModelDescription const& model, SampleOptions const& o) {
  if (model.kind == model::ModelKind::gaussian_emulator) return 0;
  std::int64_t const sampler = o.sampler.planned_nfe();
  if (o.observations.empty() || sampler == 0) return sampler;
  std::int64_t const per_call =
      o.guidance == posterior::Guidance::jacobian ? 1 + static_cast<std::int64_t>(o.observations.size()) : 1;
  return sampler * per_call + o.refinement.steps;
}

inline std::string method_description(model::ModelDescription const& model, SampleOptions const& o) {
  if (model.kind == model::ModelKind::gaussian_emulator) return "exact draws";
  std::string method = o.sampler.describe();
  if (!o.observations.empty() && o.refinement.steps > 0) method += ", " + o.refinement.describe();
  return method;
}

template <class Draws>
SampleResult sample_with(typename Draws::execution_space const& space, Draws& draws,
                         model::ModelDescription const& model, SampleOptions const& o, Progress const& progress,
                         EvaluationHook const& on_evaluation) {
  ScopedRegion region("psgm::workflow::sample_with");
  auto const t_start = std::chrono::steady_clock::now();
  SampleResult result;
  result.plan = plan_sample(model, o);
  SamplePlan const& plan = result.plan;
  bool const emulator = model.kind == model::ModelKind::gaussian_emulator;
  int const N = model.field_points(), C = model.field_channels();
  io::DatasetSchema const schema{model.field_channel_names(), model.condition_schema()};
  int const K = schema.num_condition_columns();
  std::int64_t const batch = std::min(plan.batch, plan.size());
  result.planned_nfe = planned_nfe(model, o);
  result.method = method_description(model, o);

  io::AttributeMap attributes = o.attributes;
  attributes.set("seed", static_cast<std::int64_t>(o.seed));
  attributes.set("kokkos_backend", Draws::execution_space::name());
  attributes.set("kokkos_concurrency", static_cast<std::int64_t>(space.concurrency()));
  attributes.set("model_kind", model::to_string(model.kind));
  attributes.set("model_sde", emulator ? "none" : model::to_string(model.sde.type));
  attributes.set("sampler", emulator ? "exact" : sde::to_string(o.sampler.kind));
  attributes.set("sampler_config", emulator ? std::string("exact Gaussian draws (no sampler)") : o.sampler.to_toml());
  attributes.set("samples_per_condition", o.samples);
  attributes.set("batch_size", plan.batch);
  if (!o.shard.is_whole()) {
    attributes.set(shard_attribute, o.shard.to_string());
    attributes.set(shard_first_sample_attribute, plan.first);
    attributes.set(shard_total_samples_attribute, plan.total);
  }
  io::DatasetWriterOptions wopts = o.writer;
  wopts.store_porosity = false;
  io::DatasetWriter writer(o.output, o.x, schema, o.conditions, attributes, wopts);

  typename Draws::field_view fields(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::workflow::sample::fields")), batch, C, N);
  typename Draws::status_view status(
      Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string("psgm::workflow::sample::status")), batch);
  Kokkos::DefaultHostExecutionSpace const host;
  auto h_fields = Kokkos::create_mirror_view(fields);
  auto h_status = Kokkos::create_mirror_view(status);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> h_cond("psgm::workflow::sample::conditions", batch, K);
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> h_index("psgm::workflow::sample::condition_index", batch);
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> h_out("psgm::workflow::sample::output", batch, C, N);

  std::int64_t done = 0;
  if (progress) progress(0, plan.size(), "");
  if (on_evaluation) draws.on_evaluation(on_evaluation);
  double nfe_mean_sum = 0;
  for (std::int64_t first = plan.first; first < plan.last; first += batch) try {
    std::int64_t const b = std::min(batch, plan.last - first);
    for (std::int64_t i = 0; i < b; ++i) {
      std::int64_t const m = (first + i) / o.samples;
      for (int k = 0; k < K; ++k) h_cond(i, k) = o.conditions[std::size_t(m * K + k)];
      h_index(i) = m;
    }
    // The first b rows of each buffer (LayoutRight: contiguous).
    typename Draws::field_view out(fields.data(), b, C, N);
    typename Draws::status_view st(status.data(), b);
    decltype(h_fields) h_f(h_fields.data(), b, C, N);
    decltype(h_status) h_st(h_status.data(), b);
    auto const report =
        draws.sample(space, typename Draws::host_condition_view(h_cond.data(), b, K), o.seed, first, out, st);
    Kokkos::deep_copy(space, h_f, out);
    Kokkos::deep_copy(space, h_st, st);
    space.fence();  // the host converts and writes this batch next
    for (std::int64_t i = 0; i < b; ++i)
      for (int c = 0; c < C; ++c)
        for (int k = 0; k < N; ++k) h_out(i, c, k) = static_cast<double>(h_f(i, c, k));
    // Nothing is stored as ok unless every value is finite, whatever the
    // draws reported (the emulator reports none of its own): the samplers'
    // own check, on the host copy that is written. Counting fences `host`.
    sde::Impl::check_finite(host, h_out, h_st, int(b));
    std::int64_t const failed = sde::Impl::count_failed(host, h_st, int(b));
    writer.append(io::DatasetWriter::host_fields_view(h_out.data(), b, C, N),
                  io::DatasetWriter::host_index_view(h_index.data(), b),
                  io::DatasetWriter::host_status_view(h_st.data(), b));
    done += b;
    result.failed += failed;
    ++result.batches;
    result.network_evaluations += report.nfe;
    result.nfe_max = std::max(result.nfe_max, report.max_nfe_per_sample);
    nfe_mean_sum += report.mean_nfe_per_sample * b;
    if (progress) progress(done, plan.size(), result.failed > 0 ? std::to_string(result.failed) + " failed" : "");
  } catch (...) {
    writer.fail(std::current_exception());  // with psgm::mpi's group: the other processes stop too
    throw;
  }
  if (on_evaluation) draws.on_evaluation({});
  result.nfe_mean = nfe_mean_sum / plan.size();
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  io::AttributeMap record;
  record.set("nfe", result.nfe_max);
  record.set("nfe_mean_per_sample", result.nfe_mean);
  record.set("network_evaluations", result.network_evaluations);
  record.set("wall_time_s", result.wall_s);
  record.set("samples_per_second", plan.size() / result.wall_s);
  record.set("num_failed", result.failed);
  writer.set_attributes(record);
  writer.commit();
  return result;
}

template <class Backend>
SampleResult sample(Backend, Kokkos::DefaultExecutionSpace const& space, model::ModelDescription const& model,
                    std::string const& dtype, SampleOptions const& options, Progress const& progress,
                    EvaluationHook const& on_evaluation) {
  static_assert(std::is_same_v<Backend, score::LibTorch> ||
                    std::is_same_v<Backend, score::Native<Kokkos::DefaultExecutionSpace>>,
                "psgm::workflow::sample: the backend is score::LibTorch or "
                "score::Native<Kokkos::DefaultExecutionSpace> (the native model runs on the space passed in)");
  ScopedRegion region("psgm::workflow::sample");
  bool const observed = !options.observations.empty();
  std::optional<posterior::ObservationOperator> H;
  SampleOptions recorded = options;
  if (observed) {
    H.emplace(options.observations, options.x, model.field_channels());
    recorded.attributes.set("observations", posterior::to_csv(options.observations, model.field_channel_names()));
    recorded.attributes.set("posterior", model.kind == model::ModelKind::gaussian_emulator
                                             ? "exact Gaussian posterior (Matheron's update)"
                                             : std::string("guided score (") + posterior::to_string(options.guidance) +
                                                   " moment matching)" +
                                                   (options.refinement.steps > 0 ? ", " + options.refinement.describe()
                                                                                 : std::string()) +
                                                   ", the Gaussian tail conditioned exactly");
  }
  if (model.kind == model::ModelKind::gaussian_emulator) {
    require(model.whitening.has_value(), "sample: a Gaussian emulator without its whitening");
    SampleOptions o = recorded;
    o.attributes.set("score_backend", "none");
    o.attributes.set("dtype", "float64");
    if (observed) {
      posterior::GaussianPosterior<Kokkos::DefaultExecutionSpace> draws(*model.whitening, *H);
      return sample_with(space, draws, model, o, progress, on_evaluation);
    }
    EmulatorDraws<Kokkos::DefaultExecutionSpace> draws(*model.whitening);
    return sample_with(space, draws, model, o, progress, on_evaluation);
  }
  require(dtype == "float32" || dtype == "float64", "sample: dtype = '", dtype, "'; expected 'float32' or 'float64'");
  auto run = [&](auto scalar) {
    using Model = score::ScoreModel<Backend, decltype(scalar)>;
    using Space = typename Model::execution_space;
    // The native model runs on the caller's instance, LibTorch on its own host space.
    Space model_space;
    if constexpr (std::is_same_v<Space, Kokkos::DefaultExecutionSpace>) model_space = space;
    auto make_model = [&]() {
      if constexpr (std::is_same_v<Backend, score::LibTorch>)
        return Model(model);
      else
        return Model(space, model);
    };
    Model m = make_model();
    SamplePlan const plan = plan_sample(model, options);
    int const max_batch = static_cast<int>(std::min(plan.batch, plan.size()));
    SampleOptions o = recorded;
    o.attributes.set("score_backend", Backend::name());
    o.attributes.set("dtype", dtype);
    if (observed) {
      posterior::PosteriorSampler<Model, sde::EdmHeun> draws(
          model_space, m, *H, options.sampler.template of<sde::EdmHeun>(), max_batch, options.guidance,
          options.refinement);
      return sample_with(model_space, draws, model, o, progress, on_evaluation);
    }
    sde::Sampler<Model> draws(model_space, m, options.sampler, max_batch);
    return sample_with(model_space, draws, model, o, progress, on_evaluation);
  };
  return dtype == "float64" ? run(double{}) : run(float{});
}

inline SampleResult sample(Kokkos::DefaultExecutionSpace const& space, model::ModelDescription const& model,
                           std::string const& backend, std::string const& dtype, SampleOptions const& options,
                           Progress const& progress, EvaluationHook const& on_evaluation) {
  // A Gaussian emulator draws exactly, with no score backend: the name is not read.
  if (model.kind == model::ModelKind::gaussian_emulator)
    return sample(score::Native<Kokkos::DefaultExecutionSpace>{}, space, model, dtype, options, progress,
                  on_evaluation);
  return with_score_backend(
      backend, [&](auto b) { return sample(b, space, model, dtype, options, progress, on_evaluation); },
      "psgm sample");
}

}  // namespace psgm::workflow
