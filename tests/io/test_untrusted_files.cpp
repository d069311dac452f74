// Files psgm reads are untrusted input (issue 15, docs/reliability.md): a
// checkpoint's schedule position and stored numbers, the physics of
// ensembles compared with each other, and what file_format /
// find_partial_files report for files psgm did and did not write.
#include "IoTestUtils.hpp"

#include <psgm/io/DatasetAttributes.hpp>
#include <psgm/io/FileFormat.hpp>
#include <psgm/io/ModelFile.hpp>
#include <psgm/io/PorosityFile.hpp>

#include <psgm_test.hpp>

#include <cmath>
#include <fstream>
#include <limits>

using psgm::InvalidArgument;
using psgm::IoError;
using psgm_test::error_message;
using Catch::Matchers::Contains;

namespace {
psgm::io::ModelCheckpoint valid_checkpoint() {
  psgm::io::ModelCheckpoint c;
  c.steps_per_epoch = 4;
  c.total_steps = 12;
  c.step = 6;
  c.epoch = 1;
  c.batch_in_epoch = 2;
  c.best_step = 4;
  c.best_validation_loss = 0.5;
  for (auto* set : {&c.weights, &c.adam_m, &c.adam_v}) {
    set->shapes = {{"w", {2}}};
    set->values = {{0.1, 0.2}};
  }
  return c;
}
}  // namespace

TEST_CASE("a checkpoint's schedule position and numbers are checked", "[io][checkpoint]") {
  CHECK_NOTHROW(psgm::io::check_checkpoint(valid_checkpoint(), "ck.h5"));
  auto refused = [](auto edit, char const* phrase) {
    auto c = valid_checkpoint();
    edit(c);
    CHECK_THAT(error_message<IoError>([&] { psgm::io::check_checkpoint(c, "ck.h5"); }),
               Contains(phrase) && Contains("ck.h5"));
  };
  refused([](auto& c) { c.batch_in_epoch = -2; }, "batch_in_epoch = -2 is out of range");
  refused([](auto& c) { c.batch_in_epoch = 4; }, "batch_in_epoch < steps_per_epoch = 4");
  refused([](auto& c) { c.step = 100000; }, "step = 100000 is out of range");
  refused([](auto& c) { c.step = -1; }, "step = -1");
  refused([](auto& c) { c.steps_per_epoch = 0; }, "steps_per_epoch = 0");
  refused([](auto& c) { c.epoch = 0; }, "disagree with step = 6");
  refused([](auto& c) { c.best_step = 7; }, "best_step = 7");
  refused([](auto& c) { c.best_validation_loss = std::nan(""); }, "best_validation_loss");
  refused([](auto& c) { c.adam_m.values[0][1] = std::nan(""); }, "/checkpoint/adam_m 'w' holds nan at flat index 1");
  refused([](auto& c) { c.adam_v.values[0][0] = -1.0; }, "second moments are >= 0");
  refused([](auto& c) { c.weights.values[0][0] = std::numeric_limits<double>::infinity(); }, "/checkpoint/weights");
}

TEST_CASE("ensembles compared with each other must share their physics", "[io][physics]") {
  psgm::pde::ElectrodeParameters p;
  psgm::gp::PorosityModel g;
  auto const a = psgm::io::physics_attributes(p, g);
  CHECK_NOTHROW(psgm::io::require_same_physics(a, "data", a, "floor", true));
  auto q = p;
  q.k_rn = 0.2;
  auto const b = psgm::io::physics_attributes(q, g);
  // The parameter is named, not only the i0 it implies.
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::io::require_same_physics(a, "data", b, "floor", true); }),
             Contains("the physics differ") && Contains("k_rn") && Contains("floor"));
  psgm::io::AttributeMap partial;
  partial.set("L", p.L);
  partial.set("N", p.N);
  CHECK_NOTHROW(psgm::io::require_same_physics(a, "data", partial, "samples", false));
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::io::require_same_physics(a, "data", partial, "floor", true); }),
             Contains("floor has no attribute"));
  partial.set("N", p.N + 1);
  CHECK_THAT(error_message<InvalidArgument>([&] { psgm::io::require_same_physics(a, "data", partial, "samples", false); }),
             Contains("N = "));
}

TEST_CASE("file_format tells psgm's files from others; leftover temporary files are found", "[io][format]") {
  auto const dir = psgm_test::scratch_dir("io_untrusted_format");
  std::string const text = (dir / "notes.h5").string();
  { std::ofstream(text) << "not HDF5"; }
  CHECK(psgm::io::file_format(text).empty());
  CHECK(psgm::io::file_format((dir / "missing.h5").string()).empty());
  CHECK(psgm::io::file_format(dir.string()).empty());
  for (char const* name : {".a.h5.partial-12-0", ".m.h5.tmp-3-1", "keep.h5", ".hidden"})
    std::ofstream((dir / name).string()) << "x";
  auto const found = psgm::io::find_partial_files(dir.string());
  REQUIRE(found.size() == 2);
  CHECK_THAT(found[0], Contains(".a.h5.partial-12-0"));
  CHECK_THAT(found[1], Contains(".m.h5.tmp-3-1"));
}
