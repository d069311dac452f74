// psgm model files (docs/design.md §5): round trip of every field, float32
// rounding, checkpoints, atomic replacement, and the refusals of files that
// are not usable models (each message names what is wrong). Broken files are
// made with the HDF5 C API from valid ones.
#include "../io/IoTestUtils.hpp"
#include "TrainingTestData.hpp"

#include <psgm/core/Error.hpp>
#include <psgm/io/ModelFile.hpp>

#include <psgm_test.hpp>

#include <hdf5.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using psgm_test::error_message;

namespace {

psgm::model::ModelDescription sample_model(std::string const& dtype = "float32") {
  auto const a = psgm_test::tiny_architecture(16);
  auto m = psgm_test::make_description(a, psgm_test::random_parameters(a, 3, dtype));
  m.training.dataset_path = "/data/set.h5";
  m.training.dataset_sha256 = std::string(64, 'a');
  m.training.backend = "libtorch";
  m.training.steps = 12;
  m.training.epochs = 3;
  m.training.seed = 18446744073709551557ull;  // > 2^63: stored as uint64
  m.training.best_validation_loss = 0.4375;
  m.training.best_step = 8;
  m.training.ema_weights = true;
  m.training.train_loss = {1.0, 0.9, 0.8};
  m.training.validation_loss = {0.95, 0.85};
  m.training.validation_step = {4, 8};
  m.training.learning_rate = {1e-4, 2e-4, 1.5e-4};
  m.training.config_toml = "[training]\nbatch_size = 4\n";
  return m;
}

void require_equal(psgm::model::ModelDescription const& a, psgm::model::ModelDescription const& b) {
  REQUIRE(a.architecture == b.architecture);
  REQUIRE(a.normalization.field_mean == b.normalization.field_mean);
  REQUIRE(a.normalization.field_std == b.normalization.field_std);
  REQUIRE(a.normalization.cond_min == b.normalization.cond_min);
  REQUIRE(a.normalization.cond_max == b.normalization.cond_max);
  REQUIRE(a.normalization.cond_log == b.normalization.cond_log);
  REQUIRE(a.sde.type == b.sde.type);
  REQUIRE(a.weights.dtype == b.weights.dtype);
  REQUIRE(a.weights.shapes.size() == b.weights.shapes.size());
  for (std::size_t i = 0; i < a.weights.shapes.size(); ++i) {
    REQUIRE(a.weights.shapes[i].name == b.weights.shapes[i].name);
    REQUIRE(a.weights.shapes[i].shape == b.weights.shapes[i].shape);
    REQUIRE(a.weights.values[i] == b.weights.values[i]);  // bitwise
  }
  auto const &ta = a.training, &tb = b.training;
  REQUIRE(ta.dataset_path == tb.dataset_path);
  REQUIRE(ta.dataset_sha256 == tb.dataset_sha256);
  REQUIRE(ta.backend == tb.backend);
  REQUIRE(ta.steps == tb.steps);
  REQUIRE(ta.epochs == tb.epochs);
  REQUIRE(ta.seed == tb.seed);
  REQUIRE(ta.best_validation_loss == tb.best_validation_loss);
  REQUIRE(ta.best_step == tb.best_step);
  REQUIRE(ta.ema_weights == tb.ema_weights);
  REQUIRE(ta.train_loss == tb.train_loss);
  REQUIRE(ta.validation_loss == tb.validation_loss);
  REQUIRE(ta.validation_step == tb.validation_step);
  REQUIRE(ta.learning_rate == tb.learning_rate);
  REQUIRE(ta.config_toml == tb.config_toml);
}

/// Opens a model file for surgery with the C API.
struct Surgery {
  hid_t file;
  explicit Surgery(std::string const& path) : file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
    REQUIRE(file >= 0);
  }
  ~Surgery() { H5Fclose(file); }
  void remove(std::string const& object) { REQUIRE(H5Ldelete(file, object.c_str(), H5P_DEFAULT) >= 0); }
  void set_int(std::string const& group, std::string const& name, std::int64_t v) {
    hid_t g = H5Oopen(file, group.c_str(), H5P_DEFAULT);
    psgm_test::h5_int_attribute(g, name, v);
    H5Oclose(g);
  }
  void set_string(std::string const& group, std::string const& name, std::string const& v) {
    hid_t g = H5Oopen(file, group.c_str(), H5P_DEFAULT);
    psgm_test::h5_string_attribute(g, name, v);
    H5Oclose(g);
  }
  void set_double(std::string const& group, std::string const& name, double v) {
    hid_t g = H5Oopen(file, group.c_str(), H5P_DEFAULT);
    if (H5Aexists(g, name.c_str()) > 0) H5Adelete(g, name.c_str());
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(g, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Oclose(g);
  }
};

}  // namespace

