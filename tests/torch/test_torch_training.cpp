// Training on the LibTorch backend: one step equals PyTorch's (dsm_loss,
// clip_grad_norm_, torch.optim.Adam on the Python definition), the DSM loss
// falls on a small synthetic data set, an interrupted and resumed run equals
// the uninterrupted one bit for bit, resuming against changed data or options
// is refused, and a trained model survives the Python converter's round trip.
#include "../io/IoTestUtils.hpp"
#include "../score/TrainingTestData.hpp"
#include "TorchTestUtils.hpp"

#include <psgm/io/ModelFile.hpp>
#include <psgm/score/Trainer.hpp>
#include <psgm/torch/TorchTrainableModel.hpp>

#include <psgm_test.hpp>

#include <cmath>

using psgm::score::LibTorch;
using Space = Kokkos::DefaultHostExecutionSpace;
using Model = psgm::score::TrainableModel<LibTorch, float>;
using psgm_test::error_message;

namespace {

struct TrainingFixture {
  std::filesystem::path dir;
  psgm_test::SyntheticData data;
  std::string data_path;
  psgm::score::TrainerOptions options;

  explicit TrainingFixture(std::string const& name) : dir(psgm_test::scratch_dir(name)) {
    data.bad_every = 13;
    data_path = (dir / "data.h5").string();
    data.write(data_path);
    options.data_path = data_path;
    options.architecture = psgm_test::tiny_architecture();
    options.batch_size = 24;
    options.epochs = 4;
    options.validation_fraction = 0.25;
    options.learning_rate = 3e-3;
    options.learning_rate_min = 1e-4;
    options.warmup_steps = 3;
    options.gradient_clip = 1.0;
    options.ema_decay = 0.9;
    options.validate_every = 4;
    options.seed = 17;
    options.config_toml = "[test]\n";
  }
  std::string path(std::string const& name) const { return (dir / name).string(); }
};

void require_same_sets(psgm::model::ParameterSet const& a, psgm::model::ParameterSet const& b) {
  REQUIRE(a.values.size() == b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    INFO(a.shapes[i].name);
    REQUIRE(a.values[i] == b.values[i]);
  }
}

}  // namespace

