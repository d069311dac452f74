// The residual score model on whitened fields and the Gaussian emulator as
// model files (docs/training.md, "The residual model"):
//  * both round-trip through psgm model files;
//  * an untrained whitened network (zero projection) samples exactly the
//    Gaussian emulator: its EDM denoiser is then that of N(0, I);
//  * trained on a conditional bimodal family, the residual model beats the
//    emulator on energy distance at a held-out condition.
#include <psgm_test.hpp>

#include <psgm/core/Random.hpp>
#include <psgm/io/Dataset.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/model/GaussianEmulator.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <vector>

namespace {

using HostSpace = Kokkos::DefaultHostExecutionSpace;
using NativeModel = psgm::score::ScoreModel<psgm::score::Native<HostSpace>, float>;
using HostFields = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

/// A conditional family on 2 x N points whose law is bimodal along one
/// direction v with a weight that depends on U0:
///   x = base(u) + 0.5 ζ v + 0.15 ε,   ζ = +1 with probability p(U0) = 0.25 + 1.25 (U0 + 0.2), else −1;
/// φ at point 0 is pinned at 0 (the gauge). No Gaussian can match it.
struct Bimodal {
  int N = 6;
  double p(double U0) const { return 0.25 + 1.25 * (U0 + 0.2); }
  template <class Gen>
  void draw(psgm::pde::Condition const& c, Gen& g, double* x) const {
    double const zeta = g.drand() < p(c.U0) ? 1.0 : -1.0;
    for (int ch = 0; ch < 2; ++ch)
      for (int i = 0; i < N; ++i) {
        double const v = std::cos(0.5 * i + ch), base = 2.0 * ch + 0.02 * c.F_right * i + 0.3 * std::log(c.l / 1e-5);
        x[ch * N + i] = base + 0.5 * zeta * v + 0.15 * g.normal();
      }
    x[N] = 0.0;  // φ_0 = 0
  }
};

void write_family(std::string const& path, Bimodal const& fam, int M, int R, std::uint64_t seed) {
  std::vector<double> x;
  for (int i = 0; i < fam.N; ++i) x.push_back((i + 0.5) * 1e-4 / fam.N);
  std::vector<psgm::pde::Condition> conds;
  auto g = psgm::random::make_generator<HostSpace>(seed, 98, 0);
  for (int m = 0; m < M; ++m)
    conds.push_back({std::exp(std::log(2e-6) + g.drand() * std::log(10.0)), -0.2 + 0.4 * g.drand(), 50.0 * g.drand()});
  psgm::io::AttributeMap attrs;
  attrs.set("seed", std::int64_t(seed));
  attrs.set("N", fam.N);
  psgm::io::DatasetWriterOptions options;
  options.overwrite = true;
  options.store_porosity = false;
  psgm::io::DatasetWriter w(path, x, conds, attrs, options);
  std::int64_t const n = std::int64_t(M) * R;
  HostFields f("psgm::test::fields", n, 2, fam.N);
  Kokkos::View<std::int64_t*, Kokkos::HostSpace> idx("psgm::test::index", n);
  Kokkos::View<psgm::SolveStatus*, Kokkos::HostSpace> st("psgm::test::status", n);
  for (std::int64_t s = 0; s < n; ++s) {
    int const m = static_cast<int>(s / R);
    fam.draw(conds[std::size_t(m)], g, &f(s, 0, 0));
    idx(s) = m;
    st(s) = psgm::SolveStatus::ok;
  }
  w.append(f, idx, st);
  w.commit();
}

psgm::score::TrainerOptions residual_options(std::string const& data, std::string const& out) {
  psgm::score::TrainerOptions o;
  o.data_path = data;
  o.output_path = out;
  o.whiten = true;
  o.whitening.components = 0;  // all 11 free coordinates
  o.architecture.width = 64;
  o.architecture.num_blocks = 2;
  o.architecture.kernel_size = 1;
  o.architecture.num_frequencies = 6;
  o.architecture.film_hidden = 64;
  o.architecture.film_layers = 2;
  o.sde.type = psgm::model::SdeType::edm;
  o.sde.edm.noise_scale = 1.0 / 16;
  o.batch_size = 256;
  o.steps = 2500;
  o.learning_rate = 2e-3;
  o.learning_rate_min = 1e-5;
  o.warmup_steps = 100;
  o.gradient_clip = 1.0;
  o.ema_decay = 0.995;
  o.validate_every = 500;
  o.validation_fraction = 0.1;
  o.seed = 3;
  return o;
}

/// Energy distance between two ensembles (n, P) (Euclidean, V-statistic).
double energy_distance(std::vector<double> const& a, std::vector<double> const& b, int P) {
  auto mean_dist = [P](std::vector<double> const& x, std::vector<double> const& y) {
    std::size_t const nx = x.size() / P, ny = y.size() / P;
    double s = 0;
    for (std::size_t i = 0; i < nx; ++i)
      for (std::size_t j = 0; j < ny; ++j) {
        double d = 0;
        for (int p = 0; p < P; ++p) d += (x[i * P + p] - y[j * P + p]) * (x[i * P + p] - y[j * P + p]);
        s += std::sqrt(d);
      }
    return s / double(nx * ny);
  };
  return 2 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b);
}

