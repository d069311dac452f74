// The native backend's forward pass (ScoreModel<Native<ExecSpace>, Scalar>)
// against the independent host reference of NativeReference.hpp, on random
// weights, for the reference-shaped and for non-reference architectures, on
// both kernel paths, in float and double; score() for VP and EDM; profiling
// labels, regions and the absence of allocations once reserved.
#include <psgm/score/NativeScoreModel.hpp>

#include "../harness/ProfilingRecorder.hpp"
#include "NativeReference.hpp"

#include <psgm_test.hpp>

#include <string>
#include <vector>

namespace {

using psgm::model::FilmCnnConfig;
using psgm::model::ModelDescription;
using psgm::score::NativeKernels;

ModelDescription make_description(FilmCnnConfig const& c, std::uint64_t seed, std::string const& dtype) {
  ModelDescription d;
  d.architecture = c;
  d.weights = psgm_test::native_random_parameters(c, seed, dtype);
  return d;
}

template <class Model>
struct DeviceBatch {
  using S = typename Model::scalar_type;
  typename Model::field_view x, out;
  typename Model::time_view t;
  typename Model::cond_view cond;

  DeviceBatch(psgm_test::ReferenceBatch const& r) {
    x = typename Model::field_view("psgm::test::x", r.B, r.C, r.N);
    out = typename Model::field_view("psgm::test::out", r.B, r.C, r.N);
    t = typename Model::time_view("psgm::test::t", r.B);
    cond = typename Model::cond_view("psgm::test::cond", r.B, r.cond_dim);
    auto hx = Kokkos::create_mirror_view(x);
    auto ht = Kokkos::create_mirror_view(t);
    auto hc = Kokkos::create_mirror_view(cond);
    for (int b = 0; b < r.B; ++b) {
      ht(b) = S(r.t[b]);
      for (int i = 0; i < r.cond_dim; ++i) hc(b, i) = S(r.cond[b * r.cond_dim + i]);
      for (int c = 0; c < r.C; ++c)
        for (int n = 0; n < r.N; ++n) hx(b, c, n) = S(r.x[(std::size_t(b) * r.C + c) * r.N + n]);
    }
    Kokkos::deep_copy(x, hx);
    Kokkos::deep_copy(t, ht);
    Kokkos::deep_copy(cond, hc);
  }
  std::vector<double> result() const {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
    return std::vector<double>(h.data(), h.data() + h.size());
  }
};

template <class Space, class Scalar>
void check_forward(NativeKernels kernels, double tolerance) {
  using Model = psgm::score::ScoreModel<psgm::score::Native<Space>, Scalar>;
  std::string const dtype = std::is_same_v<Scalar, float> ? "float32" : "float64";
  auto configs = psgm_test::native_test_configs();
  FilmCnnConfig wide;  // more channels than one host tile holds (256 columns)
  wide.num_points = 6;
  wide.width = 270;
  wide.num_blocks = 1;
  wide.kernel_size = 3;
  wide.num_frequencies = 2;
  wide.film_hidden = 300;
  wide.film_layers = 2;
  configs.push_back(wide);
  std::uint64_t seed = 1;
  double worst = 0;
  for (auto const& c : configs) {
    CAPTURE(c.width, c.kernel_size, c.num_blocks, c.film_layers, c.num_points, c.channels);
    auto const desc = make_description(c, seed++, dtype);
    Model model(Space(), desc, kernels);
    CHECK(model.kernels() == kernels);
    for (int B : {1, 7}) {
      psgm_test::ReferenceBatch const ref(c, B, seed++, std::is_same_v<Scalar, float>);
      DeviceBatch<Model> batch(ref);
      model.network(Space(), batch.x, batch.t, batch.cond, batch.out);
      double const err = psgm_test::relative_max_error(batch.result(), ref.forward(c, desc.weights));
      CAPTURE(B, err);
      CHECK(err < tolerance);
      worst = std::max(worst, err);
    }
  }
  WARN("native (" << psgm::score::to_string(kernels) << ", " << dtype << ") vs host reference: largest relative error "
                  << worst);
}

}  // namespace

PSGM_BACKEND_TEST_CASE("native forward equals the host reference (double)", "[score][native]") {
  for (auto k : psgm_test::native_kernel_paths<TestType>()) {
    CAPTURE(psgm::score::to_string(k));
    check_forward<TestType, double>(k, 1e-13);
  }
}

PSGM_BACKEND_TEST_CASE("native forward equals the host reference (float)", "[score][native]") {
  for (auto k : psgm_test::native_kernel_paths<TestType>()) {
    CAPTURE(psgm::score::to_string(k));
    check_forward<TestType, float>(k, 2e-6);
  }
}

