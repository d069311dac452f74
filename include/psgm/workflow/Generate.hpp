// psgm generate as a library call: PDE ensembles at a list of conditions,
// drawn and solved in batches (EnsembleGenerator) and streamed into a data
// set file (docs/data.md; docs/workflow.md). Available when psgm is built
// with PSGM_ENABLE_HDF5.
//
//   psgm::workflow::GenerateOptions o;
//   o.conditions = psgm::pde::random_conditions(ranges, 40, 2024);
//   o.realisations = 25; o.seed = 2024; o.output = "data.h5";
//   auto result = psgm::workflow::generate(space, o);
//
// Realisation r of condition m is global sample m R + r, with porosity item
// m R + r: the file is the same whatever the batch size, and shard i of n
// (options.shard) writes exactly samples [first, last) of it
// (workflow::Shard::range), which psgm::workflow::merge_shards joins.
// psgm::mpi::generate (psgm/mpi/Generate.hpp, docs/scaling.md) takes a
// communicator and splits the samples the same way.
#pragma once

#include <psgm/core/ExecutionSpaces.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/pde/Conditions.hpp>
#include <psgm/pde/ElectrodeParameters.hpp>
#include <psgm/workflow/EnsembleGenerator.hpp>
#include <psgm/workflow/Shard.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace psgm::workflow {

/// Progress of a driver: (units done, units in total, a message); called with
/// 0 done before the first batch, then after each. It may throw to stop the
/// run (psgm's CLI does on SIGINT): the driver then writes no output.
using Progress = std::function<void(std::int64_t, std::int64_t, std::string const&)>;

struct GenerateOptions {
  pde::ElectrodeParameters pde;
  PorositySource porosity = PorositySource::gaussian_process(gp::PorosityModel{});
  std::vector<pde::Condition> conditions;
  std::int64_t realisations = 25;    ///< R per condition
  std::uint64_t seed = 0;            ///< drives every porosity draw
  std::int64_t batch_size = 0;       ///< realisations per batch; 0: automatic (memory_budget_mb, progress)
  double memory_budget_mb = 1024;    ///< device memory the batches may take
  std::string output;                ///< data set file to write (atomically: temporary file, then rename)
  io::DatasetWriterOptions writer;   ///< overwrite, chunking, compression (store_porosity is always true)
  /// The caller's provenance, stored with the file (e.g. generator, config_toml).
  io::AttributeMap attributes;
  Shard shard;                       ///< {0, 1}: the whole run
};

/// What a run does, known before any work.
struct GeneratePlan {
  std::int64_t total = 0;       ///< realisations of the whole run (M R)
  std::int64_t first = 0;       ///< the global samples [first, last) this call writes (its shard)
  std::int64_t last = 0;
  std::int64_t max_batch = 0;   ///< realisations per batch (whole conditions where the shard allows)
  std::int64_t size() const { return last - first; }
};

struct GenerateResult {
  GeneratePlan plan;
  std::vector<std::int64_t> status_counts;  ///< per psgm::SolveStatus value
  double wall_s = 0, compute_s = 0, write_s = 0;
};

/// Validates the options and sizes the batches: psgm::InvalidArgument for
/// invalid physics, porosity or conditions, a bad shard, or sizes that
/// cannot fit memory_budget_mb (the GP's N x N covariance, one condition's
/// realisations), each with what it needs.
template <class ExecSpace>
GeneratePlan plan_generate(ExecSpace const& space, GenerateOptions const& options);

/// "ok 25, non_finite 1": the count of ok and of every other status that occurs.
std::string status_summary(std::vector<std::int64_t> const& status_counts);

/// Runs the plan on `space` and commits options.output. Writes nothing
/// under options.output when it throws.
template <class ExecSpace>
GenerateResult generate(ExecSpace const& space, GenerateOptions const& options, Progress const& progress = {});

}  // namespace psgm::workflow

#define PSGM_WORKFLOW_GENERATE_ETI(Space)                                                                    \
  extern template psgm::workflow::GeneratePlan psgm::workflow::plan_generate<Space>(                         \
      Space const&, psgm::workflow::GenerateOptions const&);                                                 \
  extern template psgm::workflow::GenerateResult psgm::workflow::generate<Space>(                            \
      Space const&, psgm::workflow::GenerateOptions const&, psgm::workflow::Progress const&);
PSGM_FOR_EACH_EXECUTION_SPACE(PSGM_WORKFLOW_GENERATE_ETI)
#undef PSGM_WORKFLOW_GENERATE_ETI
