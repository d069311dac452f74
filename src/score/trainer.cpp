// The backend-independent part of training (include/psgm/score/Trainer.hpp,
// docs/training.md): data, split by condition, normalisation (spec §1),
// mini-batches with diffusion times and noise (spec §3), learning-rate
// schedule, clipping and EMA decisions, records, best model and checkpoints.
#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/core/Random.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/model/Whitening.hpp>
#include <psgm/score/Trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>

namespace psgm {
namespace score {

namespace {

using HostSpace = Kokkos::DefaultHostExecutionSpace;
using HostGenerator = Kokkos::Random_XorShift64<HostSpace>;

constexpr double pi = 3.14159265358979323846;

// Items of the `training_order` stream: epoch e shuffles with item e; the
// split and the validation subset use items far beyond any epoch count.
constexpr std::uint64_t split_item = std::uint64_t(1) << 40;
constexpr std::uint64_t validation_subset_item = split_item + 1;
// Items of the `training_noise` stream: training step s, batch slot i uses
// s * max_batch + i; validation sample j uses validation_noise_offset + j.
constexpr std::uint64_t validation_noise_offset = std::uint64_t(1) << 50;

/// Uniform integer in [0, n), n >= 1, by rejection from 64 random bits:
/// unbiased, and the same on every Kokkos version (unlike urand64(range)).
std::uint64_t uniform_below(HostGenerator& g, std::uint64_t n) {
  std::uint64_t const max = ~std::uint64_t(0);
  std::uint64_t const limit = max - max % n;  // a multiple of n
  std::uint64_t r = g.urand64();
  while (r >= limit) r = g.urand64();
  return r % n;
}

/// Fisher-Yates shuffle of v with the generator of (seed, training_order, item).
template <class T>
void shuffle(std::vector<T>& v, std::uint64_t seed, std::uint64_t item) {
  auto g = random::make_generator<HostSpace>(seed, random::training_order, item);
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform_below(g, i)]);
}

/// Conv1d weight [out, in, k] -> in*k; Linear weight [out, in] -> in.
std::int64_t fan_in_of(model::ParameterShape const& weight) {
  std::int64_t fan_in = 1;
  for (std::size_t d = 1; d < weight.shape.size(); ++d) fan_in *= weight.shape[d];
  return fan_in;
}

double round_to(double v, bool single) { return single ? static_cast<double>(static_cast<float>(v)) : v; }

/// The noisy inputs and targets of one batch in the unified DSM form
/// (Trainer.hpp, DsmBatch): one generator per batch slot, so the draws depend
/// on (seed, item) only, never on the thread that runs the slot.
struct DsmNoiseKernel {
  Kokkos::View<const double***, Kokkos::LayoutRight, Kokkos::HostSpace> x0;
  Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond_in;
  DsmBatch::fields_view x, y;
  DsmBatch::scalars_view t, a;
  DsmBatch::cond_view cond;
  model::SdeConfig sde;
  std::uint64_t seed, first_item;
  double condition_noise = 0.0;  ///< TrainerOptions::condition_noise

  void operator()(int i) const {
    auto g = random::make_generator<HostSpace>(seed, random::training_noise, first_item + std::uint64_t(i));
    draw_noise(i, g);
    // Drawn after the noise, so that condition_noise = 0 leaves every other
    // draw of the slot as it was.
    for (int k = 0; k < static_cast<int>(cond.extent(1)); ++k)
      cond(i, k) = cond_in(i, k) + (condition_noise > 0 ? condition_noise * g.normal() : 0.0);
  }

  template <class Generator>
  void draw_noise(int i, Generator& g) const {
    int const C = static_cast<int>(x0.extent(1)), N = static_cast<int>(x0.extent(2));
    if (sde.type == model::SdeType::edm) {
      // log-normal σ (Karras et al. 2022): ln σ ~ N(P_mean, P_std²)
      auto const& e = sde.edm;
      double const sigma = math::exp(e.p_mean + e.p_std * g.normal());
      double const c_in = e.c_in(sigma), c_skip = e.c_skip(sigma), c_out = e.c_out(sigma);
      t(i) = e.c_noise(sigma);
      a(i) = 1.0;
      for (int c = 0; c < C; ++c)
        for (int n = 0; n < N; ++n) {
          double const z = g.normal(), v = x0(i, c, n);
          x(i, c, n) = c_in * (v + sigma * z);
          y(i, c, n) = ((1.0 - c_skip) * v - c_skip * sigma * z) / c_out;
        }
      return;
    }
    // Spec §3: t = t_min + (1 − t_min) u², u ~ U(0, 1)
    double const t_min = sde.type == model::SdeType::vp ? sde.vp.t_min : sde.ve.t_min;
    double const u = g.drand();
    double const ti = t_min + (1.0 - t_min) * u * u;
    double const m = sde.type == model::SdeType::vp ? sde.vp.mean(ti) : 1.0;
    double const s = sde.type == model::SdeType::vp ? sde.vp.stddev(ti) : sde.ve.stddev(ti);
    t(i) = ti;
    a(i) = s;
    for (int c = 0; c < C; ++c)
      for (int n = 0; n < N; ++n) {
        double const z = g.normal();
        x(i, c, n) = m * x0(i, c, n) + s * z;
        y(i, c, n) = -z;
      }
  }
};

}  // namespace

