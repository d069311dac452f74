// `psgm train`'s settings and its training loop, shared by the psgm
// executable (the native backend) and the module psgm_cli_torch (LibTorch;
// src/cli/TorchModule.hpp): the executable does not load LibTorch until a
// command asks for it.
#pragma once

#include "Command.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/score/Trainer.hpp>
#if PSGM_ENABLE_MPI
#include <psgm/mpi/DataParallel.hpp>
#endif

#include <Kokkos_Core.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace psgm::cli::training {

/// The configuration's [training], [model] and [data] (read by cmd_train.cpp).
struct Settings {
  psgm::score::TrainerOptions trainer;
  std::string kind;  // "score" or "gaussian"
  std::string backend;
  std::string dtype;
};

/// psgm train's command-line options.
struct Options {
  std::string data;
  std::string output;
  std::string resume;
  std::string backend;
  std::string kind;
  std::int64_t stop_after = -1;
  bool overwrite = false;
  bool quiet = false;
  bool print_config = false;
  std::string reduction = "allreduce";  ///< MPI builds: how the ranks' gradients are summed
  int reduction_chunks = 8;
};

inline std::string format_g(double v, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// "(a, b, c)": a regression's per-feature length scales.
inline std::string scales(psgm::model::KernelRidge const& k) {
  std::string out = "(";
  for (std::size_t i = 0; i < k.length_scales.size(); ++i) out += (i ? ", " : "") + format_g(k.length_scales[i], 3);
  return out + ")";
}

/// "length scales (a, b, c), ridge r (error e)" of every part of a regression,
/// named by the channels when there is one part per channel.
inline std::string ridge_summary(psgm::model::RidgeSet const& set, std::vector<std::string> const& channels,
                          char const* error_unit) {
  std::string out;
  for (std::size_t i = 0; i < set.parts.size(); ++i) {
    auto const& k = set.parts[i];
    if (set.parts.size() > 1)
      out += std::string(i ? "; " : "") + (set.parts.size() == channels.size() ? channels[i] : std::to_string(i)) + ": ";
    out += "length scales " + scales(k) + ", ridge " + format_g(k.ridge, 3) + " (error " + format_g(k.cv_error, 3) +
           error_unit + ")";
  }
  return out;
}

/// The whitening's channel names (c0, c1, ... when the file has none).
inline std::vector<std::string> channel_labels(psgm::model::Whitening const& w) {
  if (int(w.channel_names.size()) == w.channels) return w.channel_names;
  std::vector<std::string> out;
  for (int c = 0; c < w.channels; ++c) out.push_back("c" + std::to_string(c));
  return out;
}

/// The spread regression(s) of a whitening, for the training log.
inline std::string spread_summary(psgm::model::Whitening const& w) {
  auto const names = channel_labels(w);
  if (w.spread_form == psgm::model::SpreadForm::log_std) return "log spread: " + ridge_summary(w.log_std, names, "");
  return "spread level: " + ridge_summary(w.spread_level, names, "") + "\n  spread shape: " +
         ridge_summary(w.spread_shape, names, "");
}

/// Where a backend's model computes: its execution space, or the host for LibTorch.
template <class Backend>
std::string device_of() {
  if constexpr (std::is_same_v<Backend, psgm::score::LibTorch>) return "LibTorch on the CPU";
  else return std::string("Kokkos ") + Backend::execution_space::name();
}

/// Trains a score network of type Model (psgm::score::TrainableModel<Backend,
/// Scalar>) with the settings: progress on stderr, summary on stdout, Ctrl-C
/// writes a checkpoint; under mpirun data-parallel over MPI_COMM_WORLD.
/// Returns the exit code.
template <class Model>
int run(Settings const& s, Options const& options) {
  using Space = Kokkos::DefaultHostExecutionSpace;
  Space space;
  psgm::score::TrainerOptions trainer_options = s.trainer;
  trainer_options.write_files = psgm::cli::is_root_process();  // under MPI, rank 0 writes the files
  auto trainer = options.resume.empty()
                     ? psgm::score::Trainer<Model>(space, trainer_options)
                     : psgm::score::Trainer<Model>::resume(space, trainer_options, options.resume);
  typename psgm::score::Trainer<Model>::gradient_step_function gradient_step;
#if PSGM_ENABLE_MPI
  // A job of one outside mpirun with the reproducible reduction starts MPI
  // itself: its weights then equal those of any rank count.
  auto const reduction = psgm::mpi::parse_gradient_reduction(options.reduction);
  if (reduction != psgm::mpi::GradientReduction::allreduce) psgm::cli::start_mpi();
  std::optional<psgm::mpi::DataParallel<Model>> parallel;
  if (psgm::cli::mpi_running()) {
    // Data-parallel over MPI_COMM_WORLD (docs/scaling.md §4): the replicas
    // start from rank 0's state, and every step sums the ranks' gradients.
    psgm::mpi::broadcast_state(MPI_COMM_WORLD, trainer.model());
    parallel.emplace(MPI_COMM_WORLD, psgm::mpi::DataParallelOptions{reduction, options.reduction_chunks});
    gradient_step = *parallel;  // the copies share the times
  }
#endif
  auto const& session = trainer.session();
  auto const& a = session.architecture();
  auto const& o = session.options();
  if (!options.quiet) {
    std::cerr << "psgm train: " << (options.resume.empty() ? "" : "resuming at step " + std::to_string(session.step()) + ", ")
              << psgm::model::parameter_count(a) << "-parameter FiLM-CNN (width " << a.width << ", " << a.num_blocks
              << " blocks, kernel " << a.kernel_size << ", N = " << a.num_points << "), " << psgm::model::to_string(o.sde.type)
              << " SDE, backend " << Model::backend_type::name() << " in " << Model::dtype() << " ("
              << device_of<typename Model::backend_type>() << "; host " << Space::name() << ", "
              << space.concurrency() << " threads)\n"
              << "  data " << o.data_path << ": " << session.train_rows().size() << " training / "
              << session.validation_rows().size() << " validation samples (split by condition); " << session.total_steps()
              << " steps of batch " << session.max_batch() << " (" << session.steps_per_epoch() << " per epoch)\n"
              << "  best model -> " << o.output_path << ", checkpoints -> " << psgm::score::checkpoint_path(o.output_path)
              << '\n';
    if (auto const& w = session.whitening())
      std::cerr << "  whitened: the network learns " << w->components << " of " << w->num_free()
                << " coordinates (" << format_g(100 * w->explained_variance(), 4)
                << " % of the pooled variance; the rest are drawn from N(0, 1))\n  mean regression: "
                << ridge_summary(w->mean, channel_labels(*w), " spreads^2") << "\n  " << spread_summary(*w) << '\n';
  }
  InterruptScope signals;
  std::int64_t const start = session.step();
  psgm::cli::Progress progress("train", session.total_steps() - start, "steps", !options.quiet, 2.0);
  std::string last_extra;
  auto on_step = [&](psgm::score::TrainingProgress const& p) {
    std::ostringstream os;
    os << "step " << p.step << "/" << p.total_steps << " loss " << format_g(p.loss) << " lr "
       << format_g(p.learning_rate, 3) << " |g| " << format_g(p.gradient_norm, 3) << ", "
       << format_g(p.samples_per_second, 3) << " samples/s";
    if (p.best_step >= 0)
      os << ", val " << format_g(p.validation_loss) << " (best " << format_g(p.best_validation_loss) << " @ "
         << p.best_step << ")";
    last_extra = os.str();
    progress.update(p.step - start, last_extra);
    bool stop = InterruptScope::interrupted();
#if PSGM_ENABLE_MPI
    // Every rank stops after the same step, or the others would wait for it.
    if (psgm::cli::mpi_running()) {
      int any = stop ? 1 : 0;
      MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
      stop = any != 0;
    }
#endif
    if (stop) trainer.request_stop();
  };
  auto const summary = trainer.run(space, on_step, gradient_step);
  if (summary.finished) progress.finish(last_extra);

  std::cout << "psgm train: " << (summary.finished ? "finished" : "stopped") << " after " << summary.steps << " of "
            << summary.total_steps << " steps in " << psgm::cli::format_duration(summary.seconds) << "; final loss "
            << format_g(summary.final_loss);
  if (summary.best_step >= 0)
    std::cout << ", best validation loss " << format_g(summary.best_validation_loss) << " at step " << summary.best_step;
  std::cout << "\n  model (best validation" << (o.ema_decay > 0 ? ", EMA weights" : "") << "): " << summary.output_path
            << "\n  checkpoint: " << summary.checkpoint_path << '\n';
#if PSGM_ENABLE_MPI
  if (psgm::cli::process_count() > 1 && parallel) {
    // Where rank 0's steps went: the gradient, and summing it over the ranks
    // (docs/scaling.md §7; perf/bench_mpi.py reads this line).
    auto const t = parallel->times();
    if (t.steps > 0)
      std::cout << "  gradient reduction (" << options.reduction << ", " << t.values << " doubles = "
                << format_g(double(t.values) * 8.0 / 1048576.0, 3)
                << " MiB): " << format_g(t.reduction_s / double(t.steps) * 1e3, 3)
                << " ms per step, waiting for the slowest rank included; the gradient of rank 0's slice "
                << format_g(t.gradient_s / double(t.steps) * 1e3, 3) << " ms per step (" << t.steps << " steps)\n";
  }
#endif
  if (!summary.finished)
    std::cout << "  resume with: psgm train --resume " << summary.checkpoint_path << " -o " << summary.output_path
              << '\n';
  // Stopped by a signal: the checkpoint is written, but the run is not done;
  // a script (or psgm pipeline) must not carry on as if it were.
  if (!summary.finished && InterruptScope::interrupted()) {
    std::cerr << "psgm train: interrupted at step " << summary.steps << " of " << summary.total_steps
              << "; the checkpoint " << summary.checkpoint_path << " holds the run, resume with: psgm train --resume "
              << summary.checkpoint_path << " -o " << summary.output_path << '\n';
    return InterruptScope::interrupted_exit_code();
  }
  return 0;
}

}  // namespace psgm::cli::training
