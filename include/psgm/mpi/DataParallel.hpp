// Data-parallel training over the ranks of a communicator (docs/scaling.md
// §4): the model replicated on every rank, each step's global batch split
// across the ranks, the flat gradient summed with MPI, then clipping, Adam
// and EMA identical on every rank (score::Trainer does those). Works for
// every model of the TrainableModel concept (both score backends): it needs
// only loss_and_gradient, flat_gradient and set_flat_gradient, and reduces
// the flat double buffers with plain MPI (Debian's LibTorch has no MPI
// process group).
//
//   MPI_Init(&argc, &argv);  psgm::ScopeGuard kokkos;
//   using Model = psgm::score::TrainableModel<psgm::score::Native<Kokkos::OpenMP>, float>;
//   auto summary = psgm::mpi::train<Model>(host_space, MPI_COMM_WORLD, options);   // rank 0 writes the files
//
// Every rank draws the whole batch of a step (the batch is a function of the
// seed and the step only: no communication) and computes the loss and
// gradient of its slice.
//  * GradientReduction::allreduce (the default): rank r takes block r of n
//    of the batch; one MPI_Allreduce of the flat gradient weighted by the
//    slice's share. The sum's order depends on the rank count, so n ranks
//    agree with one to rounding (docs/scaling.md §4 states the tolerance the
//    tests hold it to).
//  * GradientReduction::reproducible: the batch is cut into `chunks` blocks,
//    a number independent of the rank count; each rank computes the gradients
//    of its chunks, they are gathered on every rank (MPI_Allgatherv) and
//    summed in chunk order. The result depends on `chunks`, never on the
//    rank count: 1, 2, ... ranks (at most `chunks` doing work) train bit for
//    bit alike, given the same thread count per rank.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/mpi/Comm.hpp>
#include <psgm/score/Trainer.hpp>

#include <Kokkos_Core.hpp>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace psgm::mpi {

enum class GradientReduction { allreduce, reproducible };

struct DataParallelOptions {
  GradientReduction reduction = GradientReduction::allreduce;
  int chunks = 8;  ///< reproducible: the fixed blocks of every batch (>= 1; ranks beyond it idle)
};

/// Where a DataParallel step's time went, on this rank, summed over steps
/// (docs/scaling.md §7): `gradient_s` the loss and gradient of its slice,
/// `reduction_s` the MPI call that sums them (MPI_Allreduce, or
/// MPI_Allgatherv and the chunk sum) — which includes waiting for the
/// slowest rank — and `values` the doubles it reduces per step (P + 1).
struct DataParallelTimes {
  std::int64_t steps = 0;
  double gradient_s = 0, reduction_s = 0;
  std::int64_t values = 0;
};

/// "allreduce" / "reproducible"; psgm::InvalidArgument for anything else.
GradientReduction parse_gradient_reduction(std::string const& name);

namespace Impl {
/// Items [first, last) of block `index` of `count` of `total` items:
/// contiguous, sizes differing by at most one, empty when total < count.
inline std::pair<int, int> block(int total, int index, int count) {
  int const base = total / count, extra = total % count;
  int const first = base * index + std::min(index, extra);
  return {first, first + base + (index < extra ? 1 : 0)};
}

/// Items [first, last) of a batch, as a batch (LayoutRight subviews).
inline score::DsmBatch slice(score::DsmBatch const& b, int first, int last) {
  auto const rows = std::make_pair(first, last);
  return {Kokkos::subview(b.x, rows, Kokkos::ALL, Kokkos::ALL), Kokkos::subview(b.t, rows),
          Kokkos::subview(b.cond, rows, Kokkos::ALL), Kokkos::subview(b.a, rows),
          Kokkos::subview(b.y, rows, Kokkos::ALL, Kokkos::ALL)};
}

/// Sends every value of `set` from rank 0 to the others (shapes as they are).
void broadcast(MPI_Comm comm, model::ParameterSet& set);
/// MPI_Allreduce (sum) of doubles in place; MPI_Allgatherv of doubles.
void allreduce_sum(MPI_Comm comm, std::vector<double>& values);
void allgather(MPI_Comm comm, std::vector<double> const& mine, std::vector<double>& all,
               std::vector<int> const& counts);
}  // namespace Impl

/// Rank 0's θ and optimiser state on every rank (at the start of a run and
/// after a resume, so that the replicas start identical). Collective.
template <class Model>
void broadcast_state(MPI_Comm comm, Model& model) {
  ScopedRegion region("psgm::mpi::broadcast_state");
  model::ParameterSet theta = model.parameters();
  score::OptimizerState state = model.optimizer_state();
  Impl::broadcast(comm, theta);
  Impl::broadcast(comm, state.adam_m);
  Impl::broadcast(comm, state.adam_v);
  Impl::broadcast(comm, state.ema);
  model.set_parameters(theta);
  model.set_optimizer_state(state);
}

/// score::Trainer<Model>::gradient_step_function over the ranks of `comm`:
/// the step's loss and summed gradient, the same on every rank.
template <class Model>
class DataParallel {
 public:
  DataParallel(MPI_Comm comm, DataParallelOptions options) : comm_(comm), options_(options) {
    require(options_.chunks >= 1, "psgm::mpi::DataParallel: chunks = ", options_.chunks, " must be >= 1");
    rank_ = mpi::rank(comm);
    size_ = mpi::size(comm);
  }