// ================================================================== free functions
model::ParameterSet initial_parameters(model::FilmCnnConfig const& architecture, std::uint64_t seed,
                                       std::string const& dtype) {
  require(dtype == "float32" || dtype == "float64", "initial_parameters: dtype \"", dtype,
          "\" must be \"float32\" or \"float64\"");
  model::ParameterSet set = model::ParameterSet::zeros(architecture);
  set.dtype = dtype;
  bool const single = dtype == "float32";
  std::string const last_film = "film.layers." + std::to_string(architecture.film_layers - 1) + ".";
  for (std::size_t p = 0; p < set.shapes.size(); ++p) {
    auto const& s = set.shapes[p];
    auto& v = set.values[p];
    auto g = random::make_generator<HostSpace>(seed, random::initialisation, p);
    bool const is_weight = s.name.size() > 7 && s.name.compare(s.name.size() - 7, 7, ".weight") == 0;
    if (s.name.rfind("out_affine.", 0) == 0) continue;  // zero (spec §4)
    if (s.name.find(last_film) != std::string::npos) {
      if (is_weight)
        for (auto& w : v) w = round_to(1e-3 * g.normal(), single);  // N(0, 1e-3²), bias zero (spec §4)
      continue;
    }
    // PyTorch's default for Conv1d and Linear: weight kaiming_uniform(a = √5)
    // and bias alike, both U(−1/√fan_in, 1/√fan_in); a bias takes the fan-in
    // of its weight, the tensor before it in canonical order.
    auto const& weight_shape = is_weight ? s : set.shapes[p - 1];
    double const bound = 1.0 / std::sqrt(static_cast<double>(fan_in_of(weight_shape)));
    for (auto& w : v) w = round_to(bound * (2.0 * g.drand() - 1.0), single);
  }
  return set;
}

std::string checkpoint_path(std::string const& output_path) {
  std::filesystem::path p(output_path);
  std::string stem = p.filename().string();
  if (p.extension() == ".h5" || p.extension() == ".hdf5") stem = p.stem().string();
  return (p.parent_path() / (stem + ".checkpoint.h5")).string();
}

void TrainerOptions::validate() const {
  require(!data_path.empty(), "training: no data set given (data.path, or --data FILE)");
  require(!output_path.empty(), "training: no output model file given (-o FILE)");
  require(validation_fraction >= 0 && validation_fraction < 1, "training: validation_fraction = ",
          validation_fraction, " must be in [0, 1)");
  require(batch_size >= 1, "training: batch_size = ", batch_size, " must be >= 1");
  require(epochs >= 1 || steps >= 1, "training: need epochs >= 1 or steps >= 1 (got epochs = ", epochs,
          ", steps = ", steps, ")");
  require(steps >= 0, "training: steps = ", steps, " must be >= 0 (0: use epochs)");
  require(learning_rate > 0 && std::isfinite(learning_rate), "training: learning_rate = ", learning_rate,
          " must be > 0");
  require(learning_rate_min >= 0 && learning_rate_min <= learning_rate, "training: learning_rate_min = ",
          learning_rate_min, " must be in [0, learning_rate = ", learning_rate, "]");
  require(warmup_steps >= 0, "training: warmup_steps = ", warmup_steps, " must be >= 0");
  require(adam.beta1 >= 0 && adam.beta1 < 1 && adam.beta2 >= 0 && adam.beta2 < 1 && adam.eps > 0,
          "training: Adam needs beta1, beta2 in [0, 1) and eps > 0 (got ", adam.beta1, ", ", adam.beta2, ", ",
          adam.eps, ")");
  require(gradient_clip >= 0, "training: gradient_clip = ", gradient_clip, " must be >= 0 (0: off)");
  require(condition_noise >= 0 && std::isfinite(condition_noise), "training: condition_noise = ", condition_noise,
          " must be >= 0 (the standard deviation of the noise added to the network's standardised condition input; "
          "0: off)");
  require(ema_decay >= 0 && ema_decay < 1, "training: ema_decay = ", ema_decay, " must be in [0, 1) (0: off)");
  require(validate_every >= 0 && checkpoint_every >= 0 && validation_max_samples >= 0,
          "training: validate_every, checkpoint_every and validation_max_samples must be >= 0");
  if (whiten) {
    whitening.validate();  // components = 0: every free coordinate
    require(architecture.kernel_size == 1, "training: a whitened model takes its latent coordinates as channels on ",
            "one point, so its convolutions have kernel_size 1 (got ", architecture.kernel_size, ")");
  } else {
    require(architecture.cond_dim == 3, "training: model cond_dim = ", architecture.cond_dim,
            " but the data sets carry 3 conditions (l, U0, F_right)");
  }
  architecture.validate();
  sde.validate();
}

model::ModelDescription fit_gaussian_emulator(HostSpace const& space, TrainerOptions options) {
  ScopedRegion region("psgm::score::fit_gaussian_emulator");
  options.whiten = true;
  options.whitening.components = 0;  // every coordinate: a ~ N(0, I_F)
  // No network to validate: every condition of the data set is fitted.
  options.validation_fraction = 0;
  options.architecture.kernel_size = 1;
  if (options.steps <= 0 && options.epochs <= 0) options.steps = 1;
  Impl::TrainingSession session(space, options, std::string(), "none", "float64");
  model::ModelDescription m;
  m.kind = model::ModelKind::gaussian_emulator;
  m.whitening = session.whitening();
  m.training = session.record();
  m.training.backend = "none";
  m.training.ema_weights = false;
  m.validate();
  io::write_model(options.output_path, m);
  return m;
}

namespace Impl {

namespace {
/// "l [m, log], U0 [V], F_right [1]"
std::string describe(model::ConditionSchema const& schema) {
  std::string out;
  for (int k = 0; k < schema.size(); ++k)
    out += (k ? ", " : "") + schema.names[k] + " [" + schema.units[k] + (schema.log[k] ? ", log" : "") + "]";
  return out;
}
}  // namespace

// ================================================================== TrainingSession
struct TrainingSession::State {
  TrainerOptions options;
  std::string checkpoint_file;
  std::string backend, dtype;
  bool resumed = false;

