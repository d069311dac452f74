// The backend-independent part of training (Impl::TrainingSession): initial
// weights, the split by condition, the normalisation fitted on the training
// part, the mini-batches of denoising score matching (checked by inverting
// the noising formula back to data samples), streaming equal to in-memory,
// and the learning-rate / EMA schedules. No network is involved; the torch
// tests train real models.
#include "../io/IoTestUtils.hpp"
#include "TrainingTestData.hpp"

#include <psgm/io/Dataset.hpp>
#include <psgm/score/Trainer.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <map>
#include <set>

using psgm::score::Impl::TrainingSession;
using psgm_test::error_message;

namespace {

using HostSpace = Kokkos::DefaultHostExecutionSpace;

struct Fixture {
  std::filesystem::path dir;
  psgm_test::SyntheticData data;
  std::string data_path;
  psgm::score::TrainerOptions options;

  explicit Fixture(std::string const& name) : dir(psgm_test::scratch_dir(name)) {
    data.bad_every = 9;  // some samples with status depleted and NaN fields
    data_path = (dir / "data.h5").string();
    data.write(data_path);
    options.data_path = data_path;
    options.output_path = (dir / "model.h5").string();
    options.architecture = psgm_test::tiny_architecture();
    options.batch_size = 20;
    options.epochs = 3;
    options.validation_fraction = 0.25;
    options.seed = 5;
  }

  /// Normalised fields of every ok sample, by file row.
  std::map<std::int64_t, std::vector<double>> normalised(psgm::model::Normalization const& n) const {
    psgm::io::DatasetReader reader(data_path);
    Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> f("f", reader.size(), 2, data.N);
    reader.read_fields(0, f);
    auto const status = reader.status();
    std::map<std::int64_t, std::vector<double>> out;
    for (std::int64_t r = 0; r < reader.size(); ++r) {
      if (status[r] != psgm::SolveStatus::ok) continue;
      auto& v = out[r];
      for (int c = 0; c < 2; ++c)
        for (int i = 0; i < data.N; ++i) v.push_back((f(r, c, i) - n.field_mean[c]) / n.field_std[c]);
    }
    return out;
  }
};

/// The row whose normalised fields equal `x0` (to round-off), or -1.
std::int64_t find_row(std::map<std::int64_t, std::vector<double>> const& rows, std::vector<double> const& x0) {
  for (auto const& [r, v] : rows) {
    double err = 0;
    for (std::size_t k = 0; k < v.size(); ++k) err = std::max(err, std::abs(v[k] - x0[k]));
    if (err < 1e-9) return r;
  }
  return -1;
}

}  // namespace

TEST_CASE("trainer: initial weights follow PyTorch's default initialisation", "[score][trainer]") {
  psgm::model::FilmCnnConfig const a;  // reference
  auto const p = psgm::score::initial_parameters(a, 1, "float32");
  auto const q = psgm::score::initial_parameters(a, 1, "float32");
  auto const r = psgm::score::initial_parameters(a, 2, "float32");
  REQUIRE(p.values == q.values);
  REQUIRE(p.values != r.values);
  std::string const last = "film.layers." + std::to_string(a.film_layers - 1) + ".";
  for (std::size_t i = 0; i < p.shapes.size(); ++i) {
    auto const& s = p.shapes[i];
    auto const& v = p.values[i];
    for (double w : v) REQUIRE(w == double(float(w)));  // float32 values
    double sum = 0, sum2 = 0, maxabs = 0;
    for (double w : v) {
      sum += w;
      sum2 += w * w;
      maxabs = std::max(maxabs, std::abs(w));
    }
    double const n = double(v.size());
    bool const bias = s.shape.size() == 1;
    if (s.name.rfind("out_affine.", 0) == 0 || (bias && s.name.find(last) != std::string::npos)) {
      REQUIRE(maxabs == 0.0);
    } else if (s.name.find(last) != std::string::npos) {
      CHECK(std::sqrt(sum2 / n) == Approx(1e-3).epsilon(0.05));  // N(0, 1e-3²), 8192 draws
    } else {
      auto const& w = bias ? p.shapes[i - 1] : s;
      double const bound = 1.0 / std::sqrt(double(w.size() / w.shape[0]));
      REQUIRE(maxabs <= bound);
      if (n >= 1000) {  // U(-b, b): mean 0, variance b²/3
        CHECK(std::abs(sum / n) < 0.05 * bound);
        CHECK(sum2 / n == Approx(bound * bound / 3).epsilon(0.05));
      }
    }
  }
}