template <class Draw>
std::vector<double> draw_at(psgm::pde::Condition const& c, int n, int P, Draw const& draw) {
  HostFields out("psgm::test::out", n, 2, P / 2);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", n, 3);
  for (int b = 0; b < n; ++b) {
    cond(b, 0) = c.l;
    cond(b, 1) = c.U0;
    cond(b, 2) = c.F_right;
  }
  draw(cond, out);
  return std::vector<double>(out.data(), out.data() + out.size());
}

}  // namespace

TEST_CASE("model_files/whitened models and the emulator round-trip and an untrained one is the emulator",
          "[model]") {
  auto const dir = psgm_test::scratch_dir("model_files_round_trip");
  Bimodal const fam;
  std::string const data = (dir / "data.h5").string();
  write_family(data, fam, 30, 10, 1);
  auto options = residual_options(data, (dir / "emulator.h5").string());
  auto const emulator = psgm::score::fit_gaussian_emulator(HostSpace(), options);
  auto const read_back = psgm::io::read_model((dir / "emulator.h5").string());
  REQUIRE(read_back.kind == psgm::model::ModelKind::gaussian_emulator);
  REQUIRE(read_back.whitening);
  auto const& w0 = *emulator.whitening;
  auto const& w1 = *read_back.whitening;
  CHECK(w1.free_points == w0.free_points);
  CHECK(w1.num_free() == 2 * fam.N - 1);  // φ_0 pinned
  CHECK(w1.basis == w0.basis);
  CHECK(w1.eigenvalues == w0.eigenvalues);
  CHECK(w1.schema == w0.schema);
  CHECK(w1.num_training_conditions == 30);  // every condition: the emulator has no network to validate
  // The spread regression has one part per channel, each with its own (ℓ, λ).
  REQUIRE(w1.log_std.parts.size() == 2);
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(w1.log_std.parts[k].length_scales == w0.log_std.parts[k].length_scales);
    CHECK(w1.log_std.parts[k].ridge == w0.log_std.parts[k].ridge);
    CHECK(w1.log_std.parts[k].weights == w0.log_std.parts[k].weights);
  }
  double const u[3] = {1e-5, 0.05, 20.0};
  std::vector<double> mu0(12), s0(12), mu1(12), s1(12);
  w0.moments(u, mu0.data(), s0.data());
  w1.moments(u, mu1.data(), s1.data());
  CHECK(mu0 == mu1);
  CHECK(s0 == s1);

  // A whitened network with every weight zero: F = 0, D(x; σ) = x / (1 + σ²).
  psgm::model::ModelDescription m;
  m.whitening = w0;
  m.architecture = options.architecture;
  m.architecture.channels = w0.components;
  m.architecture.num_points = 1;
  m.architecture.cond_dim = 3;
  m.sde = options.sde;
  m.weights = psgm::model::ParameterSet::zeros(m.architecture);
  m.weights.dtype = "float32";
  psgm::io::write_model((dir / "zero.h5").string(), m);
  NativeModel model(HostSpace(), psgm::io::read_model((dir / "zero.h5").string()));
  // An accurate ODE solve, so that what remains is the map below.
  auto sampler_config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::ode_dopri5);
  sampler_config.rtol = sampler_config.atol = 1e-6;
  int const n = 64, P = 2 * fam.N;
  psgm::pde::Condition const c{1e-5, 0.05, 20.0};
  psgm::sde::Sampler<NativeModel> sampler(HostSpace(), model, sampler_config, n);
  auto const from_model = draw_at(c, n, P, [&](auto cond, HostFields out) {
    NativeModel::field_view f("f", n, 2, fam.N);
    sampler.sample(HostSpace(), cond, 7, 0, f);
    Kokkos::deep_copy(out, f);
  });
  psgm::model::GaussianEmulator<HostSpace> gauss(w0);
  auto const from_emulator = draw_at(c, n, P, [&](auto cond, HostFields out) { gauss.sample(HostSpace(), cond, 7, 0, out); });
  // The probability-flow ODE of N(0, I) maps the prior draw σ_max ε to
  // ε σ_max / sqrt(1 + σ_max²) (exactly the emulator's ε up to 8e-5), so
  // what differs is the ODE solver's error (rtol 1e-6, float32 network).
  double worst = 0;
  for (int b = 0; b < n; ++b)
    for (int p = 0; p < P; ++p) {
      double const sigma = s0[std::size_t(p)];
      double const diff = std::abs(from_model[std::size_t(b * P + p)] - from_emulator[std::size_t(b * P + p)]);
      if (sigma == 0)
        CHECK(from_model[std::size_t(b * P + p)] == from_emulator[std::size_t(b * P + p)]);
      else
        worst = std::max(worst, diff / sigma);
    }
  CHECK(worst < 2e-3);
}

