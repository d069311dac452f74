// `psgm train`: a conditional score network from a data set file, by
// denoising score matching (spec sgm.md §1-4; docs/training.md). The trainer
// (psgm/score/Trainer.hpp) is shared by the backends; this command reads the
// configuration, picks the backend and precision, reports progress and
// handles interruption (Ctrl-C writes a checkpoint to resume from).
#include "Command.hpp"
#include "OutputPolicy.hpp"
#include "TorchModule.hpp"
#include "TrainingLoop.hpp"

#include <psgm/Config.hpp>
#include <psgm/core/Error.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/workflow/ScoreBackends.hpp>

#include <Kokkos_Core.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace {
// named: commands share a translation unit in unity builds (docs/portability.md §6)
namespace cmd_train {

using psgm::require;
using psgm::cli::Config;
using psgm::cli::InterruptScope;
using psgm::cli::training::channel_labels;
using psgm::cli::training::format_g;
using psgm::cli::training::Options;
using psgm::cli::training::ridge_summary;
using psgm::cli::training::Settings;
using psgm::cli::training::spread_summary;

// ------------------------------------------------------------------ presets
struct PresetValues {
  char const* name;
  char const* comment;
  char const* kind;       // "score" or "gaussian"
  bool whiten;
  int components;
  char const* sde_type;
  double noise_scale;
  int width, num_blocks, kernel_size, num_frequencies, film_hidden, film_layers;
  std::int64_t batch_size, epochs, steps;
  double learning_rate, learning_rate_min;
  std::int64_t warmup_steps;
  double gradient_clip, ema_decay, condition_noise;
  std::int64_t validate_every, validation_max_samples, checkpoint_every;
};

std::string preset_text(PresetValues const& p) {
  char buf[12288];
  std::snprintf(buf, sizeof buf, R"(# psgm train, preset '%s': %s
[data]
path = ""                    # the data set (psgm generate); or --data FILE
validation_fraction = 0.1    # fraction of the *conditions* held out; validation conditions are never trained on
max_memory_mb = 2048         # samples are read into memory below this size, else each mini-batch is streamed

[model]
kind = "%s"               # "score": a score network; "gaussian": the conditional Gaussian emulator
                             # (regressed mean and spread, one pooled correlation; no network, sampled exactly)
whiten = %s               # condition-aware whitening x = mu(u) + sigma(u) z (psgm's default; docs/training.md);
                             # false: the reference normalisation of spec sgm.md §1
components = %d              # whitened: latent coordinates (leading principal components of z) the network
                             # learns; the others are drawn from N(0, 1). 0: all of them
whitening_max_cv_conditions = 600   # conditions used to choose the regressions' length scales and ridge
whitening_spread = "log_std"  # how sigma(u) is regressed: "log_std" (log sigma per point; psgm's default) or
                             # "level_shape" (channel level x linear shape; better from ~2000 conditions up)
whitening_from = ""          # a model file (e.g. the Gaussian emulator of the same data set) whose whitening
                             # is reused instead of fitted; only `components` applies. "": fit it
# the FiLM-CNN of spec sgm.md §4 (channels and N come from the data; whitened: the latent coordinates are
# its channels on one point, kernel_size 1, so it is a residual MLP with FiLM conditioning)
width = %d
num_blocks = %d
kernel_size = %d
num_frequencies = %d         # time embedding sin/cos(2 pi 2^k t), k < num_frequencies
film_hidden = %d
film_layers = %d
dtype = "float32"            # or "float64"

[sde]                        # spec sgm.md §2; "vp" (reference), "ve" or "edm"
type = "%s"
[sde.vp]
beta_min = 1e-3
beta_max = 20.0              # m(1) = exp(-(beta_min + beta_max)/4) must be <= 1e-2
t_min = 1e-4
[sde.ve]
sigma_min = 0.01
sigma_max = 50.0
t_min = 1e-5
[sde.edm]
sigma_data = 1.0
p_mean = -1.2
p_std = 1.2
sigma_min = 0.002
sigma_max = 80.0
rho = 7.0
noise_scale = %g             # c_noise = noise_scale ln(sigma); Karras et al.: 0.25 (see docs/training.md)

[training]
backend = "%s"              # "libtorch" or "native" (psgm's Kokkos kernels); or --backend
seed = 0
batch_size = %lld
epochs = %lld
steps = %lld                 # > 0: train this many steps instead of `epochs` epochs
learning_rate = %g           # peak; cosine decay to learning_rate_min over the run
learning_rate_min = %g
warmup_steps = %lld          # linear warm-up from 0
adam_beta1 = 0.9
adam_beta2 = 0.999
adam_eps = 1e-8
gradient_clip = %g           # clip the gradient's 2-norm to this; 0: off
ema_decay = %g               # exponential moving average of the weights (evaluated, saved); 0: off
condition_noise = %g         # std of noise added to the standardised condition input of training samples; 0: off
validate_every = %lld        # steps; 0: once per epoch
validation_max_samples = %lld  # 0: every validation sample
checkpoint_every = %lld      # steps; 0: at every validation
)",
                p.name, p.comment, p.kind, p.whiten ? "true" : "false", p.components, p.width, p.num_blocks,
                p.kernel_size, p.num_frequencies, p.film_hidden, p.film_layers, p.sde_type, p.noise_scale,
                PSGM_HAS_TORCH ? "libtorch" : "native", (long long)p.batch_size, (long long)p.epochs,
                (long long)p.steps, p.learning_rate,
                p.learning_rate_min, (long long)p.warmup_steps, p.gradient_clip, p.ema_decay, p.condition_noise,
                (long long)p.validate_every, (long long)p.validation_max_samples, (long long)p.checkpoint_every);
  return buf;
}