TEST_CASE("trainer: split by condition, ok samples only, normalisation of the training part", "[score][trainer]") {
  Fixture f("trainer_split");
  HostSpace space;
  TrainingSession s(space, f.options, "", "test", "float32");
  psgm::io::DatasetReader reader(f.data_path);
  auto const cond_of = reader.condition_index();
  auto const status = reader.status();

  std::set<std::int64_t> train_conds, val_conds;
  for (auto r : s.train_rows()) train_conds.insert(cond_of[r]);
  for (auto r : s.validation_rows()) val_conds.insert(cond_of[r]);
  REQUIRE(val_conds.size() == 2);  // 25 % of 8 conditions
  REQUIRE(train_conds.size() == 6);
  for (auto k : val_conds) REQUIRE(train_conds.count(k) == 0);  // never seen in training
  std::int64_t ok = 0;
  for (auto st : status) ok += st == psgm::SolveStatus::ok;
  REQUIRE(std::int64_t(s.train_rows().size() + s.validation_rows().size()) == ok);
  for (auto r : s.train_rows()) REQUIRE(status[r] == psgm::SolveStatus::ok);

  // Spec §1: one scalar mean / std per field over the training samples,
  // conditions min-max with log l.
  Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace> fields("f", reader.size(), 2, f.data.N);
  reader.read_fields(0, fields);
  auto const& n = s.normalization();
  for (int c = 0; c < 2; ++c) {
    double sum = 0, count = 0;
    for (auto r : s.train_rows())
      for (int i = 0; i < f.data.N; ++i, ++count) sum += fields(r, c, i);
    double const mean = sum / count;
    double var = 0;
    for (auto r : s.train_rows())
      for (int i = 0; i < f.data.N; ++i) var += (fields(r, c, i) - mean) * (fields(r, c, i) - mean);
    REQUIRE(n.field_mean[c] == Approx(mean).epsilon(1e-13));
    REQUIRE(n.field_std[c] == Approx(std::sqrt(var / count)).epsilon(1e-12));
  }
  auto const conds = f.data.conditions();
  double lmin = 1e300, lmax = -1e300;
  for (auto k : train_conds) {
    lmin = std::min(lmin, std::log(conds[k].l));
    lmax = std::max(lmax, std::log(conds[k].l));
  }
  REQUIRE(n.cond_log[0]);
  REQUIRE(n.cond_min[0] == lmin);
  REQUIRE(n.cond_max[0] == lmax);

  // One condition cannot be split.
  psgm_test::SyntheticData one;
  one.M = 1;
  std::string const one_path = (f.dir / "one.h5").string();
  one.write(one_path);
  auto o = f.options;
  o.data_path = one_path;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { TrainingSession(space, o, "", "test", "float32"); }),
               Catch::Contains("at least 2") && Catch::Contains("validation_fraction = 0"));
}

TEST_CASE("trainer: VP batches are x = m(t) x0 + s(t) z of training samples, each once per epoch", "[score][trainer]") {
  Fixture f("trainer_vp_batches");
  HostSpace space;
  TrainingSession s(space, f.options, "", "test", "float32");
  auto const rows = f.normalised(s.normalization());
  std::set<std::int64_t> const val(s.validation_rows().begin(), s.validation_rows().end());
  auto const& vp = f.options.sde.vp;
  int const N = f.data.N;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::multiset<std::int64_t> seen;
    std::vector<std::int64_t> order;
    for (std::int64_t b = 0; b < s.steps_per_epoch(); ++b) {
      auto const& batch = s.next_batch(space);
      for (int i = 0; i < batch.size(); ++i) {
        double const t = batch.t(i);
        REQUIRE(t >= vp.t_min);
        REQUIRE(t <= 1.0);
        REQUIRE(batch.a(i) == Approx(vp.stddev(t)).epsilon(1e-14));
        // invert: x0 = (x + s y) / m  (y = -z)
        std::vector<double> x0;
        for (int c = 0; c < 2; ++c)
          for (int k = 0; k < N; ++k) x0.push_back((batch.x(i, c, k) + batch.a(i) * batch.y(i, c, k)) / vp.mean(t));
        // at large t, m(t) is tiny and the inversion loses digits: compare loosely there
        std::int64_t row = -1;
        double best = 1e300;
        for (auto const& [r, v] : rows) {
          double err = 0;
          for (std::size_t k = 0; k < v.size(); ++k) err = std::max(err, std::abs(v[k] - x0[k]));
          if (err < best) best = err, row = r;
        }
        REQUIRE(best < 1e-9 / vp.mean(t));
        REQUIRE(val.count(row) == 0);
        seen.insert(row);
        order.push_back(row);
      }
      s.finish_step(1.0, 1.0, s.learning_rate());
    }
    // every training sample exactly once per epoch
    REQUIRE(seen == std::multiset<std::int64_t>(s.train_rows().begin(), s.train_rows().end()));
    REQUIRE(order != std::vector<std::int64_t>(s.train_rows().begin(), s.train_rows().end()));  // shuffled
  }
}