  // data
  io::DatasetReader reader;
  std::string dataset_sha256;
  int C = 2, N = 0;  // channels and points of the fields (from the data set; (r, 1) once whitened)
  int K = 3;         // condition columns (from the data set's schema), the network's condition inputs
  std::vector<std::int64_t> condition_of_row;
  std::vector<std::int64_t> train_rows, validation_rows;
  std::int64_t num_train_conditions = 0, num_validation_conditions = 0;
  std::vector<double> cond_normalised;  // (conditions of the file, K): the network's condition input
  bool in_memory = false;
  std::vector<std::int64_t> slot_of_row;  // in-memory: slot of a file row, -1 if not loaded
  std::vector<double> memory;              // in-memory fields, slot-major (C*N per slot)

  // model
  model::FilmCnnConfig architecture;
  model::Normalization normalization;
  std::optional<model::Whitening> whitening;  // set: the network learns whitened coordinates
  model::ParameterSet start_parameters;
  OptimizerState start_state;
  model::ParameterSet best_weights;

  // schedule
  int max_batch = 0;
  std::int64_t steps_per_epoch = 0, total_steps = 0;
  std::int64_t step = 0, epoch = 0, batch_in_epoch = 0;
  std::int64_t stop_at = 0;
  std::int64_t checkpoint_step = -1;  // step of the last checkpoint written
  std::vector<std::int64_t> order;  // positions into train_rows for the current epoch
  std::int64_t order_epoch = -1;

  // workspaces (allocated once)
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> x0, x, y, read_buffer;
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond_in, cond;
  Kokkos::View<double*, Kokkos::HostSpace> t, a;
  DsmBatch batch;
  std::vector<std::int64_t> batch_rows;

  // record
  model::TrainingRecord record;
  std::vector<double> gradient_norms, validation_loss_raw;
  double best_loss = 0;
  std::int64_t best_step = -1;
  bool validated_now = false;
  double last_loss = 0, last_lr = 0, last_norm = 0, last_validation = 0;
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();
  std::int64_t start_step = 0;

  explicit State(std::string const& data_path) : reader(data_path) {}

  bool has_validation() const { return !validation_rows.empty(); }

  // ---------------------------------------------------------------- data
  void select_and_split() {
    auto const& info = reader.info();
    N = info.num_points;
    C = info.num_channels();
    K = info.num_condition_columns();
    condition_of_row = reader.condition_index();
    auto const status = reader.status();
    std::vector<std::int64_t> ok_rows;
    std::set<std::int64_t> conditions;
    for (std::size_t r = 0; r < status.size(); ++r)
      if (status[r] == SolveStatus::ok) {
        ok_rows.push_back(static_cast<std::int64_t>(r));
        conditions.insert(condition_of_row[r]);
      }
    require(!ok_rows.empty(), "training: data set '", options.data_path, "' holds no sample with status ok (of ",
            status.size(), ")");
    // Spec: validation conditions are never seen in training.
    std::vector<std::int64_t> cond_list(conditions.begin(), conditions.end());
    shuffle(cond_list, options.seed, split_item);
    auto const M = static_cast<std::int64_t>(cond_list.size());
    std::int64_t n_val = 0;
    if (options.validation_fraction > 0) {
      require(M >= 2, "training: data set '", options.data_path, "' has ok samples at ", M,
              " condition only; a split by condition needs at least 2 (or set validation_fraction = 0)");
      n_val = std::clamp<std::int64_t>(std::llround(options.validation_fraction * M), 1, M - 1);
    }
    std::set<std::int64_t> val_conditions(cond_list.begin(), cond_list.begin() + n_val);
    for (auto r : ok_rows) (val_conditions.count(condition_of_row[r]) ? validation_rows : train_rows).push_back(r);
    num_validation_conditions = n_val;
    num_train_conditions = M - n_val;
    if (options.validation_max_samples > 0 &&
        static_cast<std::int64_t>(validation_rows.size()) > options.validation_max_samples) {
      shuffle(validation_rows, options.seed, validation_subset_item);
      validation_rows.resize(static_cast<std::size_t>(options.validation_max_samples));
      std::sort(validation_rows.begin(), validation_rows.end());
    }
  }

  /// Streams every training (and validation) sample once in file order:
  /// fits the field normalisation on the training part (Chan's pairwise
  /// mean/variance over chunks, in double) and keeps the samples in memory
  /// when they fit.
  void load_and_fit(bool fit) {
    std::int64_t const n = reader.size();
    std::int64_t const per_sample = std::int64_t(C) * N;
    std::int64_t const needed = static_cast<std::int64_t>(train_rows.size() + validation_rows.size());
    in_memory = needed * per_sample * std::int64_t(sizeof(double)) <= options.max_memory_bytes;
    std::vector<char> role(static_cast<std::size_t>(n), 0);  // 1 train, 2 validation
    for (auto r : train_rows) role[r] = 1;
    for (auto r : validation_rows) role[r] = 2;
    if (in_memory) {
      slot_of_row.assign(static_cast<std::size_t>(n), -1);
      memory.resize(static_cast<std::size_t>(needed * per_sample));
    }
    if (!fit && !in_memory) return;
    std::int64_t const chunk = std::max<std::int64_t>(1, std::min<std::int64_t>(n, (8 << 20) / (per_sample * 8)));
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> buf(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, "psgm::score::training_read_chunk"), chunk, C, N);
    std::array<double, 2> mean{0, 0}, m2{0, 0};
    std::array<std::int64_t, 2> count{0, 0};
    std::int64_t slot = 0;
    for (std::int64_t first = 0; first < n; first += chunk) {
      std::int64_t const len = std::min(chunk, n - first);
      auto view = Kokkos::subview(buf, std::make_pair(std::int64_t(0), len), Kokkos::ALL, Kokkos::ALL);
      reader.read_fields(first, view);
      for (std::int64_t i = 0; i < len; ++i) {
        std::int64_t const r = first + i;
        if (role[r] == 0) continue;
        for (int c = 0; c < C; ++c)
          for (int k = 0; k < N; ++k)
            require<IoError>(std::isfinite(view(i, c, k)), "training: data set '", options.data_path, "' sample ",
                             r, " has status ok but a non-finite value in channel ", c, " at point ", k);
        if (in_memory) {
          slot_of_row[r] = slot;
          std::copy(&view(i, 0, 0), &view(i, 0, 0) + per_sample, memory.data() + slot * per_sample);
          ++slot;
        }
        if (fit && role[r] == 1) {
          for (int c = 0; c < C; ++c) {
            // this sample's mean and M2, then Chan's combination
            double sm = 0;
            for (int k = 0; k < N; ++k) sm += view(i, c, k);
            sm /= N;
            double sm2 = 0;
            for (int k = 0; k < N; ++k) sm2 += (view(i, c, k) - sm) * (view(i, c, k) - sm);
            std::int64_t const nb = N, na = count[c], nab = na + nb;
            double const delta = sm - mean[c];
            mean[c] += delta * double(nb) / double(nab);
            m2[c] += sm2 + delta * delta * double(na) * double(nb) / double(nab);
            count[c] = nab;
          }
        }
      }
    }
    if (fit) {
      for (int c = 0; c < C; ++c) {
        normalization.field_mean[c] = mean[c];
        double const var = m2[c] / double(count[c]);  // population variance over all training values
        require(var > 0, "training: channel ", c, " is constant (", mean[c], ") over the training samples of '",
                options.data_path, "'; it cannot be normalised");
        normalization.field_std[c] = std::sqrt(var);
      }
    }
  }