TEST_CASE("model_files/a score model reuses the emulator's whitening (whitening_from) of its own data only",
          "[model]") {
  auto const dir = psgm_test::scratch_dir("model_files_whitening_from");
  Bimodal const fam;
  std::string const data = (dir / "data.h5").string(), other = (dir / "other.h5").string();
  write_family(data, fam, 30, 10, 1);
  write_family(other, fam, 30, 10, 2);
  auto options = residual_options(data, (dir / "emulator.h5").string());
  auto const emulator = psgm::score::fit_gaussian_emulator(HostSpace(), options);
  auto const& we = *emulator.whitening;

  using Trainable = psgm::score::TrainableModel<psgm::score::Native<HostSpace>, float>;
  options.output_path = (dir / "model.h5").string();
  options.whitening_from = (dir / "emulator.h5").string();
  options.whitening.components = 4;
  options.steps = 2;
  options.validate_every = 0;
  psgm::score::Trainer<Trainable> trainer(HostSpace(), options);
  auto const& w = *trainer.session().whitening();
  CHECK(w.components == 4);
  CHECK(trainer.session().architecture().channels == 4);
  CHECK(w.free_points == we.free_points);
  CHECK(w.basis == we.basis);
  REQUIRE(w.mean.parts.size() == we.mean.parts.size());
  for (std::size_t k = 0; k < w.mean.parts.size(); ++k) CHECK(w.mean.parts[k].weights == we.mean.parts[k].weights);
  CHECK(w.num_training_conditions == 30);  // the emulator's fit, not re-fitted on the 27 training conditions
  REQUIRE(trainer.run(HostSpace()).finished);
  CHECK(psgm::io::read_model(options.output_path).whitening->basis == we.basis);

  // Another data set: refused, naming both hashes' owners.
  options.data_path = other;
  REQUIRE_THROWS_WITH(psgm::score::Trainer<Trainable>(HostSpace(), options),
                      Catch::Contains("whitening_from") && Catch::Contains("SHA-256") && Catch::Contains(other));
}

