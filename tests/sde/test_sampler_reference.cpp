// Every sampler against samples written before the samplers became policy
// types (issue 13): same seed, same fields, bit for bit, and the same report.
//
// tests/sde/data/sampler_reference.txt holds, per case, the report and the
// fields of 3 samples as C99 hex floats (exact). It was written by this test
// with PSGM_WRITE_SAMPLER_REFERENCE=<file> at the commit that added it, before
// any sampler code changed; rewrite it only for an intended change of results.
//
// Host spaces only: the samplers' per-sample loops make a host result
// independent of the thread count (test_sampler_basics), while a device
// compiler may contract a * b + c into an FMA and round differently.
#include "SdeTestProblems.hpp"

#include <psgm/sde/AnalyticScore.hpp>
#include <psgm/sde/Sampler.hpp>
#include <psgm/sde/impl/Sampler_Impl.hpp>

#include <psgm_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using psgm::sde::SamplerConfig;
using psgm::sde::SamplerKind;
using psgm::model::SdeConfig;
using psgm::model::SdeType;
using psgm::sde::TimeGrid;

struct Case {
  std::string name;
  SamplerConfig config;
};

/// Every sampler with few steps, and the variants whose code paths differ
/// (churn, several corrector steps, another grid, a fixed initial step).
std::vector<Case> cases() {
  std::vector<Case> out;
  auto with = [](SamplerKind kind, int steps) {
    auto c = SamplerConfig::defaults(kind);
    c.steps = steps;
    return c;
  };
  out.push_back({"euler_maruyama", with(SamplerKind::euler_maruyama, 6)});
  out.push_back({"stochastic_heun", with(SamplerKind::stochastic_heun, 5)});
  auto heun_karras = with(SamplerKind::stochastic_heun, 4);
  heun_karras.grid = TimeGrid::karras;
  out.push_back({"stochastic_heun_karras", heun_karras});
  out.push_back({"predictor_corrector", with(SamplerKind::predictor_corrector, 5)});
  auto pc2 = with(SamplerKind::predictor_corrector, 4);
  pc2.corrector_steps = 2;
  pc2.snr = 0.05;
  out.push_back({"predictor_corrector_2", pc2});
  out.push_back({"ode_heun", with(SamplerKind::ode_heun, 5)});
  auto heun_uniform = with(SamplerKind::ode_heun, 5);
  heun_uniform.grid = TimeGrid::uniform;
  heun_uniform.t_start = 0.9;
  out.push_back({"ode_heun_uniform", heun_uniform});
  auto dopri = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  dopri.rtol = dopri.atol = 1e-4;
  out.push_back({"ode_dopri5", dopri});
  auto dopri_fixed = SamplerConfig::defaults(SamplerKind::ode_dopri5);
  dopri_fixed.rtol = 1e-3;
  dopri_fixed.atol = 1e-3;
  dopri_fixed.initial_step = 0.05;
  dopri_fixed.max_iterations = 6;  // some samples do not finish: not_converged
  out.push_back({"ode_dopri5_fixed_start", dopri_fixed});
  out.push_back({"dpm_solver_2m", with(SamplerKind::dpm_solver_2m, 6)});
  out.push_back({"edm_heun", with(SamplerKind::edm_heun, 6)});
  auto churn = with(SamplerKind::edm_heun, 7);
  churn.s_churn = 10;
  churn.s_tmin = 0.05;
  churn.s_tmax = 50;
  churn.s_noise = 1.003;
  out.push_back({"edm_heun_churn", churn});
  return out;
}

using psgm_test::sde_of;

/// One line: "<case> <sde> <scalar> nfe steps accepted rejected mean_nfe max_nfe failed | statuses | fields".
template <class ExecSpace, class Scalar>
std::string run_case(Case const& c, SdeType type) {
  ExecSpace space;
  psgm_test::GaussianProblem const p;
  using Model = psgm::sde::AnalyticScore<ExecSpace, Scalar>;
  Model model(space, p.spec(), sde_of(type), psgm_test::test_normalization());
  int const batch = 3;
  psgm::sde::Sampler<Model> sampler(space, model, c.config, 4);
  Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace> cond("psgm::test::cond", batch, 3);
  for (int i = 0; i < batch; ++i) {
    cond(i, 0) = i % 2 ? 1e-5 : 4e-6;
    cond(i, 1) = 0.05 * (i - 1);
    cond(i, 2) = 25 + 5 * i;
  }
  typename decltype(sampler)::field_view fields("psgm::test::fields", batch, 2, psgm_test::num_points);
  typename decltype(sampler)::status_view status("psgm::test::status", batch);
  auto const r = sampler.sample(space, cond, 2024, 5, fields, status);
  auto const h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, fields);
  auto const hs = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace{}, status);
  std::ostringstream os;
  char buf[64];
  os << c.name << ' ' << psgm::model::to_string(type) << ' ' << (sizeof(Scalar) == 4 ? "float" : "double") << ' '
     << r.nfe << ' ' << r.steps << ' ' << r.accepted_steps << ' ' << r.rejected_steps << ' ';
  std::snprintf(buf, sizeof buf, "%a", r.mean_nfe_per_sample);
  os << buf << ' ' << r.max_nfe_per_sample << ' ' << r.num_failed << " |";
  for (int b = 0; b < batch; ++b) os << ' ' << int(hs(b));
  os << " |";
  for (std::size_t i = 0; i < h.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%a", double(h.data()[i]));
    os << ' ' << buf;
  }
  return os.str();
}

template <class ExecSpace>
std::vector<std::string> all_lines() {
  std::vector<std::string> out;
  for (auto const& c : cases())
    for (auto type : {SdeType::vp, SdeType::ve, SdeType::edm}) {
      out.push_back(run_case<ExecSpace, double>(c, type));
      if (type == SdeType::vp) out.push_back(run_case<ExecSpace, float>(c, type));
    }
  return out;
}

}  // namespace

PSGM_BACKEND_TEST_CASE("every sampler reproduces its reference samples bit for bit", "[sde][sampler][reference]") {
  using ExecSpace = TestType;
  if constexpr (!Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename ExecSpace::memory_space>::accessible) {
    SUCCEED("device space: the reference is for host spaces (see the file comment)");
  } else {
    auto const lines = all_lines<ExecSpace>();
    if (char const* path = std::getenv("PSGM_WRITE_SAMPLER_REFERENCE")) {
      std::ofstream f(path);
      f << "# psgm sampler reference samples (tests/sde/test_sampler_reference.cpp); one case per line\n";
      for (auto const& l : lines) f << l << '\n';
      WARN("wrote " << lines.size() << " reference lines to " << path);
      return;
    }
    std::ifstream f(psgm_test::source_path("tests/sde/data/sampler_reference.txt"));
    REQUIRE(f.good());
    std::map<std::string, std::string> reference;
    std::string line;
    while (std::getline(f, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream is(line);
      std::string a, b, c;
      is >> a >> b >> c;
      reference[a + ' ' + b + ' ' + c] = line;
    }
    CHECK(reference.size() == lines.size());
    for (auto const& l : lines) {
      std::istringstream is(l);
      std::string a, b, c;
      is >> a >> b >> c;
      auto const it = reference.find(a + ' ' + b + ' ' + c);
      INFO("case " << a << ' ' << b << ' ' << c);
      REQUIRE(it != reference.end());
      // Hex floats are exact, so equal text is equal bits.
      CHECK(l == it->second);
    }
  }
}