  void fit_conditions() {
    // Spec §1: min-max over the training set, log l in place of l.
    auto const& conds = reader.info().conditions;
    normalization.cond_log = {true, false, false};
    std::array<double, 3> lo{1e300, 1e300, 1e300}, hi{-1e300, -1e300, -1e300};
    std::set<std::int64_t> used;
    for (auto r : train_rows) used.insert(condition_of_row[r]);
    for (auto k : used) {
      auto const& c = conds[static_cast<std::size_t>(k)];
      std::array<double, 3> const v{std::log(c.l), c.U0, c.F_right};
      for (int j = 0; j < 3; ++j) {
        lo[j] = std::min(lo[j], v[j]);
        hi[j] = std::max(hi[j], v[j]);
      }
    }
    normalization.cond_min = lo;
    normalization.cond_max = hi;
  }

  void normalise_conditions() {
    auto const& info = reader.info();
    auto const M = static_cast<std::size_t>(info.num_conditions());
    cond_normalised.resize(M * std::size_t(K));
    if (whitening) {
      for (std::size_t k = 0; k < M; ++k) {
        auto const f = whitening->features(info.condition(std::int64_t(k)));
        std::copy(f.begin(), f.end(), cond_normalised.begin() + std::ptrdiff_t(k * K));
      }
      return;
    }
    auto const& conds = info.conditions;  // the reference model: the porous electrode's (l, U0, F_right)
    for (std::size_t k = 0; k < conds.size(); ++k) {
      auto const n = normalization.normalise_condition({conds[k].l, conds[k].U0, conds[k].F_right});
      std::copy(n.begin(), n.end(), cond_normalised.begin() + std::ptrdiff_t(k * K));
    }
  }

  /// The whitening stored in model file `path` (TrainerOptions::whitening_from),
  /// checked against this data set, with this run's number of latent coordinates.
  model::Whitening whitening_of(std::string const& path) const {
    model::ModelDescription const stored = io::read_model(path);
    require(stored.whitening.has_value(), "training: model.whitening_from = '", path,
            "' holds no whitening (a model trained with model.whiten = true, e.g. the Gaussian emulator, has one)");
    require(stored.training.dataset_sha256 == dataset_sha256, "training: model.whitening_from = '", path,
            "' was fitted on a data set with SHA-256 ", stored.training.dataset_sha256, ", but '", options.data_path,
            "' has ", dataset_sha256, "; a whitening is reused only with the data it was fitted on");
    model::Whitening w = *stored.whitening;
    int const r = options.whitening.components;
    w.components = r == 0 ? w.num_free() : std::min(r, w.num_free());  // as fit_whitening()
    w.validate();
    return w;
  }