std::vector<std::pair<std::string, std::string>> const& presets() {
  // reference: spec sgm.md §4 exactly (Adam, lr 2e-4 cosine to 1e-6, batch
  //   1024, 5000 epochs, best validation kept; no EMA, clipping or warm-up).
  // improved: the reference network with the better defaults beside it.
  // small: a narrower, shallower network that learns the `psgm generate
  //   --preset small` data (1000 fields, N = 100) in a few minutes on two
  //   cores (docs/training.md, "Presets").
  // residual (the default): the whitened residual model of docs/training.md:
  //   32 latent coordinates, a FiLM residual MLP (kernel 1), EDM with the
  //   unaliased noise input, EMA, noise 0.1 on the condition input; chosen
  //   on validation conditions (docs/results.md, "How the defaults were chosen").
  // gaussian: the conditional Gaussian emulator (no network).
  static std::vector<std::pair<std::string, std::string>> const p{
      {"residual", preset_text({"residual", "psgm's default: a residual score model on whitened fields", "score", true,
                                32, "edm", 1.0 / 16, 256, 3, 1, 6, 128, 2, 512, 0, 3000, 1e-3, 1e-5, 300, 1.0,
                                0.999, 0.1, 1000, 2000, 0})},
      {"gaussian", preset_text({"gaussian", "the conditional Gaussian emulator (no network)", "gaussian", true, 0,
                                "edm", 1.0 / 16, 256, 3, 1, 6, 128, 2, 512, 0, 1, 1e-3, 1e-5, 0, 0.0, 0.0, 0.0, 0, 0, 0})},
      {"reference", preset_text({"reference", "the original research code's settings (spec sgm.md §4)", "score", false,
                                 0, "vp", 0.25, 64, 10, 7, 16, 128, 4, 1024, 5000, 0, 2e-4, 1e-6, 0, 0.0, 0.0, 0.0, 0,
                                 0, 0})},
      {"improved", preset_text({"improved", "the reference network with EMA, gradient clipping and warm-up", "score",
                                false, 0, "vp", 0.25, 64, 10, 7, 16, 128, 4, 1024, 5000, 0, 2e-4, 1e-6, 1000, 1.0,
                                0.999, 0.0, 0, 0, 0})},
      {"small", preset_text({"small", "a small network for a few minutes on a CPU", "score", false, 0, "vp", 0.25, 32,
                             4, 5, 16, 64, 3, 128, 0, 1500, 2e-3, 2e-5, 50, 1.0, 0.995, 0.0, 100, 1000, 0})},
  };
  return p;
}