TEST_CASE("model file: every field survives a round trip, weights bitwise", "[score][model_file]") {
  auto const dir = psgm_test::scratch_dir("model_file_round_trip");
  for (std::string dtype : {"float32", "float64"}) {
    auto m = sample_model(dtype);
    for (auto type : {psgm::model::SdeType::vp, psgm::model::SdeType::ve, psgm::model::SdeType::edm}) {
      m.sde.type = type;
      m.sde.vp.beta_max = 19.5;
      m.sde.ve.sigma_max = 80;
      m.sde.edm.p_mean = -1.1;
      std::string const path = (dir / ("m_" + dtype + "_" + psgm::model::to_string(type) + ".h5")).string();
      psgm::io::write_model(path, m);
      auto const back = psgm::io::read_model(path);
      require_equal(m, back);
      REQUIRE(back.sde.vp.beta_max == (type == psgm::model::SdeType::vp ? 19.5 : 20.0));
      REQUIRE(back.sde.ve.sigma_max == (type == psgm::model::SdeType::ve ? 80.0 : 50.0));
      REQUIRE(back.sde.edm.p_mean == (type == psgm::model::SdeType::edm ? -1.1 : -1.2));
      REQUIRE_FALSE(psgm::io::has_checkpoint(path));
    }
  }
}

TEST_CASE("model file: float32 files hold the float32 rounding of the weights", "[score][model_file]") {
  auto const dir = psgm_test::scratch_dir("model_file_float32");
  auto m = sample_model("float64");  // values not representable in float32
  m.weights.dtype = "float32";
  psgm::io::write_model((dir / "m.h5").string(), m);
  auto const back = psgm::io::read_model((dir / "m.h5").string());
  for (std::size_t i = 0; i < m.weights.values.size(); ++i)
    for (std::size_t k = 0; k < m.weights.values[i].size(); ++k)
      REQUIRE(back.weights.values[i][k] == double(float(m.weights.values[i][k])));
}