  /// The whitened model: fits the whitening on the training rows (fresh run)
  /// and replaces every loaded sample by its r latent coordinates, so the
  /// rest of training sees fields of (r, 1).
  void whiten(bool fit) {
    require(in_memory, "training: a whitened model needs the training data in memory (",
            train_rows.size() + validation_rows.size(), " samples of ", C, " x ", N,
            " values exceed data.max_memory_mb); raise data.max_memory_mb");
    std::int64_t const per_sample = std::int64_t(C) * N;
    auto const& info = reader.info();
    std::vector<double> const& physical = info.condition_table;  // (M, K), the data set's schema
    if (fit && options.whitening_from.empty()) {
      std::vector<double> fields(train_rows.size() * std::size_t(per_sample));
      std::vector<std::int64_t> cond_of(train_rows.size());
      for (std::size_t i = 0; i < train_rows.size(); ++i) {
        auto const r = train_rows[i];
        std::copy(memory.begin() + slot_of_row[r] * per_sample, memory.begin() + (slot_of_row[r] + 1) * per_sample,
                  fields.begin() + std::ptrdiff_t(i * per_sample));
        cond_of[i] = condition_of_row[r];
      }
      model::WhiteningData data{C, N, &fields, &cond_of, &physical};
      auto wo = options.whitening;
      wo.seed = options.seed;
      whitening = model::fit_whitening(info.schema.conditions, data, wo);
      whitening->channel_names = info.schema.channels;
    }
    if (fit && !options.whitening_from.empty()) whitening = whitening_of(options.whitening_from);
    require(whitening->channels == C && whitening->num_points == N, "training: the whitening is for ",
            whitening->channels, " x ", whitening->num_points, " fields, the data set has ", C, " x ", N);
    require(whitening->schema == info.schema.conditions, "training: the whitening takes the conditions (",
            describe(whitening->schema), "), the data set '", options.data_path, "' has (",
            describe(info.schema.conditions), ")");
    int const r = whitening->components;
    std::vector<double> latent(memory.size() / std::size_t(per_sample) * std::size_t(r));
    std::vector<std::int64_t> loaded;
    for (std::size_t row = 0; row < slot_of_row.size(); ++row)
      if (slot_of_row[row] >= 0) loaded.push_back(std::int64_t(row));
    // μ(u), σ(u) once per condition (a regression over every training condition each).
    std::stable_sort(loaded.begin(), loaded.end(),
                     [&](auto a, auto b) { return condition_of_row[a] < condition_of_row[b]; });
    std::vector<double> mu(static_cast<std::size_t>(per_sample)), sigma(static_cast<std::size_t>(per_sample));
    std::int64_t current = -1;
    for (auto row : loaded) {
      auto const slot = slot_of_row[row];
      if (condition_of_row[row] != current) {
        current = condition_of_row[row];
        whitening->moments(info.condition(current), mu.data(), sigma.data());
      }
      whitening->encode(mu.data(), sigma.data(), memory.data() + slot * per_sample, latent.data() + slot * r);
    }
    memory = std::move(latent);
    C = r;
    N = 1;
    K = whitening->num_conditions();
    architecture.channels = r;
    architecture.num_points = 1;
    architecture.cond_dim = K;
    normalization = model::Normalization{};  // identity: the latent coordinates have unit variance
  }

  /// Normalised x0 and conditions of `rows` (in this order) into slots [0, B).
  void gather(std::vector<std::int64_t> const& rows) {
    std::int64_t const B = static_cast<std::int64_t>(rows.size());
    std::int64_t const per_sample = std::int64_t(C) * N;
    auto put = [&](std::int64_t i, double const* src) {
      if (whitening) {
        for (int c = 0; c < C; ++c) x0(i, c, 0) = src[c];  // latent coordinates, already whitened
      } else {
        for (int c = 0; c < C; ++c) {
          double const m = normalization.field_mean[c], s = normalization.field_std[c];
          for (int k = 0; k < N; ++k) x0(i, c, k) = (src[c * N + k] - m) / s;
        }
      }
      double const* cn = cond_normalised.data() + condition_of_row[rows[i]] * K;
      for (int j = 0; j < K; ++j) cond_in(i, j) = cn[j];
    };
    if (in_memory) {
      for (std::int64_t i = 0; i < B; ++i) put(i, memory.data() + slot_of_row[rows[i]] * per_sample);
      return;
    }
    // Streaming: read the batch's rows in file order, one read per run of
    // consecutive rows, then place each sample in its batch slot.
    std::vector<std::int64_t> by_row(static_cast<std::size_t>(B));
    std::iota(by_row.begin(), by_row.end(), 0);
    std::sort(by_row.begin(), by_row.end(), [&](auto p, auto q) { return rows[p] < rows[q]; });
    std::int64_t k = 0;
    while (k < B) {
      std::int64_t e = k + 1;
      while (e < B && rows[by_row[e]] == rows[by_row[e - 1]] + 1) ++e;
      auto view = Kokkos::subview(read_buffer, std::make_pair(std::int64_t(0), e - k), Kokkos::ALL, Kokkos::ALL);
      reader.read_fields(rows[by_row[k]], view);
      for (std::int64_t j = k; j < e; ++j) put(by_row[j], &view(j - k, 0, 0));
      k = e;
    }
  }

  /// `jitter`: add options.condition_noise to the conditions (training
  /// batches; validation batches see the conditions as they are).
  DsmBatch const& make_batch(HostSpace const& space, std::vector<std::int64_t> const& rows, std::uint64_t first_item,
                             bool jitter) {
    gather(rows);
    auto const B = static_cast<std::int64_t>(rows.size());
    auto const r = std::make_pair(std::int64_t(0), B);
    batch.x = Kokkos::subview(x, r, Kokkos::ALL, Kokkos::ALL);
    batch.y = Kokkos::subview(y, r, Kokkos::ALL, Kokkos::ALL);
    batch.t = Kokkos::subview(t, r);
    batch.a = Kokkos::subview(a, r);
    batch.cond = Kokkos::subview(cond, r, Kokkos::ALL);
    double const condition_noise = jitter ? options.condition_noise : 0.0;
    DsmNoiseKernel kernel{x0, cond_in, batch.x, batch.y, batch.t, batch.a, batch.cond, options.sde, options.seed,
                          first_item, condition_noise};
    Kokkos::parallel_for("psgm::score::dsm_noise", Kokkos::RangePolicy<HostSpace>(space, 0, static_cast<int>(B)),
                         kernel);
    space.fence();  // the backend reads the batch on the host next
    return batch;
  }

  void allocate(HostSpace const& space) {
    auto alloc = [&](char const* label) {
      return Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string(label));
    };
    x0 = decltype(x0)(alloc("psgm::score::training_x0"), max_batch, C, N);
    x = decltype(x)(alloc("psgm::score::training_x"), max_batch, C, N);
    y = decltype(y)(alloc("psgm::score::training_y"), max_batch, C, N);
    if (!in_memory) read_buffer = decltype(read_buffer)(alloc("psgm::score::training_read"), max_batch, C, N);
    cond_in = decltype(cond_in)(alloc("psgm::score::training_cond_in"), max_batch, K);
    cond = decltype(cond)(alloc("psgm::score::training_cond"), max_batch, K);
    t = decltype(t)(alloc("psgm::score::training_t"), max_batch);
    a = decltype(a)(alloc("psgm::score::training_a"), max_batch);
    batch_rows.reserve(static_cast<std::size_t>(max_batch));
  }

  // ---------------------------------------------------------------- files
  model::ModelDescription description(model::ParameterSet const& weights) const {
    model::ModelDescription m;
    m.architecture = architecture;
    m.normalization = normalization;
    m.whitening = whitening;
    m.sde = options.sde;
    m.weights = weights;
    m.training = record;
    m.training.steps = step;
    m.training.epochs = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
    m.training.best_validation_loss = best_loss;
    m.training.best_step = best_step;
    return m;
  }
  io::TrainingSeries series() const {
    io::TrainingSeries s{{"gradient_norm", gradient_norms}};
    if (options.ema_decay > 0) s["validation_loss_raw"] = validation_loss_raw;
    return s;
  }
};

