// The native backend against the LibTorch backend on the same weights and
// inputs: network outputs (1e-12 relative in double, 1e-5 in float), EDM
// scores, DSM losses and gradients of every weight (1e-8 relative in double),
// a short training run on the same data and seed, and models trained by one
// backend evaluated by the other through the model file.
#include "NativeReference.hpp"
#include "TrainingTestData.hpp"

#include <psgm/io/ModelFile.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>
#include <psgm/torch/TorchScoreModel.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <numeric>
#include <string>
#include <vector>

namespace {

using psgm::score::DsmBatch;
using psgm::model::FilmCnnConfig;
using psgm::score::LibTorch;
using psgm::model::ModelDescription;
using psgm::score::NativeKernels;
using psgm::model::ParameterSet;
using Host = Kokkos::DefaultHostExecutionSpace;

template <class S>
using Fields = Kokkos::View<S***, Kokkos::LayoutRight, Kokkos::HostSpace>;

/// Inputs in host memory (every test space here is a host space), rounded to S.
template <class S>
struct HostInputs {
  Fields<S> x, out;
  Kokkos::View<S*, Kokkos::HostSpace> t;
  Kokkos::View<S**, Kokkos::LayoutRight, Kokkos::HostSpace> cond;
  explicit HostInputs(psgm_test::ReferenceBatch const& r)
      : x("psgm::test::x", r.B, r.C, r.N),
        out("psgm::test::out", r.B, r.C, r.N),
        t("psgm::test::t", r.B),
        cond("psgm::test::cond", r.B, r.cond_dim) {
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = S(r.x[i]);
    for (int b = 0; b < r.B; ++b) t(b) = S(r.t[b]);
    for (std::size_t i = 0; i < cond.size(); ++i) cond.data()[i] = S(r.cond[i]);
  }
  std::vector<double> result() const { return std::vector<double>(out.data(), out.data() + out.size()); }
};

DsmBatch make_batch(psgm_test::ReferenceBatch const& r) {
  DsmBatch b;
  b.x = DsmBatch::fields_view("psgm::test::x", r.B, r.C, r.N);
  b.y = DsmBatch::fields_view("psgm::test::y", r.B, r.C, r.N);
  b.t = DsmBatch::scalars_view("psgm::test::t", r.B);
  b.a = DsmBatch::scalars_view("psgm::test::a", r.B);
  b.cond = DsmBatch::cond_view("psgm::test::cond", r.B, r.cond_dim);
  std::copy(r.x.begin(), r.x.end(), b.x.data());
  std::copy(r.y.begin(), r.y.end(), b.y.data());
  std::copy(r.t.begin(), r.t.end(), b.t.data());
  std::copy(r.a.begin(), r.a.end(), b.a.data());
  std::copy(r.cond.begin(), r.cond.end(), b.cond.data());
  return b;
}

std::vector<FilmCnnConfig> configs() {
  auto cs = psgm_test::native_test_configs();
  cs.push_back(FilmCnnConfig{});  // the reference
  return cs;
}

/// The gradient a TrainableModel computed, read through its Adam state: one
/// Adam step with β₁ = 0 and learning rate 0 from zero moments leaves m = ∇θ L
/// exactly and θ unchanged (the LibTorch model has no other window on it).
template <class Model>
ParameterSet gradient_of(Model& m, FilmCnnConfig const& c) {
  auto const zero = ParameterSet::zeros(c);
  m.set_optimizer_state({zero, zero, {}});
  psgm::score::AdamSettings adam;
  adam.beta1 = 0;
  m.adam_step(adam, 0.0, 1.0, 1);
  return m.optimizer_state().adam_m;
}

double relative_max_error(ParameterSet const& a, ParameterSet const& b) {
  double num = 0, den = 0;
  for (std::size_t p = 0; p < a.values.size(); ++p)
    for (std::size_t i = 0; i < a.values[p].size(); ++i) {
      num = std::max(num, std::abs(a.values[p][i] - b.values[p][i]));
      den = std::max(den, std::abs(b.values[p][i]));
    }
  return num / den;
}

template <class Space, class S>
void compare_networks(double tolerance) {
  std::string const dtype = std::is_same_v<S, float> ? "float32" : "float64";
  std::uint64_t seed = 300;
  double worst = 0;
  for (auto const& c : configs()) {
    ModelDescription d;
    d.architecture = c;
    d.weights = psgm_test::native_random_parameters(c, seed++, dtype);
    psgm::score::ScoreModel<LibTorch, S> torch(d);
    for (auto k : psgm_test::native_kernel_paths<Space>()) {
      psgm::score::ScoreModel<psgm::score::Native<Space>, S> native(Space(), d, k);
      int const B = c.width == 64 ? 3 : 6;
      psgm_test::ReferenceBatch const r(c, B, seed++, std::is_same_v<S, float>);
      HostInputs<S> a(r), b(r);
      native.network(Space(), a.x, a.t, a.cond, a.out);
      Space().fence();
      torch.network(Host(), b.x, b.t, b.cond, b.out);
      double const err = psgm_test::relative_max_error(a.result(), b.result());
      CAPTURE(c.width, c.kernel_size, c.num_blocks, psgm::score::to_string(k), err);
      CHECK(err < tolerance);
      worst = std::max(worst, err);
      // EDM: t is σ, preconditioning around the network.
      auto e = d;
      e.sde.type = psgm::model::SdeType::edm;
      psgm::score::ScoreModel<psgm::score::Native<Space>, S> native_edm(Space(), e, k);
      psgm::score::ScoreModel<LibTorch, S> torch_edm(e);
      for (int i = 0; i < B; ++i) a.t(i) = b.t(i) = S(0.01 + 3.0 * i);  // σ from 0.01 to 15
      native_edm.score(Space(), a.x, a.t, a.cond, a.out);
      Space().fence();
      torch_edm.score(Host(), b.x, b.t, b.cond, b.out);
      // score = (D − x)/σ² amplifies the round-off of F by c_out/σ² ~ 1/σ = 100 at
      // σ = 0.01 against a score of order 1/σ: allow 3x the network's tolerance.
      double const err_edm = psgm_test::relative_max_error(a.result(), b.result());
      CAPTURE(err_edm);
      CHECK(err_edm < 3 * tolerance);
      worst = std::max(worst, err_edm);
    }
  }
  WARN("native vs LibTorch forward (" << dtype << "): largest relative difference " << worst);
}

}  // namespace

