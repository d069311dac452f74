// psgm sample as a library call: a trained model (or the conditional Gaussian
// emulator), a sampler and a data set writer (docs/sampling.md §8;
// docs/workflow.md). Available when psgm is built with PSGM_ENABLE_HDF5.
// Not part of psgm/psgm.hpp: sample() by backend name reaches every score
// backend, so a program that calls it links psgm::torch when psgm has it;
// sample(score::Native<Kokkos::DefaultExecutionSpace>{}, ...) instantiates the
// native backend alone.
//
//   psgm::workflow::SampleOptions o;
//   o.conditions = {1e-5, 0.0, 25.0}; o.samples = 100; o.x = grid; o.output = "s.h5";
//   o.sampler = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::dpm_solver_2m);
//   auto result = psgm::workflow::sample(space, psgm::io::read_model("model.h5"), "native", "float32", o);
//
// Sample r of condition m is global sample m n + r: its noise depends on
// (seed, m n + r) only, so the file is the same whatever the batch size, and
// shard i of n (options.shard) writes exactly samples [first, last) of it.
// With the same seed, backend, precision and thread count it is identical.
// psgm::mpi::sample (psgm/mpi/Sample.hpp, docs/scaling.md) takes a communicator.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/posterior/GuidedScore.hpp>
#include <psgm/posterior/Observations.hpp>
#include <psgm/sde/SamplerConfig.hpp>
#include <psgm/sde/samplers/SamplerParameters.hpp>
#include <psgm/workflow/Generate.hpp>
#include <psgm/workflow/Shard.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace psgm::workflow {

struct SampleOptions {
  std::uint64_t seed = 0;          ///< drives the prior draws and every SDE increment
  std::int64_t samples = 1;        ///< n per condition
  std::int64_t batch_size = 0;     ///< samples per batch; 0: automatic (memory_budget_mb)
  double memory_budget_mb = 1024;  ///< memory the sampler and the network may take
  sde::SamplerConfig sampler;      ///< ignored for the Gaussian emulator (exact draws)
  /// (M, K) physical conditions, row-major, in the model's columns.
  std::vector<double> conditions;
  std::vector<double> x;             ///< the grid the output records (N cell centres)
  std::string output;                ///< written atomically (temporary file, then rename)
  io::DatasetWriterOptions writer;   ///< overwrite, chunking, compression (never porosity)
  io::AttributeMap attributes;       ///< the caller's: physics, provenance (generator, config_toml, ...)
  Shard shard;                       ///< {0, 1}: the whole run
  /// Probe observations (docs/posterior.md): when given, the draws are of
  /// the posterior given them, on options.x (exact for the Gaussian
  /// emulator; a guided EDM Heun sampler for a whitened score model). The
  /// output records them (attribute `observations`, CSV).
  std::vector<posterior::Observation> observations;
  /// How a score model is guided by them (posterior/GuidedScore.hpp).
  posterior::Guidance guidance = posterior::Guidance::jacobian;
  /// Langevin refinement steps after the guided integration of a score
  /// model (posterior::Refinement; steps = 0: none). Unused for the emulator.
  posterior::Refinement refinement;
};

struct SamplePlan {
  std::int64_t total = 0;  ///< samples of the whole run (M n)
  std::int64_t first = 0;  ///< the global samples [first, last) this call writes
  std::int64_t last = 0;
  std::int64_t batch = 0;  ///< samples per batch (of the whole run; a shard's batches hold at most its samples)
  std::int64_t size() const { return last - first; }
};

struct SampleResult {
  SamplePlan plan;
  std::string method;              ///< the sampler's description, or "exact draws"
  std::int64_t planned_nfe = 0;    ///< network evaluations per sample known in advance (0: adaptive, emulator)
  std::int64_t failed = 0;         ///< samples stored with a status other than ok
  std::int64_t batches = 0;
  std::int64_t nfe_max = 0;        ///< evaluations each sample received (adaptive: the most any needed)
  std::int64_t network_evaluations = 0;  ///< batched evaluations over all batches
  double nfe_mean = 0;             ///< per sample
  double wall_s = 0;
};

