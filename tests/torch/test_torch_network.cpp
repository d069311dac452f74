// ScoreModel<LibTorch>: the network against the Python definition
// (python/psgm/network.py, weights through the converter), the score for each
// SDE, input checks, the thread count, the parameter count.
//
// LibTorch runs on DefaultHostExecutionSpace only, so these tests run once,
// not per Kokkos backend.
#include "../score/TrainingTestData.hpp"
#include "TorchTestUtils.hpp"

#include <psgm/io/ModelFile.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/torch/TorchScoreModel.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

#include <psgm_test.hpp>

#include <ATen/Parallel.h>

#include <cmath>

using psgm::score::LibTorch;
using Space = Kokkos::DefaultHostExecutionSpace;

namespace {

template <class Scalar>
struct Inputs {
  using Model = psgm::score::ScoreModel<LibTorch, Scalar>;
  typename Model::field_view x, out;
  typename Model::time_view t;
  typename Model::cond_view cond;
  Inputs(int B, psgm::model::FilmCnnConfig const& a, std::uint64_t seed)
      : x("psgm::test::x", B, a.channels, a.num_points),
        out("psgm::test::out", B, a.channels, a.num_points),
        t("psgm::test::t", B),
        cond("psgm::test::cond", B, a.cond_dim) {
    psgm_test::fill_normal(x.data(), x.size(), seed);
    psgm_test::fill_uniform(cond.data(), cond.size(), seed + 1, 0.0, 1.0);
    // diffusion times over the whole range, both ends included
    for (int b = 0; b < B; ++b) t(b) = Scalar(b == 0 ? 1e-4 : (b == B - 1 ? 1.0 : 1e-4 + (1 - 1e-4) * b / (B - 1.0)));
  }
};

}  // namespace

#ifdef PSGM_TEST_PYTHON
template <class Scalar>
void compare_with_python(std::string const& dtype, double tolerance) {
  auto const dir = psgm_test::scratch_dir("torch_vs_python_" + dtype);
  psgm::model::FilmCnnConfig const a;  // the reference architecture, N = 100
  auto const desc = psgm_test::make_description(a, psgm_test::random_parameters(a, 21, dtype, 0.5));
  std::string const path = (dir / "model.h5").string();
  psgm::io::write_model(path, desc);
  auto model = psgm::score::ScoreModel<LibTorch, Scalar>::load(path);
  int const B = 6;
  Inputs<Scalar> in(B, a, 4);
  model.network(Space(), in.x, in.t, in.cond, in.out);

  std::string const prefix = (dir / "io").string();
  psgm_test::write_raw(prefix + ".x", in.x.data(), in.x.size());
  psgm_test::write_raw(prefix + ".t", in.t.data(), in.t.size());
  psgm_test::write_raw(prefix + ".cond", in.cond.data(), in.cond.size());
  psgm_test::run_python_reference("forward '" + path + "' '" + prefix + "' " + std::to_string(B));
  auto const ref = psgm_test::read_raw<Scalar>(prefix + ".out", in.out.size());
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(double(in.out.data()[i]) - double(ref[i])));
    max_ref = std::max(max_ref, std::abs(double(ref[i])));
  }
  // The outputs are O(1): a silent architecture mismatch would differ at O(1).
  REQUIRE(max_ref > 0.1);
  WARN(dtype << ": max |psgm - python| = " << max_diff << " (max |output| = " << max_ref << ")");
  REQUIRE(max_diff <= tolerance * max_ref);
}

TEST_CASE("LibTorch network equals the Python definition to float32 round-off", "[torch][python]") {
  compare_with_python<float>("float32", 1e-5);
}

TEST_CASE("LibTorch network equals the Python definition in float64", "[torch][python]") {
  compare_with_python<double>("float64", 1e-12);
}
#endif