TrainingSession::TrainingSession(HostSpace const& space, TrainerOptions const& options_in,
                                 std::string const& checkpoint, std::string const& backend_name,
                                 std::string const& dtype) {
  ScopedRegion region("psgm::score::TrainingSession");
  options_in.validate();
  require(dtype == "float32" || dtype == "float64", "training: dtype \"", dtype, "\"");
  state_ = std::make_unique<State>(options_in.data_path);
  auto& s = *state_;
  s.options = options_in;
  s.backend = backend_name;
  s.dtype = dtype;
  s.checkpoint_file = checkpoint;
  s.resumed = !checkpoint.empty();
  s.dataset_sha256 = s.reader.content_sha256();
  require(s.reader.info().num_points >= 3, "training: data set '", options_in.data_path, "' has N = ",
          s.reader.info().num_points);

  io::ModelCheckpoint ckpt;
  if (s.resumed) {
    // The stored run is authoritative for what changes the result: the
    // architecture, SDE, normalisation and seed come from the checkpoint.
    auto const stored = io::read_model(checkpoint);
    io::check_model_matches_data(stored, s.reader.num_channels(), s.reader.info().num_points,
                                 "data set '" + options_in.data_path + "'");
    require(stored.training.dataset_sha256 == s.dataset_sha256, "cannot resume from '", checkpoint,
            "': it was trained on data with SHA-256 ", stored.training.dataset_sha256, " but '",
            options_in.data_path, "' has ", s.dataset_sha256, " (the data set changed)");
    require(stored.weights.dtype == dtype, "cannot resume from '", checkpoint, "': it holds ", stored.weights.dtype,
            " weights but the model trains in ", dtype);
    ckpt = io::read_checkpoint(checkpoint, stored.architecture);
    s.options.architecture = stored.architecture;
    s.options.sde = stored.sde;
    s.options.seed = ckpt.seed;
    s.normalization = stored.normalization;
    s.whitening = stored.whitening;
    s.options.whiten = stored.whitening.has_value();
    s.record = stored.training;
    auto const extra = io::read_training_series(checkpoint);
    if (auto it = extra.find("gradient_norm"); it != extra.end()) s.gradient_norms = it->second;
    if (auto it = extra.find("validation_loss_raw"); it != extra.end()) s.validation_loss_raw = it->second;
    // The checkpoint's /weights are the best so far once a validation happened.
    if (ckpt.best_step >= 0) s.best_weights = stored.weights;
  }
  s.architecture = s.options.architecture;
  s.architecture.channels = s.reader.num_channels();
  s.architecture.num_points = s.reader.info().num_points;
  s.C = s.reader.num_channels();
  // The reference normalisation (spec sgm.md §1) is per channel of (c, φ) and
  // takes (l, U0, F_right); any other data set trains whitened models only.
  auto const& schema = s.reader.info().schema;
  require(s.options.whiten || schema.is_porous_electrode(), "training: data set '", options_in.data_path, "' has ",
          schema.num_channels(), " channel(s) and the conditions (", describe(schema.conditions),
          "); the reference model (model.whiten = false, --preset reference) takes the porous electrode's (c, phi) ",
          "at (l, U0, F_right) only: train a whitened model (--preset residual) or the Gaussian emulator ",
          "(--preset gaussian)");

  s.select_and_split();
  if (s.options.whiten) {
    s.load_and_fit(false);
    s.whiten(!s.resumed);
  } else {
    s.load_and_fit(!s.resumed);
    if (!s.resumed) s.fit_conditions();
  }
  s.normalization.validate();
  s.normalise_conditions();

  auto const n_train = static_cast<std::int64_t>(s.train_rows.size());
  s.max_batch = static_cast<int>(std::min<std::int64_t>(s.options.batch_size, n_train));
  s.steps_per_epoch = (n_train + s.max_batch - 1) / s.max_batch;
  s.total_steps = s.options.steps > 0 ? s.options.steps : s.options.epochs * s.steps_per_epoch;
  s.allocate(space);

  if (s.resumed) {
    require(ckpt.steps_per_epoch == s.steps_per_epoch && ckpt.total_steps == s.total_steps, "cannot resume from '",
            checkpoint, "': it planned ", ckpt.total_steps, " steps of ", ckpt.steps_per_epoch,
            " per epoch, the options give ", s.total_steps, " of ", s.steps_per_epoch,
            " (batch_size, epochs, steps or validation_fraction differ from the stored run)");
    require((ckpt.ema_weights.shapes.empty()) == !(s.options.ema_decay > 0), "cannot resume from '", checkpoint,
            "': EMA is ", ckpt.ema_weights.shapes.empty() ? "off" : "on", " in the checkpoint but ",
            s.options.ema_decay > 0 ? "on" : "off", " in the options");
    s.step = ckpt.step;
    s.epoch = ckpt.epoch;
    s.batch_in_epoch = ckpt.batch_in_epoch;
    s.best_step = ckpt.best_step;
    s.best_loss = ckpt.best_validation_loss;
    s.start_parameters = std::move(ckpt.weights);
    s.start_state = OptimizerState{std::move(ckpt.adam_m), std::move(ckpt.adam_v), std::move(ckpt.ema_weights)};
  } else {
    s.start_parameters = initial_parameters(s.architecture, s.options.seed, dtype);
    if (s.whitening) {
      // A zero projection makes F = 0, and with EDM's c_skip = σ_d²/(σ² + σ_d²)
      // (σ_d = 1) the denoiser is then exactly that of N(0, I): the untrained
      // residual model *is* the Gaussian emulator, and training moves away
      // from it only where the data say so.
      for (char const* name : {"proj.weight", "proj.bias"})
        std::fill(s.start_parameters[name].begin(), s.start_parameters[name].end(), 0.0);
    }
    model::ParameterSet zero = model::ParameterSet::zeros(s.architecture);
    zero.dtype = dtype;
    s.start_state.adam_m = zero;
    s.start_state.adam_v = zero;
    if (s.options.ema_decay > 0) s.start_state.ema = s.start_parameters;
    s.record = model::TrainingRecord{};
    s.record.dataset_path = std::filesystem::absolute(s.options.data_path).string();
    s.record.dataset_sha256 = s.dataset_sha256;
    s.record.backend = backend_name;
    s.record.seed = s.options.seed;
    s.record.ema_weights = s.options.ema_decay > 0;
    s.record.config_toml = s.options.config_toml;
  }
  s.stop_at = s.options.stop_after_steps >= 0 ? std::min(s.total_steps, s.options.stop_after_steps) : s.total_steps;
  s.start_step = s.step;
  if (s.resumed) s.checkpoint_step = s.step;
}

