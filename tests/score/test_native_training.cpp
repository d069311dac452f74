// Training on the native backend through the shared Trainer (what
// `psgm train --backend native` runs): the DSM loss falls on a small
// synthetic data set, and an interrupted, resumed run equals the
// uninterrupted one bit for bit. Needs HDF5 (data sets, model files), not
// LibTorch.
#include "TrainingTestData.hpp"

#include <psgm/io/ModelFile.hpp>
#include <psgm/score/NativeTrainableModel.hpp>
#include <psgm/score/Trainer.hpp>

#include <psgm_test.hpp>

#include <algorithm>

namespace {

psgm::score::TrainerOptions small_run(std::filesystem::path const& dir, psgm_test::SyntheticData const& data) {
  psgm::score::TrainerOptions o;
  o.data_path = (dir / "data.h5").string();
  data.write(o.data_path);
  o.architecture = psgm_test::tiny_architecture();
  o.batch_size = 24;
  o.validation_fraction = 0.25;
  o.learning_rate = 3e-3;
  o.learning_rate_min = 1e-4;
  o.warmup_steps = 3;
  o.gradient_clip = 1.0;
  o.ema_decay = 0.9;
  o.seed = 17;
  o.config_toml = "[test]\n";
  return o;
}

void require_same(psgm::model::ParameterSet const& a, psgm::model::ParameterSet const& b) {
  REQUIRE(a.values.size() == b.values.size());
  for (std::size_t i = 0; i < a.values.size(); ++i) {
    INFO(a.shapes[i].name);
    REQUIRE(a.values[i] == b.values[i]);
  }
}

}  // namespace

PSGM_BACKEND_TEST_CASE("native training lowers the DSM loss on a small data set", "[score][native][training]") {
  using Model = psgm::score::TrainableModel<psgm::score::Native<TestType>, float>;
  using Host = Kokkos::DefaultHostExecutionSpace;
  auto const dir = psgm_test::scratch_dir(std::string("native_training_loss_") + TestType::name());
  psgm_test::SyntheticData data;
  data.bad_every = 13;
  auto o = small_run(dir, data);
  o.output_path = (dir / "model.h5").string();
  o.epochs = 0;
  o.steps = 100;
  o.validate_every = 25;
  auto const summary = psgm::score::Trainer<Model>(Host(), o).run(Host());
  REQUIRE(summary.finished);
  auto const m = psgm::io::read_model(o.output_path);
  auto const& v = m.training.validation_loss;
  REQUIRE(m.training.validation_step == std::vector<std::int64_t>{0, 25, 50, 75, 100});
  WARN("native (" << TestType::name() << ") validation loss (EMA) at steps 0..100: " << v[0] << ", " << v[1] << ", "
                  << v[2] << ", " << v[3] << ", " << v[4]);
  REQUIRE(v.back() < 0.6 * v.front());
  REQUIRE(m.training.backend == "native");
  REQUIRE(m.training.ema_weights);
  REQUIRE(m.training.best_validation_loss == *std::min_element(v.begin(), v.end()));
}

PSGM_BACKEND_TEST_CASE("native training: an interrupted, resumed run equals the uninterrupted one bit for bit",
                       "[score][native][training]") {
  using Model = psgm::score::TrainableModel<psgm::score::Native<TestType>, float>;
  using Host = Kokkos::DefaultHostExecutionSpace;
  auto const dir = psgm_test::scratch_dir(std::string("native_training_resume_") + TestType::name());
  psgm_test::SyntheticData data;
  auto o = small_run(dir, data);
  o.epochs = 3;
  o.validate_every = 4;
  auto full = o;
  full.output_path = (dir / "full.h5").string();
  psgm::score::Trainer<Model> uninterrupted(Host(), full);
  REQUIRE(uninterrupted.run(Host()).finished);
  auto part = o;
  part.output_path = (dir / "part.h5").string();
  part.stop_after_steps = 7;
  REQUIRE_FALSE(psgm::score::Trainer<Model>(Host(), part).run(Host()).finished);
  part.stop_after_steps = -1;
  auto resumed = psgm::score::Trainer<Model>::resume(Host(), part, psgm::score::checkpoint_path(part.output_path));
  REQUIRE(resumed.session().step() == 7);
  REQUIRE(resumed.run(Host()).finished);
  auto const& arch = uninterrupted.session().architecture();
  auto const a = psgm::io::read_checkpoint(psgm::score::checkpoint_path(full.output_path), arch);
  auto const b = psgm::io::read_checkpoint(psgm::score::checkpoint_path(part.output_path), arch);
  require_same(a.weights, b.weights);
  require_same(a.ema_weights, b.ema_weights);
  require_same(a.adam_m, b.adam_m);
  require_same(a.adam_v, b.adam_v);
  auto const ma = psgm::io::read_model(full.output_path), mb = psgm::io::read_model(part.output_path);
  REQUIRE(ma.training.train_loss == mb.training.train_loss);
  REQUIRE(ma.training.validation_loss == mb.training.validation_loss);
  REQUIRE(ma.training.train_loss.back() < ma.training.train_loss.front());
}