#ifdef PSGM_TEST_PYTHON
TEST_CASE("one LibTorch training step equals PyTorch's Adam step on the Python definition", "[torch][python]") {
  auto const dir = psgm_test::scratch_dir("torch_step_vs_python");
  psgm::model::FilmCnnConfig const a;  // reference, N = 100
  auto const desc = psgm_test::make_description(a, psgm_test::random_parameters(a, 31, "float32", 0.5));
  std::string const before = (dir / "before.h5").string(), after_py = (dir / "after_python.h5").string();
  psgm::io::write_model(before, desc);

  int const B = 4;
  psgm::score::DsmBatch batch;
  batch.x = decltype(batch.x)("x", B, a.channels, a.num_points);
  batch.y = decltype(batch.y)("y", B, a.channels, a.num_points);
  batch.t = decltype(batch.t)("t", B);
  batch.a = decltype(batch.a)("a", B);
  batch.cond = decltype(batch.cond)("cond", B, 3);
  psgm_test::fill_normal(batch.x.data(), batch.x.size(), 1);
  psgm_test::fill_normal(batch.y.data(), batch.y.size(), 2);
  psgm_test::fill_uniform(batch.t.data(), B, 3, 1e-4, 1.0);
  psgm_test::fill_uniform(batch.a.data(), B, 4, 0.1, 1.0);
  psgm_test::fill_uniform(batch.cond.data(), batch.cond.size(), 5, 0.0, 1.0);

  Model model(a);
  model.set_parameters(desc.weights);
  auto zero = psgm::model::ParameterSet::zeros(a);
  model.set_optimizer_state({zero, zero, {}});
  double const loss = model.loss_and_gradient(batch);
  double const norm = model.gradient_norm();
  auto const grad = model.gradient();
  double const clip = 0.5 * norm;  // clipping active
  double const lr = 1e-3;
  model.adam_step(psgm::score::AdamSettings{}, lr, std::min(1.0, clip / (norm + 1e-6)), 1);
  auto const theta = model.parameters();

  std::string const prefix = (dir / "batch").string();
  psgm_test::write_raw(prefix + ".x", batch.x.data(), batch.x.size());
  psgm_test::write_raw(prefix + ".y", batch.y.data(), batch.y.size());
  psgm_test::write_raw(prefix + ".t", batch.t.data(), batch.t.size());
  psgm_test::write_raw(prefix + ".a", batch.a.data(), batch.a.size());
  psgm_test::write_raw(prefix + ".cond", batch.cond.data(), batch.cond.size());
  char args[64];
  std::snprintf(args, sizeof args, " %d %.17g %.17g ", B, lr, clip);
  psgm_test::run_python_reference("adam-step '" + before + "' '" + prefix + "'" + args + "'" + after_py + "'");
  auto const py = psgm::io::read_model(after_py).weights;
  auto const py_loss = psgm_test::read_raw<double>(prefix + ".loss", 2);
  auto const py_grad = psgm_test::read_raw<double>(prefix + ".grad", std::size_t(psgm::model::parameter_count(a)));

  WARN("loss psgm " << loss << " python " << py_loss[0] << "; gradient norm psgm " << norm << " python "
                    << py_loss[1]);
  REQUIRE(loss == Approx(py_loss[0]).epsilon(1e-5));
  REQUIRE(norm == Approx(py_loss[1]).epsilon(1e-5));
  // The gradients agree to float32 round-off (the backends sum in different orders).
  double g_max = 0, g_diff = 0;
  std::size_t j = 0;
  for (auto const& v : grad.values)
    for (double g : v) {
      g_max = std::max(g_max, std::abs(py_grad[j]));
      g_diff = std::max(g_diff, std::abs(g - py_grad[j]));
      ++j;
    }
  WARN("gradient: max |psgm - python| = " << g_diff << " (max |gradient| = " << g_max << ")");
  REQUIRE(g_diff <= 1e-5 * g_max);
  // Adam's first step moves each weight by lr g / (|g| + eps): where |g| is
  // well above the round-off difference of the gradients, psgm and PyTorch
  // agree to a small fraction of lr; where the gradient is at round-off level
  // its sign is not defined, and neither is the direction of the step
  // (bounded by lr either way).
  double const defined = 100 * std::max(g_diff, 1e-30);
  double max_diff = 0, max_step = 0, max_any = 0;
  j = 0;
  std::size_t ill_defined = 0;
  for (std::size_t i = 0; i < theta.values.size(); ++i)
    for (std::size_t k = 0; k < theta.values[i].size(); ++k, ++j) {
      double const d = std::abs(theta.values[i][k] - py.values[i][k]);
      max_step = std::max(max_step, std::abs(theta.values[i][k] - desc.weights.values[i][k]));
      max_any = std::max(max_any, d);
      if (std::abs(py_grad[j]) > defined) max_diff = std::max(max_diff, d);
      else ++ill_defined;
    }
  WARN("one Adam step: max |psgm - python| = " << max_diff << " where |g| > " << defined << " (largest update "
                                                 << max_step << "; " << ill_defined << " weights with |g| below)");
  REQUIRE(max_any <= 2.0001 * lr);
  REQUIRE(max_step == Approx(lr).epsilon(0.01));  // Adam's first step moves by about lr
  REQUIRE(max_diff <= 1e-3 * lr);
  REQUIRE(ill_defined < std::size_t(psgm::model::parameter_count(a)) / 4);  // the comparison is not vacuous
}
#endif