TEST_CASE("model_files/the residual model beats the Gaussian emulator on a bimodal family", "[model][slow]") {
  auto const dir = psgm_test::scratch_dir("model_files_bimodal");
  Bimodal const fam;
  std::string const data = (dir / "data.h5").string();
  write_family(data, fam, 120, 25, 2);
  auto options = residual_options(data, (dir / "model.h5").string());
  using Trainable = psgm::score::TrainableModel<psgm::score::Native<HostSpace>, float>;
  psgm::score::Trainer<Trainable> trainer(HostSpace(), options);
  auto const summary = trainer.run(HostSpace());
  REQUIRE(summary.finished);
  auto emulator_options = options;
  emulator_options.output_path = (dir / "emulator.h5").string();
  auto const emulator = psgm::score::fit_gaussian_emulator(HostSpace(), emulator_options);

  NativeModel model(HostSpace(), psgm::io::read_model(options.output_path));
  auto sampler_config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::edm_heun);
  int const n = 500, P = 2 * fam.N;
  psgm::sde::Sampler<NativeModel> sampler(HostSpace(), model, sampler_config, n);
  psgm::model::GaussianEmulator<HostSpace> gauss(*emulator.whitening);
  // Held-out conditions (never in the training design), both mode weights.
  for (psgm::pde::Condition const c : {psgm::pde::Condition{5e-6, -0.15, 30.0}, psgm::pde::Condition{1e-5, 0.12, 10.0}}) {
    auto const from_model = draw_at(c, n, P, [&](auto cond, HostFields out) {
      NativeModel::field_view f("f", n, 2, fam.N);
      sampler.sample(HostSpace(), cond, 9, 0, f);
      Kokkos::deep_copy(out, f);
    });
    auto const from_emulator =
        draw_at(c, n, P, [&](auto cond, HostFields out) { gauss.sample(HostSpace(), cond, 9, 0, out); });
    auto g = psgm::random::make_generator<HostSpace>(77, 98, std::uint64_t(c.U0 * 1000 + 500));
    std::vector<double> truth(std::size_t(n * P)), truth2(std::size_t(n * P));
    for (int b = 0; b < n; ++b) fam.draw(c, g, truth.data() + b * P);
    for (int b = 0; b < n; ++b) fam.draw(c, g, truth2.data() + b * P);
    double const e_model = energy_distance(from_model, truth, P);
    double const e_emulator = energy_distance(from_emulator, truth, P);
    double const e_floor = energy_distance(truth2, truth, P);
    INFO("U0 = " << c.U0 << ": energy distance model " << e_model << ", emulator " << e_emulator << ", floor "
                 << e_floor);
    CHECK(e_model < 0.5 * e_emulator);
    CHECK(e_model < 4 * e_floor + 0.01);
    // The mode weight p(U0): the share of samples on the +v side.
    auto plus_share = [&](std::vector<double> const& x) {
      int count = 0;
      for (int b = 0; b < n; ++b) {
        double proj = 0, norm = 0;
        for (int ch = 0; ch < 2; ++ch)
          for (int i = 0; i < fam.N; ++i) {
            if (ch == 1 && i == 0) continue;
            double const v = std::cos(0.5 * i + ch);
            double const base = 2.0 * ch + 0.02 * c.F_right * i + 0.3 * std::log(c.l / 1e-5);
            proj += v * (x[std::size_t(b * P + ch * fam.N + i)] - base);
            norm += v * v;
          }
        count += proj / norm > 0;
      }
      return double(count) / n;
    };
    CHECK(plus_share(from_model) == Approx(fam.p(c.U0)).margin(0.08));
  }
}