  double operator()(Model& model, score::DsmBatch const& batch) const {
    ScopedRegion region("psgm::mpi::DataParallel::gradient");
    ++times_->steps;
    return options_.reduction == GradientReduction::allreduce ? allreduce(model, batch) : reproducible(model, batch);
  }

  /// This rank's times so far (shared by the copies of this object, e.g.
  /// the one score::Trainer holds as its gradient_step_function).
  DataParallelTimes times() const { return *times_; }

 private:
  /// Loss and gradient of items [first, last), weighted by their share of
  /// the batch: w L and w ∇L, w = (last − first) / B; zeros when empty.
  std::pair<double, std::vector<double>> weighted(Model& model, score::DsmBatch const& batch, int first,
                                                  int last) const {
    std::size_t const P = static_cast<std::size_t>(model::parameter_count(model.architecture()));
    if (last <= first) return {0.0, std::vector<double>(P, 0.0)};
    double const w = double(last - first) / double(batch.size());
    double const loss = model.loss_and_gradient(Impl::slice(batch, first, last));
    std::vector<double> g = model.flat_gradient();
    for (double& v : g) v *= w;
    return {w * loss, std::move(g)};
  }

  double allreduce(Model& model, score::DsmBatch const& batch) const {
    auto const [first, last] = Impl::block(batch.size(), rank_, size_);
    auto const t0 = clock::now();
    auto [loss, g] = weighted(model, batch, first, last);
    g.push_back(loss);  // one allreduce: the gradient and the loss
    auto const t1 = clock::now();
    Impl::allreduce_sum(comm_, g);
    record(t0, t1, clock::now(), g.size());
    loss = g.back();
    g.pop_back();
    model.set_flat_gradient(g);
    return loss;
  }

  double reproducible(Model& model, score::DsmBatch const& batch) const {
    int const K = options_.chunks;
    std::size_t const P = static_cast<std::size_t>(model::parameter_count(model.architecture()));
    std::size_t const stride = P + 1;  // a chunk: its weighted gradient, then its weighted loss
    auto const [c0, c1] = Impl::block(K, rank_, size_);
    auto const t0 = clock::now();
    std::vector<double> mine;
    mine.reserve(std::size_t(c1 - c0) * stride);
    for (int c = c0; c < c1; ++c) {
      auto const [first, last] = Impl::block(batch.size(), c, K);
      auto const [loss, g] = weighted(model, batch, first, last);
      mine.insert(mine.end(), g.begin(), g.end());
      mine.push_back(loss);
    }
    std::vector<int> counts(size_);
    for (int r = 0; r < size_; ++r) {
      auto const [b0, b1] = Impl::block(K, r, size_);
      counts[r] = static_cast<int>(std::size_t(b1 - b0) * stride);
    }
    std::vector<double> all;
    auto const t1 = clock::now();
    Impl::allgather(comm_, mine, all, counts);
    // Chunk order, whatever rank computed a chunk: the same sum for any rank count.
    std::vector<double> sum(stride, 0.0);
    for (int c = 0; c < K; ++c)
      for (std::size_t i = 0; i < stride; ++i) sum[i] += all[std::size_t(c) * stride + i];
    record(t0, t1, clock::now(), all.size());
    double const loss = sum.back();
    sum.pop_back();
    model.set_flat_gradient(sum);
    return loss;
  }

  using clock = std::chrono::steady_clock;
  void record(clock::time_point t0, clock::time_point t1, clock::time_point t2, std::size_t values) const {
    times_->gradient_s += std::chrono::duration<double>(t1 - t0).count();
    times_->reduction_s += std::chrono::duration<double>(t2 - t1).count();
    times_->values = static_cast<std::int64_t>(values);
  }

  MPI_Comm comm_;
  DataParallelOptions options_;
  int rank_ = 0, size_ = 1;
  std::shared_ptr<DataParallelTimes> times_ = std::make_shared<DataParallelTimes>();
};

/// Trains `Model` on every rank of `comm` (a fresh run, or with `checkpoint`
/// a resumed one): every rank reads the data set and builds the trainer;
/// rank 0's θ and optimiser state are broadcast; each step runs
/// DataParallel; only rank 0 writes the model and checkpoints
/// (options.write_files is honoured there and false elsewhere). `on_step`
/// runs on every rank after each step (its trainer is the second argument,
/// e.g. to request_stop: do it on every rank alike). Collective; a failure
/// while setting up on any rank throws on every rank.
template <class Model>
score::TrainingSummary train(
    Kokkos::DefaultHostExecutionSpace const& space, MPI_Comm comm, score::TrainerOptions options,
    std::string const& checkpoint = {}, DataParallelOptions parallel = {},
    std::function<void(score::TrainingProgress const&, score::Trainer<Model>&)> const& on_step = {}) {
  ScopedRegion region("psgm::mpi::train");
  if (rank(comm) != 0) options.write_files = false;
  std::optional<score::Trainer<Model>> trainer;
  collective(comm, "psgm::mpi::train", [&] {
    if (checkpoint.empty())
      trainer.emplace(space, options);
    else
      trainer.emplace(score::Trainer<Model>::resume(space, options, checkpoint));
  });
  broadcast_state(comm, trainer->model());
  DataParallel<Model> step(comm, parallel);
  auto each_step = [&](score::TrainingProgress const& p) {
    if (on_step) on_step(p, *trainer);
  };
  return trainer->run(space, each_step, step);
}

}  // namespace psgm::mpi