TrainingSession::~TrainingSession() = default;

model::FilmCnnConfig const& TrainingSession::architecture() const { return state_->architecture; }
TrainerOptions const& TrainingSession::options() const { return state_->options; }
model::Normalization const& TrainingSession::normalization() const { return state_->normalization; }
std::optional<model::Whitening> const& TrainingSession::whitening() const { return state_->whitening; }
model::TrainingRecord const& TrainingSession::record() const { return state_->record; }
bool TrainingSession::resumed() const { return state_->resumed; }
model::ParameterSet const& TrainingSession::start_parameters() const { return state_->start_parameters; }
OptimizerState const& TrainingSession::start_optimizer_state() const { return state_->start_state; }
std::vector<std::int64_t> const& TrainingSession::train_rows() const { return state_->train_rows; }
std::vector<std::int64_t> const& TrainingSession::validation_rows() const { return state_->validation_rows; }
std::int64_t TrainingSession::step() const { return state_->step; }
std::int64_t TrainingSession::total_steps() const { return state_->total_steps; }
std::int64_t TrainingSession::steps_per_epoch() const { return state_->steps_per_epoch; }
std::int64_t TrainingSession::epoch() const { return state_->epoch; }
bool TrainingSession::done() const { return state_->step >= state_->stop_at; }
int TrainingSession::max_batch() const { return state_->max_batch; }

DsmBatch const& TrainingSession::next_batch(HostSpace const& space) {
  auto& s = *state_;
  if (s.order_epoch != s.epoch) {
    s.order.resize(s.train_rows.size());
    std::iota(s.order.begin(), s.order.end(), std::int64_t(0));
    shuffle(s.order, s.options.seed, static_cast<std::uint64_t>(s.epoch));
    s.order_epoch = s.epoch;
  }
  auto const n = static_cast<std::int64_t>(s.order.size());
  std::int64_t const first = s.batch_in_epoch * s.max_batch;
  std::int64_t const last = std::min(n, first + s.max_batch);
  s.batch_rows.clear();
  for (std::int64_t k = first; k < last; ++k) s.batch_rows.push_back(s.train_rows[s.order[k]]);
  return s.make_batch(space, s.batch_rows, static_cast<std::uint64_t>(s.step) * s.max_batch, true);
}

double TrainingSession::learning_rate() const {
  auto const& s = *state_;
  auto const& o = s.options;
  std::int64_t const k = s.step;  // 0-based index of the step about to be taken
  if (k < o.warmup_steps) return o.learning_rate * double(k + 1) / double(o.warmup_steps);
  std::int64_t const span = std::max<std::int64_t>(1, s.total_steps - o.warmup_steps);
  double const p = std::min(1.0, double(k - o.warmup_steps) / double(span));
  return o.learning_rate_min + 0.5 * (o.learning_rate - o.learning_rate_min) * (1.0 + std::cos(pi * p));
}

double TrainingSession::ema_decay() const {
  double const d = state_->options.ema_decay;
  if (d <= 0) return 0.0;
  // Early on the average would be dominated by the random initialisation:
  // ramp the decay up as (1 + k) / (10 + k), k the step index.
  double const k = static_cast<double>(state_->step);
  return std::min(d, (1.0 + k) / (10.0 + k));
}

double TrainingSession::gradient_scale(double norm) const {
  double const clip = state_->options.gradient_clip;
  if (clip <= 0 || !std::isfinite(norm)) return 1.0;
  return std::min(1.0, clip / (norm + 1e-6));
}

void TrainingSession::finish_step(double loss, double gradient_norm, double learning_rate) {
  auto& s = *state_;
  require<NumericalError>(std::isfinite(loss), "training: the loss became ", loss, " at step ", s.step + 1,
                          " (learning rate ", learning_rate, "); the last checkpoint '",
                          checkpoint_path(s.options.output_path),
                          "' is intact: lower training.learning_rate or enable training.gradient_clip and resume");
  s.record.train_loss.push_back(loss);
  s.record.learning_rate.push_back(learning_rate);
  s.gradient_norms.push_back(gradient_norm);
  s.last_loss = loss;
  s.last_lr = learning_rate;
  s.last_norm = gradient_norm;
  s.validated_now = false;
  ++s.step;
  if (++s.batch_in_epoch == s.steps_per_epoch) {
    s.batch_in_epoch = 0;
    ++s.epoch;
  }
}

