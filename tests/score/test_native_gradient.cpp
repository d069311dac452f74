// The native backend's backward pass and optimiser
// (TrainableModel<Native<ExecSpace>, Scalar>): the loss against the host
// reference, every weight tensor's gradient against central finite
// differences of the reference loss (double), float against double, Adam and
// EMA against their PyTorch formulas, determinism across execution spaces,
// labels and allocations.
#include <psgm/score/NativeTrainableModel.hpp>

#include "../harness/ProfilingRecorder.hpp"
#include "NativeReference.hpp"

#include <psgm_test.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using psgm::score::DsmBatch;
using psgm::model::FilmCnnConfig;
using psgm::score::NativeKernels;
using psgm::model::ParameterSet;

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

double max_abs(ParameterSet const& p) {
  double m = 0;
  for (auto const& v : p.values)
    for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("native gradient equals central finite differences of the reference loss (double)",
                       "[score][native][gradient]") {
  using Model = psgm::score::TrainableModel<psgm::score::Native<TestType>, double>;
  std::uint64_t seed = 100;
  double overall = 0;
  for (auto kernels : psgm_test::native_kernel_paths<TestType>()) {
    for (auto const& c : psgm_test::native_test_configs()) {
      CAPTURE(psgm::score::to_string(kernels), c.width, c.kernel_size, c.num_blocks, c.film_layers, c.num_points);
      auto const theta = psgm_test::native_random_parameters(c, seed++, "float64");
      psgm_test::ReferenceBatch const ref(c, 2, seed++, false);
      auto const batch = make_batch(ref);
      Model model(c, kernels);
      model.reserve(2);
      model.set_parameters(theta);
      double const loss = model.loss_and_gradient(batch);
      double const ref_loss = ref.loss(c, theta);
      CHECK(std::abs(loss - ref_loss) <= 1e-13 * ref_loss);
      auto const grad = model.gradient_set();
      double const scale = max_abs(grad);
      REQUIRE(scale > 0);

      // Up to 8 entries of every tensor (all of the small ones).
      std::mt19937_64 rng(seed);
      double worst = 0;
      std::string worst_name;
      for (std::size_t p = 0; p < theta.shapes.size(); ++p) {
        std::size_t const n = theta.values[p].size();
        std::vector<std::size_t> picks;
        if (n <= 8)
          for (std::size_t i = 0; i < n; ++i) picks.push_back(i);
        else
          for (int i = 0; i < 8; ++i) picks.push_back(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
        for (std::size_t i : picks) {
          double const h = 1e-5;
          ParameterSet plus = theta, minus = theta;
          plus.values[p][i] += h;
          minus.values[p][i] -= h;
          double const fd = (ref.loss(c, plus) - ref.loss(c, minus)) / (2 * h);
          double const err = std::abs(grad.values[p][i] - fd) / scale;
          if (err > worst) {
            worst = err;
            worst_name = theta.shapes[p].name + "[" + std::to_string(i) + "]";
          }
        }
      }
      CAPTURE(worst, worst_name, scale);
      CHECK(worst < 1e-8);
      overall = std::max(overall, worst);
      CHECK(model.gradient_norm() == Approx(std::sqrt([&] {
                                       double s = 0;
                                       for (auto const& v : grad.values)
                                         for (double x : v) s += x * x;
                                       return s;
                                     }()))
                                         .epsilon(1e-12));
    }
  }
  WARN("native gradient vs central differences (h = 1e-5) of the reference loss: largest error " << overall
                                                                                                  << " of max |g|");
}

PSGM_BACKEND_TEST_CASE("native float gradient follows the double gradient", "[score][native][gradient]") {
  auto const c = psgm_test::native_test_configs()[1];
  auto const theta = psgm_test::native_random_parameters(c, 5, "float32");
  psgm_test::ReferenceBatch const ref(c, 4, 6, true);
  auto const batch = make_batch(ref);
  psgm::score::TrainableModel<psgm::score::Native<TestType>, double> md(c);
  psgm::score::TrainableModel<psgm::score::Native<TestType>, float> mf(c);
  md.reserve(4);
  mf.reserve(4);
  md.set_parameters(theta);
  mf.set_parameters(theta);
  double const ld = md.loss_and_gradient(batch), lf = mf.loss_and_gradient(batch);
  CHECK(lf == Approx(ld).epsilon(1e-5));
  auto const gd = md.gradient_set(), gf = mf.gradient_set();
  double err = 0;
  for (std::size_t p = 0; p < gd.values.size(); ++p)
    for (std::size_t i = 0; i < gd.values[p].size(); ++i) err = std::max(err, std::abs(gd.values[p][i] - gf.values[p][i]));
  CAPTURE(err, max_abs(gd));
  CHECK(err < 1e-4 * max_abs(gd));
  CHECK(mf.parameters().dtype == "float32");
}

PSGM_BACKEND_TEST_CASE("native Adam, clipping scale and EMA follow PyTorch's formulas", "[score][native][gradient]") {
  using Model = psgm::score::TrainableModel<psgm::score::Native<TestType>, double>;
  auto const c = psgm_test::native_test_configs()[0];
  auto const theta = psgm_test::native_random_parameters(c, 11, "float64");
  psgm_test::ReferenceBatch const ref(c, 2, 12, false);
  auto const batch = make_batch(ref);
  Model model(c);
  model.reserve(2);
  model.set_parameters(theta);
  psgm::score::OptimizerState state;
  state.adam_m = psgm_test::native_random_parameters(c, 13, "float64");
  state.adam_v = psgm_test::native_random_parameters(c, 14, "float64");
  for (auto& v : state.adam_v.values)
    for (double& x : v) x = x * x;  // second moments are >= 0
  state.ema = psgm_test::native_random_parameters(c, 15, "float64");
  model.set_optimizer_state(state);
  model.loss_and_gradient(batch);
  auto const g = model.gradient_set();
  psgm::score::AdamSettings adam;
  double const lr = 3e-3, scale = 0.25;
  std::int64_t const step = 4;
  model.adam_step(adam, lr, scale, step);
  model.update_ema(0.9);
  auto const got = model.parameters();
  auto const st = model.optimizer_state();
  double const bias1 = 1 - std::pow(adam.beta1, step), bias2_sqrt = std::sqrt(1 - std::pow(adam.beta2, step));
  double err_theta = 0, err_m = 0, err_v = 0, err_ema = 0;
  for (std::size_t p = 0; p < g.values.size(); ++p)
    for (std::size_t i = 0; i < g.values[p].size(); ++i) {
      double const gs = g.values[p][i] * scale;
      double const m = adam.beta1 * state.adam_m.values[p][i] + (1 - adam.beta1) * gs;
      double const v = adam.beta2 * state.adam_v.values[p][i] + (1 - adam.beta2) * gs * gs;
      double const th = theta.values[p][i] - lr / bias1 * m / (std::sqrt(v) / bias2_sqrt + adam.eps);
      double const ema = 0.9 * state.ema.values[p][i] + 0.1 * th;
      err_theta = std::max(err_theta, std::abs(got.values[p][i] - th));
      err_m = std::max(err_m, std::abs(st.adam_m.values[p][i] - m));
      err_v = std::max(err_v, std::abs(st.adam_v.values[p][i] - v));
      err_ema = std::max(err_ema, std::abs(st.ema.values[p][i] - ema));
    }
  CHECK(err_theta < 1e-15);
  CHECK(err_m < 1e-15);
  CHECK(err_v < 1e-15);
  CHECK(err_ema < 1e-15);
  // The validation loss of the EMA weights is the reference loss at those weights.
  CHECK(model.loss(batch, psgm::score::Weights::ema) == Approx(ref.loss(c, st.ema)).epsilon(1e-12));
  CHECK(model.loss(batch, psgm::score::Weights::raw) == Approx(ref.loss(c, got)).epsilon(1e-12));
  CHECK_THROWS_WITH(model.adam_step(adam, lr, 1.0, 5), Catch::Contains("no gradient"));
}

PSGM_BACKEND_TEST_CASE("native training step: labelled kernels and Views, regions, no allocation once reserved",
                       "[score][native][gradient]") {
  using Model = psgm::score::TrainableModel<psgm::score::Native<TestType>, float>;
  auto const c = psgm_test::native_test_configs()[1];
  psgm_test::ReferenceBatch const ref(c, 5, 2, true);
  auto const batch = make_batch(ref);
  for (auto k : psgm_test::native_kernel_paths<TestType>()) {
    psgm_test::ProfilingRecorder rec;
    Model model(c, k);
    model.reserve(5);
    model.set_parameters(psgm_test::native_random_parameters(c, 3, "float32"));
    psgm::score::OptimizerState st;
    st.ema = model.parameters();
    model.set_optimizer_state(st);
    CHECK(rec.unlabelled_allocations().empty());
    rec.allocations.clear();
    rec.regions.clear();
    model.loss_and_gradient(batch);
    model.gradient_norm();
    model.adam_step({}, 1e-3, 1.0, 1);
    model.update_ema(0.99);
    // Only Kokkos' own team scratch may be sized by the first team launch.
    INFO("allocations: " << ::Catch::Detail::stringify(rec.allocations));
    for (auto const& a : rec.allocations) CHECK(a.rfind("psgm::", 0) != 0);
    rec.allocations.clear();
    model.loss_and_gradient(batch);
    model.adam_step({}, 1e-3, 1.0, 2);
    CHECK(rec.allocations.empty());
    CHECK(rec.unlabelled_kernels().empty());
    for (char const* r : {"psgm::score::TrainableModel<Native>::loss_and_gradient",
                          "psgm::score::TrainableModel<Native>::gradient_norm",
                          "psgm::score::TrainableModel<Native>::adam_step",
                          "psgm::score::TrainableModel<Native>::update_ema"}) {
      CAPTURE(r);
      CHECK(rec.has_region(r));
    }
  }
}

#if defined(KOKKOS_ENABLE_SERIAL) && defined(KOKKOS_ENABLE_OPENMP)
TEST_CASE("native gradients are bitwise the same on Serial and on OpenMP threads", "[score][native][gradient]") {
  auto const c = psgm_test::native_test_configs()[0];
  auto const theta = psgm_test::native_random_parameters(c, 21, "float32");
  psgm_test::ReferenceBatch const ref(c, 37, 22, true);  // more than one weight-gradient chunk
  auto const batch = make_batch(ref);
  for (auto k : psgm_test::native_kernel_paths<Kokkos::Serial>()) {
    psgm::score::TrainableModel<psgm::score::Native<Kokkos::Serial>, float> serial(c, k);
    psgm::score::TrainableModel<psgm::score::Native<Kokkos::OpenMP>, float> threads(c, k);
    serial.reserve(37);
    threads.reserve(37);
    serial.set_parameters(theta);
    threads.set_parameters(theta);
    CHECK(serial.loss_and_gradient(batch) == threads.loss_and_gradient(batch));
    CHECK(serial.gradient_set().values == threads.gradient_set().values);
  }
}
#endif