TEST_CASE("trainer: VE batches are x = x0 + sigma(t) z of training samples", "[score][trainer]") {
  Fixture f("trainer_ve_batches");
  f.options.sde.type = psgm::model::SdeType::ve;
  HostSpace space;
  TrainingSession s(space, f.options, "", "test", "float32");
  auto const rows = f.normalised(s.normalization());
  auto const& ve = f.options.sde.ve;
  auto const& batch = s.next_batch(space);
  for (int i = 0; i < batch.size(); ++i) {
    REQUIRE(batch.t(i) >= ve.t_min);
    REQUIRE(batch.a(i) == Approx(ve.sigma(batch.t(i))).epsilon(1e-14));
    std::vector<double> x0;  // x0 = x + σ y (y = −z)
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < f.data.N; ++k) x0.push_back(batch.x(i, c, k) + batch.a(i) * batch.y(i, c, k));
    double const tolerance = 1e-9 * std::max(1.0, batch.a(i));
    bool found = false;
    for (auto const& [r, v] : rows) {
      double err = 0;
      for (std::size_t k = 0; k < v.size(); ++k) err = std::max(err, std::abs(v[k] - x0[k]));
      found = found || err < tolerance;
    }
    REQUIRE(found);
  }
}

TEST_CASE("trainer: EDM batches invert to training samples with log-normal sigma", "[score][trainer]") {
  Fixture f("trainer_edm_batches");
  f.options.sde.type = psgm::model::SdeType::edm;
  HostSpace space;
  TrainingSession s(space, f.options, "", "test", "float64");
  auto const rows = f.normalised(s.normalization());
  auto const& e = f.options.sde.edm;
  auto const& batch = s.next_batch(space);
  double sum_log = 0, sum_log2 = 0;
  for (int i = 0; i < batch.size(); ++i) {
    double const sigma = std::exp(4.0 * batch.t(i));  // t = c_noise(σ) = ln(σ) / 4
    REQUIRE(batch.a(i) == 1.0);
    sum_log += std::log(sigma);
    sum_log2 += std::log(sigma) * std::log(sigma);
    // x = c_in (x0 + σ z), y = ((1 − c_skip) x0 − c_skip σ z) / c_out  =>  x0 = c_out y + c_skip x / c_in
    std::vector<double> x0;
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < f.data.N; ++k)
        x0.push_back(e.c_out(sigma) * batch.y(i, c, k) + e.c_skip(sigma) * batch.x(i, c, k) / e.c_in(sigma));
    REQUIRE(find_row(rows, x0) >= 0);
  }
  double const mean = sum_log / batch.size();
  CHECK(std::abs(mean - e.p_mean) < 4 * e.p_std / std::sqrt(double(batch.size())));
}

TEST_CASE("trainer: streamed mini-batches equal in-memory ones bit for bit", "[score][trainer]") {
  Fixture f("trainer_streaming");
  HostSpace space;
  auto streamed_options = f.options;
  streamed_options.max_memory_bytes = 0;
  TrainingSession in_memory(space, f.options, "", "test", "float32");
  TrainingSession streamed(space, streamed_options, "", "test", "float32");
  REQUIRE(in_memory.normalization().field_mean == streamed.normalization().field_mean);
  REQUIRE(in_memory.normalization().field_std == streamed.normalization().field_std);
  for (int step = 0; step < 2 * in_memory.steps_per_epoch(); ++step) {
    auto const& a = in_memory.next_batch(space);
    auto const& b = streamed.next_batch(space);
    REQUIRE(a.size() == b.size());
    for (int i = 0; i < a.size(); ++i) {
      REQUIRE(a.t(i) == b.t(i));
      for (int c = 0; c < 2; ++c)
        for (int k = 0; k < f.data.N; ++k) {
          REQUIRE(a.x(i, c, k) == b.x(i, c, k));
          REQUIRE(a.y(i, c, k) == b.y(i, c, k));
        }
    }
    in_memory.finish_step(1.0, 0.0, 0.0);
    streamed.finish_step(1.0, 0.0, 0.0);
  }
  auto const& va = in_memory.validation_batch(space, 0);
  auto const& vb = streamed.validation_batch(space, 0);
  for (int i = 0; i < va.size(); ++i) REQUIRE(va.x(i, 1, 3) == vb.x(i, 1, 3));
}