TEST_CASE("model file: checkpoints and extra series round trip; writes are atomic", "[score][model_file]") {
  auto const dir = psgm_test::scratch_dir("model_file_checkpoint");
  std::string const path = (dir / "m.checkpoint.h5").string();
  auto const m = sample_model();
  auto const a = m.architecture;
  psgm::io::ModelCheckpoint c;
  c.weights = psgm_test::random_parameters(a, 5, "float32");
  c.ema_weights = psgm_test::random_parameters(a, 6, "float32");
  c.adam_m = psgm_test::random_parameters(a, 7, "float32");
  c.adam_v = psgm_test::random_parameters(a, 8, "float32", 0.01);
  c.step = 12;
  c.epoch = 3;
  c.batch_in_epoch = 0;
  c.steps_per_epoch = 4;
  c.total_steps = 40;
  c.seed = 42;
  c.best_step = 8;
  c.best_validation_loss = 0.4375;
  psgm::io::TrainingSeries const series{{"gradient_norm", {3.0, 2.5, 2.0}}, {"validation_loss_raw", {1.0, 0.9}}};
  psgm::io::write_model(path, m, &c, series);
  REQUIRE(psgm::io::has_checkpoint(path));
  auto const back = psgm::io::read_checkpoint(path, a);
  REQUIRE(back.step == 12);
  REQUIRE(back.epoch == 3);
  REQUIRE(back.steps_per_epoch == 4);
  REQUIRE(back.total_steps == 40);
  REQUIRE(back.seed == 42);
  REQUIRE(back.best_step == 8);
  REQUIRE(back.best_validation_loss == 0.4375);
  REQUIRE(back.weights.values == c.weights.values);
  REQUIRE(back.ema_weights.values == c.ema_weights.values);
  REQUIRE(back.adam_m.values == c.adam_m.values);
  REQUIRE(back.adam_v.values == c.adam_v.values);
  REQUIRE(psgm::io::read_training_series(path) == series);
  require_equal(m, psgm::io::read_model(path));

  // Overwriting replaces the file in one rename: no temporary file remains.
  psgm::io::write_model(path, m);
  REQUIRE_FALSE(psgm::io::has_checkpoint(path));
  for (auto const& e : fs::directory_iterator(dir)) REQUIRE(e.path().filename().string().find(".tmp") == std::string::npos);

  // A model without a checkpoint cannot be resumed, and says why.
  auto const msg = error_message<psgm::IoError>([&] { psgm::io::read_checkpoint(path, a); });
  REQUIRE_THAT(msg, Catch::Contains("no /checkpoint group"));
}

TEST_CASE("model file: a failed write leaves the previous file intact", "[score][model_file]") {
  auto const dir = psgm_test::scratch_dir("model_file_failed_write");
  std::string const path = (dir / "m.h5").string();
  auto m = sample_model();
  psgm::io::write_model(path, m);
  auto bad = m;
  bad.weights.values[3].pop_back();  // inconsistent: refused before anything is written
  REQUIRE_THROWS_AS(psgm::io::write_model(path, bad), psgm::InvalidArgument);
  require_equal(m, psgm::io::read_model(path));
  REQUIRE_THROWS_AS(psgm::io::write_model((dir / "no_such_dir" / "m.h5").string(), m), psgm::IoError);
}