bool TrainingSession::validation_due() const {
  auto const& s = *state_;
  if (!s.has_validation()) return false;
  if (s.step == s.total_steps) return true;
  if (s.options.validate_every > 0) return s.step % s.options.validate_every == 0;
  return s.batch_in_epoch == 0;
}

bool TrainingSession::initial_validation_due() const {
  auto const& s = *state_;
  return s.has_validation() && s.step == 0 && s.record.validation_loss.empty();
}

std::int64_t TrainingSession::num_validation_batches() const {
  auto const& s = *state_;
  auto const n = static_cast<std::int64_t>(s.validation_rows.size());
  return (n + s.max_batch - 1) / s.max_batch;
}

DsmBatch const& TrainingSession::validation_batch(HostSpace const& space, std::int64_t index) {
  auto& s = *state_;
  auto const n = static_cast<std::int64_t>(s.validation_rows.size());
  require(index >= 0 && index < num_validation_batches(), "validation_batch: index ", index, " out of range");
  std::int64_t const first = index * s.max_batch, last = std::min(n, first + s.max_batch);
  s.batch_rows.assign(s.validation_rows.begin() + first, s.validation_rows.begin() + last);
  return s.make_batch(space, s.batch_rows, validation_noise_offset + static_cast<std::uint64_t>(first), false);
}

bool TrainingSession::record_validation(double loss, double raw_loss) {
  auto& s = *state_;
  s.record.validation_loss.push_back(loss);
  s.record.validation_step.push_back(s.step);
  if (s.options.ema_decay > 0) s.validation_loss_raw.push_back(raw_loss);
  s.validated_now = true;
  s.last_validation = loss;
  bool const best = std::isfinite(loss) && (s.best_step < 0 || loss < s.best_loss);
  if (best) {
    s.best_loss = loss;
    s.best_step = s.step;
  }
  return best;
}

void TrainingSession::write_best(model::ParameterSet const& weights) {
  auto& s = *state_;
  ScopedRegion region("psgm::score::TrainingSession::write_best");
  s.best_weights = weights;
  if (s.options.write_files) io::write_model(s.options.output_path, s.description(weights), nullptr, s.series());
}

bool TrainingSession::checkpoint_due() const {
  auto const& s = *state_;
  if (s.step >= s.stop_at) return true;
  if (s.options.checkpoint_every > 0) return s.step % s.options.checkpoint_every == 0;
  return s.validated_now;
}

void TrainingSession::request_stop() { state_->stop_at = std::min(state_->stop_at, state_->step); }

bool TrainingSession::checkpoint_pending() const { return state_->checkpoint_step != state_->step; }

void TrainingSession::write_checkpoint(model::ParameterSet const& theta, OptimizerState const& state) {
  auto& s = *state_;
  s.checkpoint_step = s.step;
  ScopedRegion region("psgm::score::TrainingSession::write_checkpoint");
  io::ModelCheckpoint c;
  c.weights = theta;
  c.adam_m = state.adam_m;
  c.adam_v = state.adam_v;
  c.ema_weights = state.ema;
  c.step = s.step;
  c.epoch = s.epoch;
  c.batch_in_epoch = s.batch_in_epoch;
  c.steps_per_epoch = s.steps_per_epoch;
  c.total_steps = s.total_steps;
  c.seed = s.options.seed;
  c.best_step = s.best_step;
  c.best_validation_loss = s.best_loss;
  // The checkpoint is itself a usable model: its /weights are the best so far
  // (or the current evaluated weights before any validation).
  model::ParameterSet const& shown = s.best_step >= 0 ? s.best_weights
                                  : (state.ema.shapes.empty() ? theta : state.ema);
  if (s.options.write_files)
    io::write_model(checkpoint_path(s.options.output_path), s.description(shown), &c, s.series());
}

TrainingSummary TrainingSession::finish(model::ParameterSet const& final_evaluated_weights) {
  auto& s = *state_;
  ScopedRegion region("psgm::score::TrainingSession::finish");
  // Without a validation there is no "best": the model is the final one.
  if (s.best_step < 0) s.best_weights = final_evaluated_weights;
  if (s.options.write_files)
    io::write_model(s.options.output_path, s.description(s.best_weights), nullptr, s.series());
  TrainingSummary r;
  r.steps = s.step;
  r.total_steps = s.total_steps;
  r.finished = s.step >= s.total_steps;
  r.final_loss = s.last_loss;
  r.best_validation_loss = s.best_loss;
  r.best_step = s.best_step;
  r.num_train_samples = static_cast<std::int64_t>(s.train_rows.size());
  r.num_validation_samples = static_cast<std::int64_t>(s.validation_rows.size());
  r.num_train_conditions = s.num_train_conditions;
  r.num_validation_conditions = s.num_validation_conditions;
  r.output_path = s.options.output_path;
  r.checkpoint_path = checkpoint_path(s.options.output_path);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start_time).count();
  return r;
}

TrainingProgress TrainingSession::progress() const {
  auto const& s = *state_;
  TrainingProgress p;
  p.step = s.step;
  p.total_steps = s.total_steps;
  p.epoch = s.steps_per_epoch > 0 ? (s.step - 1) / s.steps_per_epoch : 0;
  p.loss = s.last_loss;
  p.learning_rate = s.last_lr;
  p.gradient_norm = s.last_norm;
  double const secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.start_time).count();
  p.samples_per_second = secs > 0 ? double(s.step - s.start_step) * s.max_batch / secs : 0.0;
  p.validated = s.validated_now;
  p.validation_loss = s.last_validation;
  p.best_validation_loss = s.best_loss;
  p.best_step = s.best_step;
  return p;
}

}  // namespace Impl
}  // namespace score
}  // namespace psgm
