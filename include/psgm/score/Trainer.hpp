// Training a score network by denoising score matching (spec sgm.md §1-4,
// docs/design.md §7, docs/training.md), shared by every score backend.
//
// The trainer does everything that does not depend on the backend: it reads
// the data set (only status == ok samples), splits it by condition, fits the
// normalisation on the training part, shuffles and streams mini-batches,
// draws diffusion times and noise, schedules the learning rate, decides on
// gradient clipping and EMA, evaluates the validation loss, keeps the best
// model, writes atomic checkpoints and resumes from them. A backend provides
// only a *TrainableModel* (below): the network's loss and gradient on a host
// batch, an Adam step and an EMA update on its own parameters.
//
//   psgm::score::TrainerOptions options;             // or from `psgm train`'s TOML
//   options.data_path = "data.h5"; options.output_path = "model.h5";
//   psgm::score::Trainer<psgm::score::TrainableModel<psgm::score::LibTorch, float>> trainer(space, options);
//   auto summary = trainer.run(space);
//   // after an interruption: Trainer<...>::resume(space, options, "model.checkpoint.h5").run(space)
//
// Needs PSGM_ENABLE_HDF5 (data sets and model files).
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/model/ModelDescription.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/score/Backend.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace psgm {
namespace score {

// ================================================================== the TrainableModel concept
//
// M = TrainableModel<Backend, Scalar> (Scalar = float or double) owns the
// parameters θ, their gradient, the Adam moments and the EMA copy of θ in the
// backend's memory, and provides:
//
//   using backend_type = Backend;  using scalar_type = Scalar;
//   explicit M(FilmCnnConfig const& architecture);     // parameters zero until set_parameters
//   static constexpr char const* dtype();              // "float32" / "float64"
//   FilmCnnConfig const& architecture() const;
//   void reserve(int max_batch);                        // size workspaces once
//   void set_parameters(ParameterSet const& theta);    // canonical names/order (parameter_shapes)
//   ParameterSet parameters() const;                   // θ, rounded values exactly as held
//   void set_optimizer_state(OptimizerState const&);   // Adam moments; EMA on iff state.ema has shapes
//   OptimizerState optimizer_state() const;
//   double loss_and_gradient(DsmBatch const& batch);   // L(θ) of the unified DSM loss; keeps ∇θ L
//   double gradient_norm() const;                      // ‖∇θ L‖₂ over all weights (last call above)
//   void adam_step(AdamSettings const&, double learning_rate, double gradient_scale, std::int64_t step);
//   void update_ema(double decay);                     // ema ← decay·ema + (1 − decay)·θ
//   double loss(DsmBatch const& batch, Weights which) const;   // no gradient (validation)
//   std::vector<double> flat_gradient() const;         // ∇θ L, canonical order, exact doubles
//   void set_flat_gradient(std::vector<double> const&); // replaces ∇θ L (e.g. summed over MPI ranks)
//
// Semantics every backend must match (so that the backends train alike and a
// run resumes bitwise):
//  * loss: L = mean over i < B, c < C, n < N of (a_i F(x_i, t_i, cond_i)_{c,n} − y_{i,c,n})², F the
//    network of docs/design.md §5 in precision Scalar, every input (x, t, cond, a, y) rounded from
//    the batch's doubles to Scalar first: the network sees the same Scalar t in training as in
//    sampling (the time embedding then evaluates sin/cos of that t in double, design.md §5);
//  * gradient_scale g ∈ (0, 1] multiplies ∇θ L before the Adam update (gradient-norm clipping);
//  * adam_step is PyTorch's Adam (no weight decay, no amsgrad) with 1-based `step` for the bias
//    correction:  m ← β₁m + (1−β₁)g∇;  v ← β₂v + (1−β₂)(g∇)²;
//                 θ ← θ − (lr / (1−β₁^step)) · m / (√v / √(1−β₂^step) + ε);
//  * parameters(), optimizer_state() return exactly what the next step uses (float values are
//    exact in the double ParameterSet), so that a checkpoint restores the state bitwise.
template <class Backend, class Scalar = float>
class TrainableModel : Impl::RequireBackend<Backend> {
  static_assert(!is_backend_enabled_v<Backend> || Impl::always_false_v<Backend>,
                "psgm::score::TrainableModel<Backend, Scalar>: no implementation for this backend is included; "
                "include <psgm/psgm.hpp> (or torch/TorchTrainableModel.hpp, score/NativeTrainableModel.hpp)");
};

/// Which copy of the weights a validation loss is evaluated with.
enum class Weights { raw, ema };

/// Adam's constants (PyTorch's defaults).
struct AdamSettings {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

/// Optimiser state besides θ. `ema` has no shapes when EMA is off.
struct OptimizerState {
  model::ParameterSet adam_m;
  model::ParameterSet adam_v;
  model::ParameterSet ema;
};

/// One mini-batch of denoising score matching on the host, in the unified form
///
///   L = mean_{i,c,n} (a_i F(x_i, t_i, cond_i)_{c,n} − y_{i,c,n})²
///
/// that covers every SDE (docs/training.md, "The loss"):
///   VP, VE (spec §3): x = m(t) x₀ + s(t) z, t = t, a = s(t), y = −z, which equals
///                     mean(v(t) (s_θ + (x_t − m x₀)/v(t))²) with s_θ = F;
///   EDM:              x = c_in(σ)(x₀ + σ z), t = c_noise(σ), a = 1,
///                     y = ((1 − c_skip) x₀ − c_skip σ z) / c_out, which equals λ(σ)(D_θ − x₀)².
/// Views are exactly B long (subviews of the trainer's workspace).
struct DsmBatch {
  using fields_view = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;  // (B, C, N)
  using scalars_view = Kokkos::View<double*, Kokkos::HostSpace>;                        // (B)
  using cond_view = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;     // (B, cond_dim)
  fields_view x;
  scalars_view t;
  cond_view cond;
  scalars_view a;
  fields_view y;
  int size() const { return static_cast<int>(x.extent(0)); }
};

/// The network's initial weights for `seed` (stream psgm::random::initialisation,
/// one generator per weight tensor), following PyTorch's default initialisation
/// of the Python definition: conv and linear weights and biases
/// U(−1/√fan_in, 1/√fan_in), the last FiLM layer N(0, 10⁻⁶) with zero bias, the
/// output affine zero. Values are rounded to `dtype` ("float32"/"float64"). Both
/// backends start from these, so equal seeds give equal starting points.
model::ParameterSet initial_parameters(model::FilmCnnConfig const& architecture, std::uint64_t seed,
                                       std::string const& dtype);

// ================================================================== options
struct TrainerOptions {
  // ---- data (spec §1)
  std::string data_path;               ///< psgm data set (docs/design.md §4)
  double validation_fraction = 0.1;    ///< fraction of the *conditions* held out for validation (0: none)
  std::int64_t max_memory_bytes = std::int64_t(2) << 30;  ///< load the samples into memory below this,
                                                          ///< else stream each mini-batch from the file
  // ---- model
  model::FilmCnnConfig architecture;          ///< channels and num_points are taken from the data
  model::SdeConfig sde;                  ///< VP (reference), VE or EDM
  /// Condition-aware whitening (model/Whitening.hpp): the network learns the
  /// leading whitening.components coordinates of x = μ(u) + σ(u) ⊙ z, fitted
  /// on the training part; architecture.channels, num_points and cond_dim
  /// then come from the whitening and kernel_size must be 1. false: the
  /// reference normalisation of spec sgm.md §1.
  bool whiten = false;
  model::WhiteningOptions whitening;
  /// Whitened: take μ, σ and the basis from this model file (e.g. the
  /// Gaussian emulator fitted on the same data set) instead of fitting them;
  /// only whitening.components is applied. The file must have been trained on
  /// a data set with the same content hash. Empty: fit on the training part.
  std::string whitening_from;
  // ---- optimisation (reference values; spec §4)
  std::uint64_t seed = 0;
  std::int64_t batch_size = 1024;
  std::int64_t epochs = 5000;
  std::int64_t steps = 0;              ///< > 0: train this many steps instead of `epochs` epochs
  double learning_rate = 2e-4;         ///< peak learning rate
  double learning_rate_min = 1e-6;     ///< end of the cosine decay
  std::int64_t warmup_steps = 0;       ///< linear warm-up from 0 (0: none, the reference)
  AdamSettings adam;
  double gradient_clip = 0.0;          ///< clip ‖∇‖₂ to this (0: off, the reference)
  double ema_decay = 0.0;              ///< EMA of the weights (0: off, the reference); e.g. 0.999
  /// Standard deviation of Gaussian noise added to the network's condition
  /// input (the standardised features) of every training sample, drawn anew
  /// at every step; validation batches are not perturbed. A smoothness prior
  /// over conditions: with a few dozen fields per training condition the
  /// network otherwise fits each condition's sampling noise (0: off, the
  /// reference; docs/training.md).
  double condition_noise = 0.0;
  // ---- evaluation and files
  std::int64_t validate_every = 0;     ///< steps between validations (0: once per epoch)
  std::int64_t validation_max_samples = 0;  ///< cap on validation samples (0: all)
  std::int64_t checkpoint_every = 0;   ///< steps between checkpoints (0: at every validation)
  std::string output_path;             ///< the best model; the checkpoint goes to checkpoint_path(output_path)
  std::string config_toml;             ///< the full configuration, saved in the model file
  std::int64_t stop_after_steps = -1;  ///< end this invocation after this many steps in total, with a
                                       ///< checkpoint, as if interrupted (-1: run to the end)
  /// false: the run writes neither the model nor checkpoints (every MPI rank
  /// but 0 of data-parallel training; docs/scaling.md §4).
  bool write_files = true;

  /// Throws InvalidArgument naming the first unusable option.
  void validate() const;
};

/// Fits the conditional Gaussian emulator (model/GaussianEmulator.hpp) on the
/// training part of options.data_path, with the same split by condition as a
/// network trained with these options (so both see the same training
/// conditions), and writes it to options.output_path (atomically). Only the
/// data and whitening options matter; every coordinate is kept.
model::ModelDescription fit_gaussian_emulator(Kokkos::DefaultHostExecutionSpace const& space, TrainerOptions options);

/// "<dir>/<stem>.checkpoint.h5" for "<dir>/<stem>.h5".
std::string checkpoint_path(std::string const& output_path);

/// What the trainer reports after every step (for progress displays).
struct TrainingProgress {
  std::int64_t step = 0;          ///< steps done
  std::int64_t total_steps = 0;
  std::int64_t epoch = 0;         ///< 0-based epoch of the last step
  double loss = 0;                ///< last training loss
  double learning_rate = 0;       ///< of the last step
  double gradient_norm = 0;
  double samples_per_second = 0;  ///< over this invocation
  bool validated = false;         ///< a validation happened after this step
  double validation_loss = 0;     ///< latest validation loss (EMA weights when EMA is on)
  double best_validation_loss = 0;
  std::int64_t best_step = -1;
};

/// What a finished (or stopped) run returns.
struct TrainingSummary {
  std::int64_t steps = 0;           ///< steps done in total
  std::int64_t total_steps = 0;     ///< planned
  bool finished = false;            ///< false when stopped by stop_after_steps
  double final_loss = 0;            ///< last training loss
  double best_validation_loss = 0;
  std::int64_t best_step = -1;
  std::int64_t num_train_samples = 0, num_validation_samples = 0;
  std::int64_t num_train_conditions = 0, num_validation_conditions = 0;
  std::string output_path, checkpoint_path;
  double seconds = 0;
};

namespace Impl {

/// The backend-independent part of training (src/score/trainer.cpp): data,
/// split, normalisation, batches, schedules, records and files. Trainer<M>
/// drives it and calls the model in between.
class TrainingSession {
 public:
  /// Opens the data set and prepares a fresh run, or (checkpoint non-empty)
  /// resumes the run stored in that checkpoint file.
  TrainingSession(Kokkos::DefaultHostExecutionSpace const& space, TrainerOptions const& options,
                  std::string const& checkpoint, std::string const& backend_name, std::string const& dtype);
  ~TrainingSession();
  TrainingSession(TrainingSession const&) = delete;
  TrainingSession& operator=(TrainingSession const&) = delete;

  model::FilmCnnConfig const& architecture() const;
  TrainerOptions const& options() const;
  model::Normalization const& normalization() const;
  /// The fitted (or resumed) whitening of a whitened model; empty otherwise.
  std::optional<model::Whitening> const& whitening() const;
  /// What the run records about its data and configuration.
  model::TrainingRecord const& record() const;
  bool resumed() const;
  /// Initial θ (fresh run) or the checkpoint's θ; and the optimiser state.
  model::ParameterSet const& start_parameters() const;
  OptimizerState const& start_optimizer_state() const;

  /// Rows of the data set file used for training / validation (status ok;
  /// split by condition), in file order.
  std::vector<std::int64_t> const& train_rows() const;
  std::vector<std::int64_t> const& validation_rows() const;

  std::int64_t step() const;         ///< steps done
  std::int64_t total_steps() const;
  std::int64_t steps_per_epoch() const;
  std::int64_t epoch() const;
  bool done() const;                 ///< the run's end or stop_after_steps reached
  int max_batch() const;

  /// The batch of the next step (step() → step() + 1), noise drawn on `space`.
  DsmBatch const& next_batch(Kokkos::DefaultHostExecutionSpace const& space);
  double learning_rate() const;      ///< for the next step
  double ema_decay() const;          ///< for the next step (0: EMA off)
  /// Clipping factor for a gradient of norm `norm` (PyTorch's clip_grad_norm_).
  double gradient_scale(double norm) const;
  /// Records the step just taken and advances; throws NumericalError on a non-finite loss.
  void finish_step(double loss, double gradient_norm, double learning_rate);

  bool validation_due() const;
  /// True before the first step of a fresh run with a validation set: the
  /// validation curve then starts at the initial weights (step 0).
  bool initial_validation_due() const;
  /// The validation batches (fixed noise, the same at every validation).
  std::int64_t num_validation_batches() const;
  DsmBatch const& validation_batch(Kokkos::DefaultHostExecutionSpace const& space, std::int64_t index);
  /// Records a validation (loss of the weights evaluated, and of the raw
  /// weights when EMA is on); returns true when it is the best so far.
  bool record_validation(double loss, double raw_loss);
  /// Writes the best model (`weights` are the evaluated ones: EMA or raw).
  void write_best(model::ParameterSet const& weights);
  bool checkpoint_due() const;
  /// Ends the run after the current step (e.g. on Ctrl-C): done() becomes
  /// true, and the trainer writes a checkpoint to resume from.
  void request_stop();
  /// Whether the state after the last step is not yet in a checkpoint.
  bool checkpoint_pending() const;
  void write_checkpoint(model::ParameterSet const& theta, OptimizerState const& state);
  /// Writes the final record into the best-model file (and it if there was no
  /// validation), returns the summary.
  TrainingSummary finish(model::ParameterSet const& final_evaluated_weights);
  TrainingProgress progress() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace Impl

// ================================================================== Trainer
/// Trains a Model satisfying the TrainableModel concept.
template <class Model>
class Trainer {
 public:
  using model_type = Model;
  using progress_callback = std::function<void(TrainingProgress const&)>;
  /// How a step's loss and ∇θ L come from its batch; empty: the model's own
  /// loss_and_gradient. psgm::mpi::DataParallel splits the batch across MPI
  /// ranks and sums the gradient (docs/scaling.md §4).
  using gradient_step_function = std::function<double(Model&, DsmBatch const&)>;

  /// A fresh run: opens the data, splits, fits the normalisation, initialises
  /// θ from options.seed.
  Trainer(Kokkos::DefaultHostExecutionSpace const& space, TrainerOptions const& options)
      : Trainer(space, options, std::string()) {}
  /// Resumes the run stored in `checkpoint_file` (a "*.checkpoint.h5" written
  /// by a previous run); `options` must describe the same run (the stored
  /// configuration is authoritative for everything that changes the result;
  /// stop_after_steps and output_path may differ).
  static Trainer resume(Kokkos::DefaultHostExecutionSpace const& space, TrainerOptions const& options,
                        std::string const& checkpoint_file) {
    return Trainer(space, options, checkpoint_file);
  }

  Impl::TrainingSession const& session() const { return *session_; }
  Impl::TrainingSession& session() { return *session_; }
  Model& model() { return *model_; }

  /// Trains until the end of the run (or options.stop_after_steps).
  TrainingSummary run(Kokkos::DefaultHostExecutionSpace const& space, progress_callback const& on_step = {},
                      gradient_step_function const& gradient_step = {}) {
    ScopedRegion region("psgm::score::Trainer::run");
    auto& s = *session_;
    auto& m = *model_;
    bool const ema = s.ema_decay() > 0;
    auto validate = [&] {
      double const evaluated = validation_loss(space, ema ? Weights::ema : Weights::raw);
      double const raw = ema ? validation_loss(space, Weights::raw) : evaluated;
      if (s.record_validation(evaluated, raw)) s.write_best(ema ? m.optimizer_state().ema : m.parameters());
    };
    if (s.initial_validation_due()) validate();  // the curve starts at the initial weights
    while (!s.done()) {
      DsmBatch const& batch = s.next_batch(space);
      double const loss = gradient_step ? gradient_step(m, batch) : m.loss_and_gradient(batch);
      double const norm = m.gradient_norm();
      double const lr = s.learning_rate();
      double const decay = s.ema_decay();
      if (std::isfinite(loss)) {
        m.adam_step(s.options().adam, lr, s.gradient_scale(norm), s.step() + 1);
        if (ema) m.update_ema(decay);
      }
      s.finish_step(loss, norm, lr);  // throws on a non-finite loss: the last checkpoint stays intact
      if (s.validation_due()) validate();
      if (s.checkpoint_due()) s.write_checkpoint(m.parameters(), m.optimizer_state());
      if (on_step) on_step(s.progress());
    }
    if (s.checkpoint_pending()) s.write_checkpoint(m.parameters(), m.optimizer_state());  // stopped by request_stop
    return s.finish(ema ? m.optimizer_state().ema : m.parameters());
  }

  /// Ends run() after the step in progress, with a checkpoint (callable from
  /// the progress callback, e.g. when a signal arrived).
  void request_stop() { session_->request_stop(); }

 private:
  Trainer(Kokkos::DefaultHostExecutionSpace const& space, TrainerOptions const& options,
          std::string const& checkpoint)
      : session_(std::make_unique<Impl::TrainingSession>(space, options, checkpoint, Model::backend_type::name(),
                                                        Model::dtype())),
        model_(std::make_unique<Model>(session_->architecture())) {
    model_->reserve(session_->max_batch());
    model_->set_parameters(session_->start_parameters());
    model_->set_optimizer_state(session_->start_optimizer_state());
  }

  double validation_loss(Kokkos::DefaultHostExecutionSpace const& space, Weights which) {
    auto& s = *session_;
    double sum = 0;
    std::int64_t count = 0;
    for (std::int64_t b = 0; b < s.num_validation_batches(); ++b) {
      DsmBatch const& batch = s.validation_batch(space, b);
      sum += model_->loss(batch, which) * batch.size();
      count += batch.size();
    }
    return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
  }

  std::unique_ptr<Impl::TrainingSession> session_;
  std::unique_ptr<Model> model_;
};

}  // namespace score
}  // namespace psgm