// ------------------------------------------------------------------ settings
// (Settings and Options: TrainingLoop.hpp, shared with the LibTorch module.)
Settings read_settings(Config const& cfg) {
  Settings s;
  auto& o = s.trainer;
  o.data_path = cfg.get<std::string>("data.path");
  o.validation_fraction = cfg.get<double>("data.validation_fraction");
  double const mb = cfg.get<double>("data.max_memory_mb");
  require(mb >= 0, "configuration: data.max_memory_mb = ", mb, " must be >= 0");
  o.max_memory_bytes = static_cast<std::int64_t>(mb * 1024 * 1024);

  s.kind = cfg.get<std::string>("model.kind");
  require(s.kind == "score" || s.kind == "gaussian", "configuration: model.kind = '", s.kind,
          "'; expected 'score' (a score network) or 'gaussian' (the conditional Gaussian emulator)");
  o.whiten = cfg.get<bool>("model.whiten");
  o.whitening.components = cfg.get<int>("model.components");
  o.whitening.max_cv_conditions = cfg.get<int>("model.whitening_max_cv_conditions");
  {
    auto const form = cfg.get<std::string>("model.whitening_spread");
    require(form == "level_shape" || form == "log_std", "configuration: model.whitening_spread = '", form,
            "'; expected 'level_shape' or 'log_std'");
    o.whitening.spread_form =
        form == "log_std" ? psgm::model::SpreadForm::log_std : psgm::model::SpreadForm::level_shape;
  }
  o.whitening_from = cfg.get<std::string>("model.whitening_from");
  require(o.whitening_from.empty() || o.whiten, "configuration: model.whitening_from = '", o.whitening_from,
          "' reuses a whitening, but model.whiten = false");
  require(s.kind == "score" || o.whitening_from.empty(), "configuration: model.whitening_from is for a score ",
          "network; the Gaussian emulator ('gaussian') fits its own whitening");
  require(s.kind == "score" || o.whiten, "configuration: model.kind = 'gaussian' is built on the whitening; ",
          "model.whiten must be true");
  auto& a = o.architecture;
  a.width = cfg.get<int>("model.width");
  a.num_blocks = cfg.get<int>("model.num_blocks");
  a.kernel_size = cfg.get<int>("model.kernel_size");
  a.num_frequencies = cfg.get<int>("model.num_frequencies");
  a.film_hidden = cfg.get<int>("model.film_hidden");
  a.film_layers = cfg.get<int>("model.film_layers");
  s.dtype = cfg.get<std::string>("model.dtype");
  require(s.dtype == "float32" || s.dtype == "float64", "configuration: model.dtype = '", s.dtype,
          "'; expected 'float32' or 'float64'");

  auto& sde = o.sde;
  try {
    sde.type = psgm::model::sde_type_from_string(cfg.get<std::string>("sde.type"));
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration: sde.type: ") + e.what());
  }
  sde.vp.beta_min = cfg.get<double>("sde.vp.beta_min");
  sde.vp.beta_max = cfg.get<double>("sde.vp.beta_max");
  sde.vp.t_min = cfg.get<double>("sde.vp.t_min");
  sde.ve.sigma_min = cfg.get<double>("sde.ve.sigma_min");
  sde.ve.sigma_max = cfg.get<double>("sde.ve.sigma_max");
  sde.ve.t_min = cfg.get<double>("sde.ve.t_min");
  sde.edm.sigma_data = cfg.get<double>("sde.edm.sigma_data");
  sde.edm.p_mean = cfg.get<double>("sde.edm.p_mean");
  sde.edm.p_std = cfg.get<double>("sde.edm.p_std");
  sde.edm.sigma_min = cfg.get<double>("sde.edm.sigma_min");
  sde.edm.sigma_max = cfg.get<double>("sde.edm.sigma_max");
  sde.edm.rho = cfg.get<double>("sde.edm.rho");
  sde.edm.noise_scale = cfg.get<double>("sde.edm.noise_scale");

  s.backend = cfg.get<std::string>("training.backend");
  auto const seed = cfg.get<std::int64_t>("training.seed");
  require(seed >= 0, "configuration: training.seed = ", seed, " must be >= 0");
  o.seed = static_cast<std::uint64_t>(seed);
  o.batch_size = cfg.get<std::int64_t>("training.batch_size");
  o.epochs = cfg.get<std::int64_t>("training.epochs");
  o.steps = cfg.get<std::int64_t>("training.steps");
  o.learning_rate = cfg.get<double>("training.learning_rate");
  o.learning_rate_min = cfg.get<double>("training.learning_rate_min");
  o.warmup_steps = cfg.get<std::int64_t>("training.warmup_steps");
  o.adam.beta1 = cfg.get<double>("training.adam_beta1");
  o.adam.beta2 = cfg.get<double>("training.adam_beta2");
  o.adam.eps = cfg.get<double>("training.adam_eps");
  o.gradient_clip = cfg.get<double>("training.gradient_clip");
  o.ema_decay = cfg.get<double>("training.ema_decay");
  o.condition_noise = cfg.get<double>("training.condition_noise");
  o.validate_every = cfg.get<std::int64_t>("training.validate_every");
  o.validation_max_samples = cfg.get<std::int64_t>("training.validation_max_samples");
  o.checkpoint_every = cfg.get<std::int64_t>("training.checkpoint_every");
  return s;
}