TEST_CASE("LibTorch training with the EDM and VE formulations lowers their losses too", "[torch][training]") {
  for (auto type : {psgm::model::SdeType::edm, psgm::model::SdeType::ve}) {
    TrainingFixture f(std::string("torch_training_loss_") + psgm::model::to_string(type));
    f.options.output_path = f.path("model.h5");
    f.options.sde.type = type;
    f.options.epochs = 0;
    f.options.steps = 80;
    f.options.validate_every = 80;
    psgm::score::Trainer<Model>(Space(), f.options).run(Space());
    auto const m = psgm::io::read_model(f.options.output_path);
    REQUIRE(m.sde.type == type);
    auto const& v = m.training.validation_loss;
    REQUIRE(v.size() == 2);
    WARN(psgm::model::to_string(type) << ": validation loss " << v[0] << " -> " << v[1] << " in 80 steps");
    REQUIRE(v[1] < 0.8 * v[0]);
  }
}

TEST_CASE("LibTorch training lowers the DSM loss on a small data set", "[torch][training]") {
  TrainingFixture f("torch_training_loss");
  f.options.output_path = f.path("model.h5");
  f.options.epochs = 0;
  f.options.steps = 60;
  f.options.validate_every = 20;
  psgm::score::Trainer<Model> trainer(Space(), f.options);
  auto const summary = trainer.run(Space());
  REQUIRE(summary.finished);
  REQUIRE(summary.steps == 60);
  auto const m = psgm::io::read_model(f.options.output_path);
  auto const& v = m.training.validation_loss;
  REQUIRE(m.training.validation_step == std::vector<std::int64_t>{0, 20, 40, 60});
  REQUIRE(m.training.train_loss.size() == 60);
  REQUIRE(m.training.learning_rate.size() == 60);
  WARN("validation loss (EMA weights) at steps 0, 20, 40, 60: " << v[0] << ", " << v[1] << ", " << v[2] << ", "
                                                                 << v[3]);
  REQUIRE(v.back() < 0.6 * v.front());
  // the stored model is the best validation's, and says so
  REQUIRE(m.training.best_validation_loss == *std::min_element(v.begin(), v.end()));
  REQUIRE(m.training.ema_weights);
  REQUIRE(m.training.backend == "libtorch");
  REQUIRE(m.training.dataset_sha256 == psgm::io::DatasetReader(f.data_path).content_sha256());
  REQUIRE(psgm::io::read_training_series(f.options.output_path).at("gradient_norm").size() == 60);
}

TEST_CASE("LibTorch training: an interrupted, resumed run equals the uninterrupted one bit for bit",
          "[torch][training]") {
  TrainingFixture f("torch_training_resume");
  auto full = f.options;
  full.output_path = f.path("full.h5");
  psgm::score::Trainer<Model> uninterrupted(Space(), full);
  auto const s_full = uninterrupted.run(Space());
  REQUIRE(s_full.finished);

  auto part = f.options;
  part.output_path = f.path("part.h5");
  part.stop_after_steps = 7;  // mid-epoch, between validations
  {
    psgm::score::Trainer<Model> first(Space(), part);
    auto const s = first.run(Space());
    REQUIRE_FALSE(s.finished);
    REQUIRE(s.steps == 7);
  }
  part.stop_after_steps = -1;
  auto resumed = psgm::score::Trainer<Model>::resume(Space(), part, psgm::score::checkpoint_path(part.output_path));
  REQUIRE(resumed.session().step() == 7);
  auto const s_resumed = resumed.run(Space());
  REQUIRE(s_resumed.finished);
  REQUIRE(s_resumed.steps == s_full.steps);

  // final states: raw weights, EMA, Adam moments
  auto const a = psgm::io::read_checkpoint(psgm::score::checkpoint_path(full.output_path), uninterrupted.session().architecture());
  auto const b = psgm::io::read_checkpoint(psgm::score::checkpoint_path(part.output_path), uninterrupted.session().architecture());
  require_same_sets(a.weights, b.weights);
  require_same_sets(a.ema_weights, b.ema_weights);
  require_same_sets(a.adam_m, b.adam_m);
  require_same_sets(a.adam_v, b.adam_v);
  REQUIRE(a.best_step == b.best_step);
  // the best models and their records
  auto const ma = psgm::io::read_model(full.output_path), mb = psgm::io::read_model(part.output_path);
  require_same_sets(ma.weights, mb.weights);
  REQUIRE(ma.training.train_loss == mb.training.train_loss);
  REQUIRE(ma.training.validation_loss == mb.training.validation_loss);
  REQUIRE(ma.training.validation_step == mb.training.validation_step);
  REQUIRE(ma.training.learning_rate == mb.training.learning_rate);
  REQUIRE(ma.training.best_validation_loss == mb.training.best_validation_loss);
  REQUIRE(psgm::io::read_training_series(full.output_path) == psgm::io::read_training_series(part.output_path));
  // and the run learned something, so the comparison is not between two untouched models
  REQUIRE(ma.training.train_loss.back() < ma.training.train_loss.front());
}