TEST_CASE("model file: unusable files are refused with a message naming the problem", "[score][model_file]") {
  auto const dir = psgm_test::scratch_dir("model_file_refusals");
  auto const m = sample_model();
  auto fresh = [&](std::string const& name) {
    std::string const p = (dir / name).string();
    psgm::io::write_model(p, m);
    return p;
  };

  SECTION("missing file, not HDF5, truncated") {
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model((dir / "none.h5").string()); }),
                 Catch::Contains("does not exist"));
    std::string const text = (dir / "text.h5").string();
    std::ofstream(text) << "not a model\n";
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model(text); }),
                 Catch::Contains("not an HDF5 file"));
    std::string const cut = fresh("cut.h5");
    fs::resize_file(cut, fs::file_size(cut) / 2);
    auto const msg = error_message<psgm::IoError>([&] { psgm::io::read_model(cut); });
    REQUIRE_THAT(msg, Catch::Contains("cut.h5"));
  }
  SECTION("another format, or a newer version") {
    std::string const p = fresh("format.h5");
    {
      Surgery s(p);
      s.set_string("/", "format", "psgm-dataset");
    }
    auto const msg = error_message<psgm::IoError>([&] { psgm::io::read_model(p); });
    REQUIRE_THAT(msg, Catch::Contains("not a psgm model file") && Catch::Contains("psgm-dataset") &&
                          Catch::Contains("--data"));
    std::string const q = fresh("version.h5");
    {
      Surgery s(q);
      s.set_int("/", "format_version", 7);
    }
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model(q); }),
                 Catch::Contains("format_version 7"));
  }
  SECTION("a missing weight is named") {
    std::string const p = fresh("missing.h5");
    {
      Surgery s(p);
      s.remove("/weights/blocks.1.conv2.weight");
    }
    auto const msg = error_message<psgm::IoError>([&] { psgm::io::read_model(p); });
    REQUIRE_THAT(msg, Catch::Contains("missing weight '/weights/blocks.1.conv2.weight'") &&
                          Catch::Contains("[8, 8, 3]"));
  }
  SECTION("a weight of the wrong shape: name, shape found, shape expected") {
    std::string const p = fresh("shape.h5");
    {
      Surgery s(p);
      s.remove("/weights/blocks.0.conv1.weight");
      std::vector<float> w(8 * 8 * 5, 0.f);
      psgm_test::h5_write(s.file, "/weights/blocks.0.conv1.weight", {8, 8, 5}, H5T_IEEE_F32LE, w.data());
    }
    auto const msg = error_message<psgm::IoError>([&] { psgm::io::read_model(p); });
    REQUIRE_THAT(msg, Catch::Contains("'/weights/blocks.0.conv1.weight' has shape [8, 8, 5]") &&
                          Catch::Contains("needs [8, 8, 3]"));
  }
  SECTION("an extra weight means another architecture") {
    std::string const p = fresh("extra.h5");
    {
      Surgery s(p);
      std::vector<float> w(8, 0.f);
      psgm_test::h5_write(s.file, "/weights/blocks.2.conv1.bias", {8}, H5T_IEEE_F32LE, w.data());
    }
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model(p); }),
                 Catch::Contains("unexpected weight '/weights/blocks.2.conv1.bias'"));
  }
  SECTION("a changed architecture no longer matches the weights") {
    std::string const p = fresh("channels.h5");
    {
      Surgery s(p);
      s.set_int("/architecture", "channels", 3);
    }
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model(p); }),
                 Catch::Contains("'/weights/lift.weight' has shape [8, 2, 1]") && Catch::Contains("[8, 3, 1]"));
  }
  SECTION("a VP schedule that leaves signal at t = 1 is refused, with the reason") {
    std::string const p = fresh("beta.h5");
    {
      Surgery s(p);
      s.set_double("/sde", "beta_max", 3.0);
    }
    auto const msg = error_message<psgm::InvalidArgument>([&] { psgm::io::read_model(p); });
    REQUIRE_THAT(msg, Catch::Contains("beta.h5") && Catch::Contains("m(1) = 0.47") && Catch::Contains("biased"));
  }
  SECTION("a missing attribute is named") {
    std::string const p = fresh("attr.h5");
    {
      Surgery s(p);
      hid_t g = H5Oopen(s.file, "/architecture", H5P_DEFAULT);
      H5Adelete(g, "width");
      H5Oclose(g);
    }
    REQUIRE_THAT(error_message<psgm::IoError>([&] { psgm::io::read_model(p); }), Catch::Contains("width"));
  }
}

TEST_CASE("model file: a model is refused for data of another N or channel count", "[score][model_file]") {
  auto const m = sample_model();  // N = 16, 2 channels
  REQUIRE_NOTHROW(psgm::io::check_model_matches_data(m, 2, 16, "data set 'd.h5'"));
  auto const n_msg =
      error_message<psgm::InvalidArgument>([&] { psgm::io::check_model_matches_data(m, 2, 100, "data set 'd.h5'"); });
  REQUIRE_THAT(n_msg, Catch::Contains("data set 'd.h5' has N = 100") && Catch::Contains("trained on N = 16"));
  auto const c_msg =
      error_message<psgm::InvalidArgument>([&] { psgm::io::check_model_matches_data(m, 3, 16, "data set 'd.h5'"); });
  REQUIRE_THAT(c_msg, Catch::Contains("3 channels") && Catch::Contains("built for 2"));
}