/// Called by a sampler after each network evaluation of a batch with the
/// evaluations so far in that batch (progress within a batch).
using EvaluationHook = std::function<void(std::int64_t)>;

/// Validates the options against the model (conditions of its K columns, its
/// grid, the sampler for its SDE) and sizes the batches. psgm::InvalidArgument
/// otherwise.
SamplePlan plan_sample(model::ModelDescription const& model, SampleOptions const& options);

/// Network evaluations per sample known in advance: the sampler's, times
/// (1 + m) under Jacobian guidance of m probes, plus the refinement's steps;
/// 0 for the emulator and for adaptive samplers.
std::int64_t planned_nfe(model::ModelDescription const& model, SampleOptions const& options);

/// The method as the output records it: "exact draws" for the emulator, else
/// the sampler's description and, for posterior draws, the refinement's.
std::string method_description(model::ModelDescription const& model, SampleOptions const& options);

/// Samples `model` with the score backend called `backend` ("native",
/// "libtorch": with_score_backend) in precision `dtype` ("float32",
/// "float64"), or draws exactly from a Gaussian emulator (backend and dtype
/// unused), into options.output. The native backend and the emulator run on
/// `space`; LibTorch on its own host space. `progress` counts samples
/// written (it may throw to stop the run), `on_evaluation` the evaluations
/// within a batch. Writes nothing under options.output when it throws.
inline SampleResult sample(Kokkos::DefaultExecutionSpace const& space, model::ModelDescription const& model,
                           std::string const& backend, std::string const& dtype, SampleOptions const& options,
                           Progress const& progress = {}, EvaluationHook const& on_evaluation = {});

/// The same with the score backend as a policy type instead of a name:
/// score::Native<Kokkos::DefaultExecutionSpace> (on `space`) or
/// score::LibTorch. Only that backend is instantiated, so a program that
/// passes Native needs no LibTorch (the psgm executable loads it only for
/// the libtorch backend, docs/workflow.md).
template <class Backend>
SampleResult sample(Backend backend, Kokkos::DefaultExecutionSpace const& space, model::ModelDescription const& model,
                    std::string const& dtype, SampleOptions const& options, Progress const& progress = {},
                    EvaluationHook const& on_evaluation = {});

/// The same with any draws object of the interface of psgm::sde::Sampler
/// (sample(space, conditions, seed, first, out, status) -> SampleReport,
/// on_evaluation(callback)): the loop over batches and the writer.
template <class Draws>
SampleResult sample_with(typename Draws::execution_space const& space, Draws& draws,
                         model::ModelDescription const& model, SampleOptions const& options,
                         Progress const& progress = {}, EvaluationHook const& on_evaluation = {});

/// psgm::sde::Sampler's interface over the conditional Gaussian emulator:
/// exact draws, no network, every sample ok.
template <class ExecSpace>
class EmulatorDraws {
 public:
  using execution_space = ExecSpace;
  using scalar_type = double;
  using field_view = Kokkos::View<double***, Kokkos::LayoutRight, typename ExecSpace::memory_space>;
  using status_view = Kokkos::View<SolveStatus*, typename ExecSpace::memory_space>;
  using host_condition_view = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace>;

  explicit EmulatorDraws(model::Whitening const& w) : emulator_(w) {}
  sde::SampleReport sample(ExecSpace const& space, host_condition_view conditions, std::uint64_t seed,
                           std::int64_t first, field_view out, status_view status) {
    emulator_.sample(space, conditions, seed, first, out);
    Kokkos::deep_copy(space, status, SolveStatus::ok);
    sde::SampleReport r;
    r.num_samples = static_cast<std::int64_t>(out.extent(0));
    return r;
  }
  void on_evaluation(std::function<void(std::int64_t)>) {}

 private:
  model::GaussianEmulator<ExecSpace> emulator_;
};

}  // namespace psgm::workflow

#include <psgm/workflow/impl/Sample_Impl.hpp>