TEST_CASE("LibTorch training: resuming against changed data or options is refused", "[torch][training]") {
  TrainingFixture f("torch_training_resume_refusals");
  f.options.output_path = f.path("model.h5");
  f.options.stop_after_steps = 3;
  psgm::score::Trainer<Model>(Space(), f.options).run(Space());
  std::string const ckpt = psgm::score::checkpoint_path(f.options.output_path);

  auto other = f.data;
  other.seed = 12;  // same shapes, other values
  auto const changed = f.path("changed.h5");
  other.write(changed);
  auto o = f.options;
  o.data_path = changed;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { psgm::score::Trainer<Model>::resume(Space(), o, ckpt); }),
               Catch::Contains("the data set changed"));
  o = f.options;
  o.batch_size = 16;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { psgm::score::Trainer<Model>::resume(Space(), o, ckpt); }),
               Catch::Contains("batch_size"));
  other = f.data;
  other.N = 20;
  auto const wider = f.path("wider.h5");
  other.write(wider);
  o = f.options;
  o.data_path = wider;
  REQUIRE_THAT(error_message<psgm::InvalidArgument>([&] { psgm::score::Trainer<Model>::resume(Space(), o, ckpt); }),
               Catch::Contains("N = 20") && Catch::Contains("trained on N = 16"));
  // a best-model file (no /checkpoint) cannot be resumed from
  REQUIRE_THAT(error_message<psgm::IoError>(
                   [&] { psgm::score::Trainer<Model>::resume(Space(), f.options, f.options.output_path); }),
               Catch::Contains("no /checkpoint group"));
}

#ifdef PSGM_TEST_PYTHON
TEST_CASE("a model trained by psgm survives the Python converter's round trip unchanged", "[torch][python]") {
  TrainingFixture f("torch_training_convert");
  f.options.output_path = f.path("model.h5");
  f.options.epochs = 1;
  psgm::score::Trainer<Model>(Space(), f.options).run(Space());
  std::string const pt = f.path("model.pt"), back = f.path("back.h5");
  psgm_test::run_converter("to-torch '" + f.options.output_path + "' '" + pt + "'");
  psgm_test::run_converter("to-psgm '" + pt + "' '" + back + "'");
  auto const a = psgm::io::read_model(f.options.output_path), b = psgm::io::read_model(back);
  REQUIRE(a.architecture == b.architecture);
  require_same_sets(a.weights, b.weights);
  REQUIRE(a.normalization.field_mean == b.normalization.field_mean);
  REQUIRE(a.normalization.field_std == b.normalization.field_std);
  REQUIRE(a.normalization.cond_min == b.normalization.cond_min);
  REQUIRE(a.normalization.cond_max == b.normalization.cond_max);
  REQUIRE(a.normalization.cond_log == b.normalization.cond_log);
  REQUIRE(a.sde.type == b.sde.type);
  REQUIRE(a.sde.vp.beta_max == b.sde.vp.beta_max);
  REQUIRE(a.training.train_loss == b.training.train_loss);
  REQUIRE(a.training.validation_loss == b.training.validation_loss);
  REQUIRE(a.training.validation_step == b.training.validation_step);
  REQUIRE(a.training.seed == b.training.seed);
  REQUIRE(a.training.config_toml == b.training.config_toml);
  REQUIRE(a.training.dataset_sha256 == b.training.dataset_sha256);
  REQUIRE(psgm::io::read_training_series(f.options.output_path) == psgm::io::read_training_series(back));
}
#endif