TEST_CASE("LibTorch score: VP and VE return the network, EDM its preconditioned form", "[torch]") {
  auto const a = psgm_test::tiny_architecture(16);
  auto desc = psgm_test::make_description(a, psgm_test::random_parameters(a, 5, "float64", 0.5));
  int const B = 5;
  Inputs<double> in(B, a, 9);
  for (auto type : {psgm::model::SdeType::vp, psgm::model::SdeType::ve}) {
    desc.sde.type = type;
    psgm::score::ScoreModel<LibTorch, double> model(desc);
    Inputs<double> s(B, a, 9);
    model.network(Space(), in.x, in.t, in.cond, in.out);
    model.score(Space(), s.x, s.t, s.cond, s.out);
    for (std::size_t i = 0; i < in.out.size(); ++i) REQUIRE(s.out.data()[i] == in.out.data()[i]);
  }
  desc.sde.type = psgm::model::SdeType::edm;
  psgm::score::ScoreModel<LibTorch, double> model(desc);
  auto const& e = desc.sde.edm;
  double const sigmas[B] = {0.002, 0.1, 1.0, 7.0, 80.0};
  for (int b = 0; b < B; ++b) in.t(b) = sigmas[b];
  model.score(Space(), in.x, in.t, in.cond, in.out);
  // reference: the network on c_in x at c_noise(σ), combined by hand
  Inputs<double> pre(B, a, 9);
  for (int b = 0; b < B; ++b) {
    pre.t(b) = e.c_noise(sigmas[b]);
    for (int c = 0; c < a.channels; ++c)
      for (int n = 0; n < a.num_points; ++n) pre.x(b, c, n) = e.c_in(sigmas[b]) * in.x(b, c, n);
  }
  model.network(Space(), pre.x, pre.t, pre.cond, pre.out);
  for (int b = 0; b < B; ++b) {
    double const s = sigmas[b];
    for (int c = 0; c < a.channels; ++c)
      for (int n = 0; n < a.num_points; ++n) {
        double const D = e.c_skip(s) * in.x(b, c, n) + e.c_out(s) * pre.out(b, c, n);
        REQUIRE(in.out(b, c, n) == Approx((D - in.x(b, c, n)) / (s * s)).epsilon(1e-12).margin(1e-12));
      }
  }
}

TEST_CASE("LibTorch score model refuses inputs of another N or channel count", "[torch]") {
  auto const a = psgm_test::tiny_architecture(16);
  psgm::score::ScoreModel<LibTorch, float> model(
      psgm_test::make_description(a, psgm_test::random_parameters(a, 5, "float32")));
  auto b = a;
  b.num_points = 20;
  Inputs<float> in(3, b, 1);
  REQUIRE_THROWS_WITH(model.network(Space(), in.x, in.t, in.cond, in.out),
                      Catch::Contains("the model needs (B, 2, 16)"));
  // an empty batch is fine
  Inputs<float> none(0, a, 1);
  REQUIRE_NOTHROW(model.network(Space(), none.x, none.t, none.cond, none.out));
}

TEST_CASE("LibTorch uses Kokkos' host thread count", "[torch]") {
  psgm::score::ScoreModel<LibTorch, float> model(psgm_test::make_description(
      psgm_test::tiny_architecture(), psgm_test::random_parameters(psgm_test::tiny_architecture(), 1, "float32")));
  REQUIRE(at::get_num_threads() == Space().concurrency());
}

TEST_CASE("the reference network has exactly 1 116 626 parameters", "[torch]") {
  psgm::model::FilmCnnConfig const reference;
  REQUIRE(psgm::model::parameter_count(reference) == 1116626);
  psgm::score::TrainableModel<LibTorch, float> model(reference);
  auto const p = model.parameters();
  std::int64_t total = 0;
  for (auto const& v : p.values) total += static_cast<std::int64_t>(v.size());
  REQUIRE(total == 1116626);
  REQUIRE(p.shapes.size() == 2 + 10 * (4 + 2 * 4) + 2 + 2);
}