PSGM_BACKEND_TEST_CASE("native model: the reference architecture, weights round trip, score for VP and EDM",
                       "[score][native]") {
  using Model = psgm::score::ScoreModel<psgm::score::Native<TestType>, double>;
  FilmCnnConfig const c;  // the reference: 1 116 626 weights
  REQUIRE(psgm::model::parameter_count(c) == 1116626);
  auto desc = make_description(c, 42, "float64");
  desc.normalization.field_mean = {1000.0, -0.1};
  desc.training.backend = "libtorch";
  Model model(TestType(), desc);
  CHECK(model.kernels() == psgm_test::native_kernel_paths<TestType>().back());  // automatic: host tiles on the host

  // to_description(): the weights come back exactly, with everything else.
  auto const back = model.to_description();
  CHECK(back.architecture == c);
  CHECK(back.normalization.field_mean == desc.normalization.field_mean);
  CHECK(back.training.backend == "libtorch");
  CHECK(back.weights.values == desc.weights.values);

  psgm_test::ReferenceBatch const ref(c, 2, 7, false);
  DeviceBatch<Model> batch(ref);
  model.score(TestType(), batch.x, batch.t, batch.cond, batch.out);  // VP: score = F
  auto const expected = ref.forward(c, desc.weights);
  CHECK(psgm_test::relative_max_error(batch.result(), expected) < 1e-13);

  // EDM: t is σ; score = (c_skip x + c_out F(c_in x, c_noise(σ)) - x) / σ².
  auto edm = desc;
  edm.sde.type = psgm::model::SdeType::edm;
  Model edm_model(TestType(), edm);
  edm_model.score(TestType(), batch.x, batch.t, batch.cond, batch.out);
  auto const got = batch.result();
  std::vector<double> want(got.size());
  int const CN = c.channels * c.num_points;
  for (int b = 0; b < ref.B; ++b) {
    double const s = ref.t[b];
    auto const& e = edm.sde.edm;
    std::vector<double> xin(ref.x.begin() + b * CN, ref.x.begin() + (b + 1) * CN);
    for (double& v : xin) v *= e.c_in(s);
    auto const F = psgm_test::reference_forward(c, desc.weights, xin.data(), e.c_noise(s), ref.cond.data() + b * 3);
    for (int i = 0; i < CN; ++i) {
      double const x = ref.x[b * CN + i];
      want[b * CN + i] = (e.c_skip(s) * x + e.c_out(s) * F[i] - x) / (s * s);
    }
  }
  CHECK(psgm_test::relative_max_error(got, want) < 1e-12);
}

PSGM_BACKEND_TEST_CASE("native model: labelled kernels and Views, one region per call, no allocation once reserved",
                       "[score][native]") {
  using Model = psgm::score::ScoreModel<psgm::score::Native<TestType>, float>;
  auto const c = psgm_test::native_test_configs()[1];
  for (auto k : psgm_test::native_kernel_paths<TestType>()) {
    CAPTURE(psgm::score::to_string(k));
    psgm_test::ReferenceBatch const ref(c, 5, 3, true);
    DeviceBatch<Model> batch(ref);
    {
      psgm_test::ProfilingRecorder rec;
      Model model(TestType(), make_description(c, 9, "float32"), k);
      model.reserve(5);
      CHECK(rec.unlabelled_allocations().empty());
      rec.allocations.clear();
      rec.regions.clear();
      model.score(TestType(), batch.x, batch.t, batch.cond, batch.out);
      model.network(TestType(), batch.x, batch.t, batch.cond, batch.out);
      // The first team launch on a space may size Kokkos' own team scratch
      // ("Kokkos::Serial::scratch_mem", OpenMP's pool); psgm allocates nothing,
      // and from the second call on nobody does.
      INFO("allocations: " << ::Catch::Detail::stringify(rec.allocations));
      for (auto const& a : rec.allocations) CHECK(a.rfind("psgm::", 0) != 0);
      rec.allocations.clear();
      model.score(TestType(), batch.x, batch.t, batch.cond, batch.out);
      CHECK(rec.allocations.empty());
      CHECK(rec.unlabelled_kernels().empty());
      CHECK(rec.has_region("psgm::score::ScoreModel<Native>::score"));
      CHECK(rec.has_region("psgm::score::ScoreModel<Native>::network"));
      CHECK(rec.regions.size() == 3);
      CHECK(!rec.kernels.empty());
    }
    // Bad shapes are refused with the shape in the message.
    Model model(TestType(), make_description(c, 9, "float32"), k);
    typename Model::field_view wrong("psgm::test::wrong", 5, c.channels, c.num_points + 1);
    CHECK_THROWS_WITH(model.network(TestType(), wrong, batch.t, batch.cond, batch.out),
                      Catch::Contains("expected (B, 2, 13)"));
  }
}

TEST_CASE("native model: a description whose weights do not match the architecture is refused", "[score][native]") {
  auto d = make_description(psgm_test::native_test_configs()[0], 1, "float64");
  d.weights.values[3].pop_back();
  using Model = psgm::score::ScoreModel<psgm::score::Native<Kokkos::DefaultHostExecutionSpace>, double>;
  CHECK_THROWS_WITH(Model(d), Catch::Contains("holds"));
}
