// What every sampler method integrates with (docs/sampling.md, "adding a
// sampler"): the score model and its process, the time grid, the network
// evaluations with their count and progress callback, the model's time
// input, noise draws and the workspace layout. It exists once; a method's
// static `run` receives it with the method's own workspace and configuration.
#pragma once

#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Status.hpp>
#include <psgm/sde/DiffusionProcess.hpp>
#include <psgm/sde/impl/SamplerKernels.hpp>
#include <psgm/sde/samplers/SamplerParameters.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace psgm {
namespace sde {

/// One call of Sampler::integrate: how many samples, and where their noise
/// comes from (sample first_sample + b draws from (seed, first_sample + b, draw)).
struct SamplerCall {
  int batch = 0;
  std::uint64_t seed = 0;
  std::int64_t first_sample = 0;
};

template <class Model>
class Integration {
 public:
  using execution_space = typename Model::execution_space;
  using memory_space = typename Model::memory_space;
  using scalar_type = typename Model::scalar_type;
  using field_view = Kokkos::View<scalar_type***, Kokkos::LayoutRight, memory_space>;  ///< (B, C, N)
  using time_view = Kokkos::View<scalar_type*, memory_space>;                           ///< (B)
  using const_cond_view = Kokkos::View<const scalar_type**, Kokkos::LayoutRight, memory_space>;
  using status_view = Kokkos::View<SolveStatus*, memory_space>;

  Integration(execution_space const& space, Model& model, DiffusionProcess const& process, int max_batch,
              int channels, int num_points)
      : model_(&model), process_(process), max_batch_(max_batch), channels_(channels), num_points_(num_points) {
    t_ = time_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, "psgm::sde::sampler::time"), max_batch);
  }

  DiffusionProcess const& process() const { return process_; }
  int max_batch() const { return max_batch_; }
  int channels() const { return channels_; }
  int num_points() const { return num_points_; }
  /// The fixed-step grid t_0 = t_start > ... (what the method's time_grid made).
  std::vector<double> const& grid() const { return grid_; }
  void set_grid(std::vector<double> grid) { grid_ = std::move(grid); }

  /// A (max_batch, C, N) workspace, allocated once by a method's Workspace.
  field_view allocate_field(execution_space const& space, char const* label) const {
    return field_view(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string(label)), max_batch_,
                      channels_, num_points_);
  }
  /// The first `batch` samples of a (max_batch, C, N) workspace: LayoutRight
  /// keeps them contiguous, so an unmanaged view of the same data is exact.
  field_view work(field_view const& w, int batch) const { return field_view(w.data(), batch, channels_, num_points_); }
  /// The model's time input of the first `batch` samples (per-sample times are written here).
  time_view time(int batch) const { return time_view(t_.data(), batch); }
  /// The status of each sample of the running call (ok, or what went wrong).
  status_view const& status() const { return status_; }

  /// out = score(x, t) for every sample at the same time t.
  void evaluate(execution_space const& space, field_view x, double t, field_view out) {
    int const batch = static_cast<int>(x.extent(0));
    time_view tb(t_.data(), batch);
    // The time input usually holds t already: from the previous evaluation, or
    // written by the update kernel before this one (next_time).
    if (!(time_valid_ && time_value_ == t && time_batch_ == batch)) {
      Impl::fill_time(space, tb, batch, process_.model_time(t));
      time_valid_ = true;
      time_value_ = t;
      time_batch_ = batch;
    }
    model_->score(space, x, tb, current_cond_, out);
    counted();
  }
  /// out = score(x, t_b) at the per-sample times a kernel wrote into time(batch).
  void evaluate_per_sample(execution_space const& space, field_view x, field_view out) {
    int const batch = static_cast<int>(x.extent(0));
    time_valid_ = false;
    model_->score(space, x, time_view(t_.data(), batch), current_cond_, out);
    counted();
  }
  /// Asks an update kernel to write the time input of the next evaluation (t):
  /// saves a launch per evaluation.
  Impl::NextTime<scalar_type> next_time(int batch, double t) {
    time_valid_ = true;
    time_value_ = t;
    time_batch_ = batch;
    return {t_.data(), batch, process_.model_time(t)};
  }
  /// z = scale N(0, I), draw `draw` (>= 1 after the prior) of each sample of the call.
  void draw_noise(execution_space const& space, field_view z, SamplerCall const& call, std::int64_t draw,
                  double scale) const {
    Impl::draw_noise(space, z, call.batch, call.seed, call.first_sample, draw, scale);
  }

  /// Network evaluations of the running call so far.
  std::int64_t nfe() const { return nfe_; }
  /// The report of a fixed-step method: its steps, and every sample took every evaluation.
  void report_fixed_steps(SampleReport& report, std::int64_t steps) const {
    report.steps = steps;
    report.mean_nfe_per_sample = static_cast<double>(nfe_);
    report.max_nfe_per_sample = nfe_;
  }

  void on_evaluation(std::function<void(std::int64_t)> callback) { on_evaluation_ = std::move(callback); }
  /// A call starts: its conditions and statuses, no evaluations yet.
  void begin(const_cond_view cond, status_view status) {
    current_cond_ = cond;
    status_ = status;
    nfe_ = 0;
    time_valid_ = false;
  }
  void end() {
    current_cond_ = const_cond_view();
    status_ = status_view();
  }

 private:
  void counted() {
    ++nfe_;
    if (on_evaluation_) on_evaluation_(nfe_);
  }

  Model* model_;
  DiffusionProcess process_;
  int max_batch_, channels_, num_points_;
  std::vector<double> grid_;
  time_view t_;
  const_cond_view current_cond_;
  status_view status_;
  std::int64_t nfe_ = 0;
  std::function<void(std::int64_t)> on_evaluation_;
  bool time_valid_ = false;  // t_ holds time_value_ for time_batch_ samples (see evaluate, next_time)
  double time_value_ = 0;
  int time_batch_ = 0;
};

}  // namespace sde
}  // namespace psgm