PSGM_BACKEND_TEST_CASE("native and LibTorch networks agree to 1e-12 in double", "[score][native][torch]") {
  compare_networks<TestType, double>(1e-12);
}

PSGM_BACKEND_TEST_CASE("native and LibTorch networks agree to 1e-5 in float", "[score][native][torch]") {
  compare_networks<TestType, float>(1e-5);
}

PSGM_BACKEND_TEST_CASE("native and LibTorch DSM losses and gradients agree to 1e-8 in double",
                       "[score][native][torch]") {
  std::uint64_t seed = 500;
  double worst = 0;
  for (auto const& c : configs()) {
    auto const theta = psgm_test::native_random_parameters(c, seed++, "float64");
    psgm_test::ReferenceBatch const r(c, c.width == 64 ? 2 : 5, seed++, false);
    auto const batch = make_batch(r);
    psgm::score::TrainableModel<LibTorch, double> torch(c);
    torch.reserve(r.B);
    torch.set_parameters(theta);
    double const lt = torch.loss_and_gradient(batch);
    auto const gt = gradient_of(torch, c);
    for (auto k : psgm_test::native_kernel_paths<TestType>()) {
      psgm::score::TrainableModel<psgm::score::Native<TestType>, double> native(TestType(), c, k);
      native.reserve(r.B);
      native.set_parameters(theta);
      double const ln = native.loss_and_gradient(batch);
      auto const direct = native.gradient_set();
      auto const gn = gradient_of(native, c);
      CHECK(gn.values == direct.values);  // the Adam window shows the gradient exactly
      double const err = relative_max_error(gn, gt);
      CAPTURE(c.width, c.kernel_size, c.num_blocks, psgm::score::to_string(k), ln, lt, err);
      CHECK(std::abs(ln - lt) <= 1e-12 * lt);
      CHECK(err < 1e-8);
      worst = std::max(worst, err);
    }
  }
  WARN("native vs LibTorch gradients (double): largest relative difference " << worst);
}