/// A TOML basic string holding `text`.
std::string toml_string(std::string const& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// ------------------------------------------------------------------ sizes
/// A network that cannot fit the machine is refused before anything is
/// allocated (instead of std::bad_alloc part-way): training holds about ten
/// copies of the parameters (weights, gradients, both Adam moments, EMA, the
/// best weights, the backend's own copies).
void check_network_fits(Settings const& s) {
  if (s.kind != "score") return;
  auto a = s.trainer.architecture;
  a.channels = std::max(2, s.trainer.whitening.components);
  a.num_points = std::max(a.kernel_size, 3);
  std::int64_t count = 0;
  try {
    count = psgm::model::parameter_count(a);
  } catch (psgm::InvalidArgument const& e) {
    throw psgm::InvalidArgument(std::string("configuration [model]: ") + e.what());
  }
  double const need = 10.0 * 8.0 * double(count);
  double const have = double(::sysconf(_SC_PHYS_PAGES)) * double(::sysconf(_SC_PAGE_SIZE));
  require(have <= 0 || need <= have, "configuration [model]: width = ", a.width, ", num_blocks = ", a.num_blocks,
          ", kernel_size = ", a.kernel_size, " make a network of ", count, " parameters; training holds about ten ",
          "copies of them (", psgm::cli::format_mib(need / 1048576.0), "), more than this machine's ",
          psgm::cli::format_mib(have / 1048576.0), " of memory");
}

// ------------------------------------------------------------------ outputs
/// Whether the model file at `path` belongs to the run stored in
/// `checkpoint` (the same data and seed): continuing that run may update it.
bool same_run(std::string const& path, std::string const& checkpoint) {
  if (!std::filesystem::exists(path)) return true;
  try {
    auto const model = psgm::io::read_model(path);
    auto const run = psgm::io::read_model(checkpoint);
    return model.training.dataset_sha256 == run.training.dataset_sha256 && model.training.seed == run.training.seed &&
           model.training.config_toml == run.training.config_toml;
  } catch (psgm::Error const&) {
    return false;
  }
}

/// The output policy (OutputPolicy.hpp) for the model file and, for a score
/// network, the checkpoint beside it. Resuming from "<stem>.checkpoint.h5"
/// into "<stem>.h5" continues that run: its checkpoint and best model are
/// updated without --overwrite. Any other existing file needs --overwrite
/// and must be a psgm model file; the training data set, and a checkpoint
/// resumed into another output, are inputs and never replaced.
void check_outputs(Options const& options, std::string const& data_path, bool checkpoints) {
  std::string const checkpoint = psgm::score::checkpoint_path(options.output);
  bool const continuing = !options.resume.empty() && psgm::cli::same_file(options.resume, checkpoint);
  psgm::cli::OutputPolicy policy("psgm train", options.overwrite);
  policy.input(data_path, "training data set");
  if (!continuing) policy.input(options.resume, "checkpoint to resume from");
  policy.output(options.output, "model file", {psgm::io::model_format_name},
                continuing && same_run(options.output, options.resume));
  if (checkpoints) policy.output(checkpoint, "checkpoint", {psgm::io::model_format_name}, continuing);
  policy.check();
}

/// `psgm train --model gaussian`: the conditional Gaussian emulator, in seconds.
int fit_emulator(Settings const& s, Options const& options) {
  using Space = Kokkos::DefaultHostExecutionSpace;
  auto const start = std::chrono::steady_clock::now();
  auto const m = psgm::score::fit_gaussian_emulator(Space(), s.trainer);
  double const seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto const& w = *m.whitening;
  std::cout << "psgm train: Gaussian emulator fitted in " << psgm::cli::format_duration(seconds) << " on "
            << w.num_training_samples << " fields at " << w.num_training_conditions << " training conditions; "
            << w.num_free() << " of " << w.channels * w.num_points << " points free (the others pinned)\n"
            << "  mean (leave-one-condition-out errors): " << ridge_summary(w.mean, channel_labels(w), " spreads^2")
            << "\n"
            << "  " << spread_summary(w) << "\n"
            << "  model: " << s.trainer.output_path << '\n';
  (void)options;
  return 0;
}

/// The backend by name: "native" here, "libtorch" in the module psgm_cli_torch
/// (src/cli/TorchModule.hpp), loaded now; any other name is refused with
/// psgm's list of backends (psgm::workflow::require_score_backend).
int train_with_backend(Settings const& s, Options const& options) {
  psgm::workflow::require_score_backend(s.backend, "psgm train");
  bool const dp = s.dtype == "float64";
  if (s.backend == "libtorch") {
    auto const& torch = psgm::cli::torch_commands("psgm train");
    return dp ? torch.train_double(s, options) : torch.train_float(s, options);
  }
  using Native = psgm::score::Native<Kokkos::DefaultExecutionSpace>;
  return dp ? psgm::cli::training::run<psgm::score::TrainableModel<Native, double>>(s, options)
            : psgm::cli::training::run<psgm::score::TrainableModel<Native, float>>(s, options);
}

psgm::cli::RegisterCommand train_command(
    "train", "train a conditional score network on a data set (denoising score matching)",
    [](CLI::App& app) -> std::function<int()> {
      std::vector<std::string> names;
      for (auto const& [name, text] : presets()) names.push_back(name);
      auto config = psgm::cli::add_config_options(app, "residual", names);
      auto options = std::make_shared<Options>();
      auto seed = std::make_shared<std::int64_t>(0);
      app.add_option("--data", options->data, "data set file to train on (same as --set data.path=FILE)");
      app.add_option("-o,--output", options->output,
                     "model file to write (HDF5); checkpoints go beside it as <name>.checkpoint.h5");
      app.add_option("--resume", options->resume,
                     "continue the run stored in this checkpoint (its configuration is used; --set may change it)");
      app.add_option("--backend", options->backend, "score backend (same as --set training.backend=NAME)");
      app.add_option("--model", options->kind,
                     "'score' (a score network) or 'gaussian' (the conditional Gaussian emulator, fitted in seconds; "
                     "same as --set model.kind=NAME)");
      CLI::Option* seed_option = app.add_option("--seed", *seed, "random seed (same as --set training.seed=SEED)");
      app.add_option("--stop-after", options->stop_after,
                     "end this invocation after this many steps in total, with a checkpoint (continue with --resume)");
      app.add_flag("--overwrite", options->overwrite, "replace the output model file if it exists");
      app.add_flag("-q,--quiet", options->quiet, "no progress on stderr");
      app.add_flag("--print-config", options->print_config, "print the effective configuration and exit");
#if PSGM_ENABLE_MPI
      app.add_option("--gradient-reduction", options->reduction,
                     "under mpirun: 'allreduce' (default) or 'reproducible' (the same bits for any rank count; "
                     "docs/scaling.md)");
      app.add_option("--reduction-chunks", options->reduction_chunks,
                     "reproducible reduction: the fixed blocks each batch is cut into (default 8)");
#endif
      app.footer(
          "Examples:\n"
          "  psgm train --preset small --data small.h5 -o small_model.h5\n"
          "  psgm train --data reference.h5 -o model.h5                  # the reference training (spec sgm.md §4)\n"
          "  psgm train --preset improved --data reference.h5 -o model.h5 --set sde.type=edm\n"
          "  psgm train --resume model.checkpoint.h5                     # after an interruption (Ctrl-C)\n"
          "See docs/training.md for every option, the presets and the model file.");
      return [config, options, seed, seed_option]() {
        if (!psgm::cli::is_root_process()) options->quiet = true;  // under MPI, rank 0 reports
        auto overrides = config->overrides;
        // Absolute, so that the stored configuration resumes from any directory.
        if (!options->data.empty())
          overrides.push_back("data.path=" + toml_string(std::filesystem::absolute(options->data).string()));
        if (!options->backend.empty()) overrides.push_back("training.backend=" + toml_string(options->backend));
        if (!options->kind.empty()) overrides.push_back("model.kind=" + toml_string(options->kind));
        if (seed_option->count() > 0) overrides.push_back("training.seed=" + std::to_string(*seed));
        // Resuming starts from the configuration stored in the checkpoint.
        std::string preset = config->preset;
        auto preset_list = presets();
        if (!options->resume.empty()) {
          require<psgm::IoError>(psgm::io::has_checkpoint(options->resume), "psgm train: '", options->resume,
                                 "' holds no /checkpoint group, so training cannot resume from it (resume from the "
                                 "'<name>.checkpoint.h5' file written beside the model)");
          auto const stored = psgm::io::read_model(options->resume).training.config_toml;
          require<psgm::IoError>(!stored.empty(), "psgm train: '", options->resume,
                                 "' stores no training configuration; it cannot be resumed");
          preset = "checkpoint";
          preset_list = {{"checkpoint", stored}};
        }
        Config cfg = Config::load(preset, preset_list, config->file, overrides);
        Settings settings = read_settings(cfg);
        cfg.reject_unknown_keys();
        check_network_fits(settings);
        if (options->print_config) {
          std::cout << cfg.to_toml() << '\n';
          return 0;
        }
        auto& o = settings.trainer;
        if (options->output.empty() && !options->resume.empty()) {
          // "<stem>.checkpoint.h5" -> "<stem>.h5"
          std::string out = options->resume;
          auto const pos = out.rfind(".checkpoint.h5");
          require(pos != std::string::npos && pos + 14 == out.size(), "psgm train: pass -o FILE with --resume '",
                  options->resume, "' (its name does not end in .checkpoint.h5)");
          options->output = out.substr(0, pos) + ".h5";
        }
        require(!options->output.empty(), "psgm train: no output file; pass -o FILE.h5");
        require(!o.data_path.empty(), "psgm train: no data set; pass --data FILE.h5 (a file of psgm generate)");
        check_outputs(*options, o.data_path, settings.kind == "score");
        o.output_path = options->output;
        o.stop_after_steps = options->stop_after;
        o.config_toml = cfg.to_toml();
        if (settings.kind == "gaussian") {
          require(options->resume.empty(), "psgm train: a Gaussian emulator has no training run to resume");
          require(psgm::cli::process_count() == 1, "psgm train: the Gaussian emulator is fitted on one process "
                  "(in seconds); run it without mpirun");
          return fit_emulator(settings, *options);
        }
        return train_with_backend(settings, *options);
      };
    });

}  // namespace cmd_train
}  // namespace