TEST_CASE("trainer: condition noise perturbs the training conditions only, with the set spread", "[score][trainer]") {
  Fixture f("trainer_condition_noise");
  f.options.sde.type = psgm::model::SdeType::edm;
  HostSpace space;
  auto noisy_options = f.options;
  noisy_options.condition_noise = 0.2;
  TrainingSession plain(space, f.options, "", "test", "float64");
  TrainingSession noisy(space, noisy_options, "", "test", "float64");
  double sum = 0, sum2 = 0;
  std::int64_t count = 0;
  for (int step = 0; step < 3; ++step) {
    auto const& a = plain.next_batch(space);
    auto const& b = noisy.next_batch(space);
    REQUIRE(a.size() == b.size());
    for (int i = 0; i < a.size(); ++i) {
      // Noise levels and noisy fields are drawn as without condition noise.
      REQUIRE(a.t(i) == b.t(i));
      for (int c = 0; c < 2; ++c)
        for (int k = 0; k < f.data.N; ++k) REQUIRE(a.x(i, c, k) == b.x(i, c, k));
      for (int k = 0; k < static_cast<int>(a.cond.extent(1)); ++k) {
        double const d = b.cond(i, k) - a.cond(i, k);
        REQUIRE(d != 0.0);
        sum += d;
        sum2 += d * d;
        ++count;
      }
    }
    plain.finish_step(1.0, 0.0, 0.0);
    noisy.finish_step(1.0, 0.0, 0.0);
  }
  double const mean = sum / double(count), sd = std::sqrt(sum2 / double(count) - mean * mean);
  CHECK(std::abs(mean) < 4 * 0.2 / std::sqrt(double(count)));
  CHECK(std::abs(sd - 0.2) < 4 * 0.2 / std::sqrt(2.0 * double(count)));
  // Validation batches see the conditions as they are.
  auto const& va = plain.validation_batch(space, 0);
  auto const& vb = noisy.validation_batch(space, 0);
  for (int i = 0; i < va.size(); ++i)
    for (int k = 0; k < static_cast<int>(va.cond.extent(1)); ++k) REQUIRE(va.cond(i, k) == vb.cond(i, k));
  noisy_options.condition_noise = -0.5;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { noisy_options.validate(); }),
               Catch::Contains("condition_noise = -0.5 must be >= 0"));
}

TEST_CASE("trainer: warm-up, cosine schedule to lr_min, EMA ramp, clipping factor", "[score][trainer]") {
  Fixture f("trainer_schedule");
  f.options.steps = 50;
  f.options.warmup_steps = 10;
  f.options.learning_rate = 1e-3;
  f.options.learning_rate_min = 1e-5;
  f.options.ema_decay = 0.99;
  f.options.gradient_clip = 2.0;
  HostSpace space;
  TrainingSession s(space, f.options, "", "test", "float32");
  REQUIRE(s.total_steps() == 50);
  std::vector<double> lr, decay;
  while (!s.done()) {
    lr.push_back(s.learning_rate());
    decay.push_back(s.ema_decay());
    s.finish_step(1.0, 0.0, lr.back());
  }
  REQUIRE(lr.size() == 50);
  for (int k = 0; k < 10; ++k) REQUIRE(lr[k] == Approx(1e-3 * (k + 1) / 10.0));
  REQUIRE(lr[10] == Approx(1e-3));
  for (int k = 11; k < 50; ++k) REQUIRE(lr[k] < lr[k - 1]);
  // cosine: halfway through the decay the rate is the midpoint
  REQUIRE(lr[30] == Approx(1e-5 + 0.5 * (1e-3 - 1e-5)));
  REQUIRE(lr[49] > 1e-5);
  REQUIRE(lr[49] < 1e-5 + 1e-5);
  REQUIRE(decay[0] == Approx(1.0 / 10.0));
  REQUIRE(decay[49] == Approx(std::min(0.99, 50.0 / 59.0)));
  REQUIRE(s.gradient_scale(1.0) == 1.0);
  REQUIRE(s.gradient_scale(8.0) == Approx(2.0 / (8.0 + 1e-6)));
}

TEST_CASE("trainer: options are validated with a message", "[score][trainer]") {
  psgm::score::TrainerOptions o;
  o.output_path = "m.h5";
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { o.validate(); }), Catch::Contains("no data set"));
  o.data_path = "d.h5";
  o.validation_fraction = 1.0;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { o.validate(); }), Catch::Contains("validation_fraction"));
  o.validation_fraction = 0.1;
  o.sde.vp.beta_max = 3;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { o.validate(); }), Catch::Contains("m(1) = 0.47"));
  REQUIRE(psgm::score::checkpoint_path("/a/b/model.h5") == "/a/b/model.checkpoint.h5");
  REQUIRE(psgm::score::checkpoint_path("out/m") == "out/m.checkpoint.h5");
}