TEST_CASE("native and LibTorch training on the same data and seed lower the loss alike", "[score][native][torch]") {
  auto const dir = psgm_test::scratch_dir("native_vs_torch_training");
  psgm_test::SyntheticData data;
  data.bad_every = 13;
  std::string const data_path = (dir / "data.h5").string();
  data.write(data_path);
  psgm::score::TrainerOptions o;
  o.data_path = data_path;
  o.architecture = psgm_test::tiny_architecture();
  o.batch_size = 24;
  o.epochs = 0;
  o.steps = 80;
  o.validation_fraction = 0.25;
  o.validate_every = 20;
  o.learning_rate = 3e-3;
  o.learning_rate_min = 1e-4;
  o.warmup_steps = 3;
  o.gradient_clip = 1.0;
  o.ema_decay = 0.9;
  o.seed = 17;
  o.config_toml = "[test]\n";
  auto on = o, ot = o;
  on.output_path = (dir / "native.h5").string();
  ot.output_path = (dir / "torch.h5").string();
  using NativeModel = psgm::score::TrainableModel<psgm::score::Native<Host>, float>;
  using TorchModel = psgm::score::TrainableModel<LibTorch, float>;
  auto const sn = psgm::score::Trainer<NativeModel>(Host(), on).run(Host());
  auto const st = psgm::score::Trainer<TorchModel>(Host(), ot).run(Host());
  REQUIRE(sn.finished);
  REQUIRE(st.finished);
  auto const mn = psgm::io::read_model(on.output_path), mt = psgm::io::read_model(ot.output_path);
  CHECK(mn.training.backend == "native");
  CHECK(mt.training.backend == "libtorch");
  auto const& ln = mn.training.train_loss;
  auto const& lt = mt.training.train_loss;
  REQUIRE(ln.size() == 80);
  REQUIRE(lt.size() == 80);
  // The same initial weights and the same first batch: the same first loss.
  CHECK(ln[0] == Approx(lt[0]).epsilon(1e-5));
  auto tail_mean = [](std::vector<double> const& v) { return std::accumulate(v.end() - 20, v.end(), 0.0) / 20; };
  auto head_mean = [](std::vector<double> const& v) { return std::accumulate(v.begin(), v.begin() + 5, 0.0) / 5; };
  double const rn = tail_mean(ln) / head_mean(ln), rt = tail_mean(lt) / head_mean(lt);
  auto const& vn = mn.training.validation_loss;
  auto const& vt = mt.training.validation_loss;
  WARN("training loss, mean of the last 20 / first 5 steps: native " << rn << ", LibTorch " << rt
                                                                     << "; final validation loss: native " << vn.back()
                                                                     << ", LibTorch " << vt.back());
  CHECK(rn < 0.7);
  CHECK(rt < 0.7);
  // Float round-off makes the trajectories drift apart; statistically they must not.
  CHECK(tail_mean(ln) == Approx(tail_mean(lt)).epsilon(0.15));
  CHECK(vn.back() == Approx(vt.back()).epsilon(0.15));
}

TEST_CASE("a model trained by one backend is evaluated alike by the other", "[score][native][torch]") {
  auto const dir = psgm_test::scratch_dir("native_vs_torch_cross");
  FilmCnnConfig const c = psgm_test::tiny_architecture();
  auto desc = psgm_test::make_description(c, psgm_test::native_random_parameters(c, 77, "float32"));
  desc.weights.dtype = "float32";
  std::string const path = (dir / "model.h5").string();
  psgm::io::write_model(path, desc);
  auto const native = psgm::score::ScoreModel<psgm::score::Native<Host>, float>::load(path);
  auto const torch = psgm::score::ScoreModel<LibTorch, float>::load(path);
  psgm_test::ReferenceBatch const r(c, 4, 78, true);
  HostInputs<float> a(r), b(r);
  native.score(Host(), a.x, a.t, a.cond, a.out);
  Host().fence();
  torch.score(Host(), b.x, b.t, b.cond, b.out);
  CHECK(psgm_test::relative_max_error(a.result(), b.result()) < 1e-5);
  // and the native model writes back what it read
  std::string const back = (dir / "back.h5").string();
  psgm::io::write_model(back, native.to_description());
  auto const reread = psgm::io::read_model(back);
  CHECK(reread.weights.values == desc.weights.values);
  CHECK(reread.weights.dtype == "float32");
}

TEST_CASE("the samplers, templated on the backend, draw the same fields with either model",
          "[score][native][torch][sampler]") {
  // The reference sampler (stochastic Heun) on the same weights, seed and
  // conditions: the same noise, so the same fields up to the backends' round-off.
  FilmCnnConfig const c = psgm_test::tiny_architecture();
  auto const desc = psgm_test::make_description(c, psgm_test::native_random_parameters(c, 91, "float64"));
  psgm::score::ScoreModel<psgm::score::Native<Host>, double> native(Host(), desc);
  psgm::score::ScoreModel<LibTorch, double> torch(desc);
  auto config = psgm::sde::SamplerConfig::defaults(psgm::sde::SamplerKind::stochastic_heun);
  config.steps = 25;
  int const B = 3;
  psgm::sde::Sampler<decltype(native)> sn(Host(), native, config, B);
  psgm::sde::Sampler<decltype(torch)> st(Host(), torch, config, B);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::conditions", B, 3);
  for (int b = 0; b < B; ++b) {
    cond(b, 0) = 4e-6 * (1 + b);
    cond(b, 1) = 0.1 * b - 0.1;
    cond(b, 2) = 20.0 * b;
  }
  Fields<double> fn("psgm::test::native_fields", B, c.channels, c.num_points),
      ft("psgm::test::torch_fields", B, c.channels, c.num_points);
  auto const rn = sn.sample(Host(), cond, 5, 0, fn);
  auto const rt = st.sample(Host(), cond, 5, 0, ft);
  CHECK(rn.nfe == 50);
  CHECK(rt.nfe == rn.nfe);
  CHECK(rn.num_failed == 0);
  double const err = psgm_test::relative_max_error(std::vector<double>(fn.data(), fn.data() + fn.size()),
                                                   std::vector<double>(ft.data(), ft.data() + ft.size()));
  WARN("stochastic Heun, 25 steps, native vs LibTorch fields (double): relative difference " << err);
  CHECK(err < 1e-10);
}
