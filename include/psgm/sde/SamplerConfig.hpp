// The sampler name table: where a run-time name picks a sampler method
// (docs/sampling.md, "adding a sampler"). Each method is a policy type in
// sde/samplers/ with its own configuration, workspace, kernels and `run`;
// psgm::sde::Sampler<Model, Method> composes one with a score model at compile
// time. The command line, configuration files and tests choose by name
// instead: SamplerConfig holds every method's parameters and the kind that
// says which are read, and Sampler<Model> (Method = AnySampler) runs the
// method of that kind.
#pragma once

#include <psgm/sde/samplers/DpmSolver2M.hpp>
#include <psgm/sde/samplers/EdmHeun.hpp>
#include <psgm/sde/samplers/EulerMaruyama.hpp>
#include <psgm/sde/samplers/OdeDopri5.hpp>
#include <psgm/sde/samplers/OdeHeun.hpp>
#include <psgm/sde/samplers/PredictorCorrector.hpp>
#include <psgm/sde/samplers/SamplerParameters.hpp>
#include <psgm/sde/samplers/StochasticHeun.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

/// The name table: one line per sampler method, its name (the enumerator of
/// SamplerKind, checked against Method::name) and its policy type.
#define PSGM_SDE_SAMPLER_METHODS(METHOD)          \
  METHOD(euler_maruyama, EulerMaruyama)           \
  METHOD(stochastic_heun, StochasticHeun)         \
  METHOD(predictor_corrector, PredictorCorrector) \
  METHOD(ode_heun, OdeHeun)                       \
  METHOD(ode_dopri5, OdeDopri5)                   \
  METHOD(dpm_solver_2m, DpmSolver2M)              \
  METHOD(edm_heun, EdmHeun)

namespace psgm {
namespace sde {

/// The samplers of docs/sampling.md §2-§4, by name.
enum class SamplerKind {
#define PSGM_SDE_SAMPLER_KIND(kind, Method) kind,
  PSGM_SDE_SAMPLER_METHODS(PSGM_SDE_SAMPLER_KIND)
#undef PSGM_SDE_SAMPLER_KIND
};

namespace Impl {

/// The policy types of the name table in the order of SamplerKind (the
/// leading void takes the table's first comma).
template <class Void, class... Methods>
struct MethodList {
  static constexpr std::size_t size = sizeof...(Methods);
  template <std::size_t I>
  using method = std::tuple_element_t<I, std::tuple<Methods...>>;
};

constexpr bool same_name(char const* a, char const* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

}  // namespace Impl

#define PSGM_SDE_SAMPLER_TYPE(kind, Method) , Method
using SamplerMethods = Impl::MethodList<void PSGM_SDE_SAMPLER_METHODS(PSGM_SDE_SAMPLER_TYPE)>;
#undef PSGM_SDE_SAMPLER_TYPE
#define PSGM_SDE_SAMPLER_NAME_CHECK(kind, Method)          \
  static_assert(Impl::same_name(Method::name, #kind),      \
                "the name table's enumerator " #kind " is not the name of " #Method);
PSGM_SDE_SAMPLER_METHODS(PSGM_SDE_SAMPLER_NAME_CHECK)
#undef PSGM_SDE_SAMPLER_NAME_CHECK

namespace Impl {

template <std::size_t I, class List, class F>
decltype(auto) with_method_from(std::size_t index, F&& f) {
  using M = typename List::template method<I>;
  if constexpr (I + 1 < List::size) {
    if (index != I) return with_method_from<I + 1, List>(index, std::forward<F>(f));
  }
  return f(M{});
}

/// f(Method{}) for the method of `kind`: the one run-time dispatch on a
/// sampler kind (every f must return the same type).
template <class F>
decltype(auto) with_method(SamplerKind kind, F&& f) {
  return with_method_from<0, SamplerMethods>(static_cast<std::size_t>(kind), std::forward<F>(f));
}

template <class Void, class... Methods, class F>
void for_each_method_in(MethodList<Void, Methods...>, F&& f) {
  (f(Methods{}), ...);
}
/// f(Method{}) for every method, in the table's order.
template <class F>
void for_each_method(F&& f) {
  for_each_method_in(SamplerMethods{}, std::forward<F>(f));
}

/// Every method's configuration as a base of one struct.
template <class List>
struct ConfigOfEvery;
template <class Void, class... Methods>
struct ConfigOfEvery<MethodList<Void, Methods...>> : Methods::Config... {};

/// A method's workspace, tagged with its method.
template <class Method, class Model>
struct BoundWorkspace {
  using method = Method;
  typename Method::template Workspace<Model> workspace;
  template <class... Args>
  explicit BoundWorkspace(Args const&... args) : workspace(args...) {}
};
template <class List, class Model>
struct WorkspaceVariant;
template <class Void, class... Methods, class Model>
struct WorkspaceVariant<MethodList<Void, Methods...>, Model> {
  using type = std::variant<BoundWorkspace<Methods, Model>...>;
};

}  // namespace Impl

char const* to_string(SamplerKind kind);
/// Accepts the names of to_string() and each method's aliases ("reference"
/// = stochastic_heun, "em", "pc", "heun", "dopri5", "dpmpp_2m", "edm"); else
/// InvalidArgument listing them.
SamplerKind sampler_kind_from_string(std::string const& name);
/// Every sampler name to_string() produces.
std::vector<std::string> sampler_names();
/// Every parameter some method takes (the keys a [sampler] table may hold).
std::vector<std::string> sampler_parameter_names();

/// A sampler chosen at run time: the kind, and every method's parameters, of
/// which only those of `kind` are read (SamplerConfig::defaults(kind), then
/// set what differs). Shared parameters (t_start, t_end, steps, grid, rho)
/// exist once.
struct SamplerConfig : Impl::ConfigOfEvery<SamplerMethods> {
  SamplerKind kind = SamplerKind::stochastic_heun;

  /// The reference stochastic Heun's defaults.
  SamplerConfig() { reset(SamplerKind::stochastic_heun); }
  /// The defaults of one method: reference stochastic Heun (1000 steps,
  /// quadratic grid); Euler-Maruyama and predictor-corrector likewise (1000,
  /// quadratic); ODE Heun 100 steps quadratic; DoPri5 rtol = atol = 1e-5;
  /// DPM-Solver++(2M) 20 steps log-SNR; EDM Heun 18 levels, rho = 7.
  static SamplerConfig defaults(SamplerKind kind) {
    SamplerConfig c;
    c.reset(kind);
    return c;
  }
  /// The method's own configuration (its parameters as set here).
  template <class Method>
  typename Method::Config const& of() const {
    return *this;
  }

  /// Throws InvalidArgument naming the parameter, its value and what is
  /// accepted, including combinations the process does not support.
  void validate(DiffusionProcess const& process) const;
  /// Whether the sampler draws noise after the prior (reproducibility needs a seed).
  bool is_stochastic() const;
  /// Network evaluations per batch for the fixed-step samplers; -1 for ode_dopri5.
  std::int64_t planned_nfe() const;
  /// One line, e.g. "stochastic_heun steps=1000 grid=quadratic".
  std::string describe() const;
  /// The parameters of this kind, as a TOML table body ("name = ...\nsteps =
  /// ..."), for provenance in output files.
  std::string to_toml() const;

  /// f(key, value&) for each parameter of this kind, in order; value is an
  /// int, double or TimeGrid.
  template <class F>
  void for_each_parameter(F&& f) {
    Impl::with_method(kind, [&](auto method) {
      using Config = typename decltype(method)::Config;
      static_cast<Config&>(*this).for_each_parameter(f);
    });
  }
  /// The parameters this kind takes, in order.
  std::vector<std::string> parameter_names() const;
  bool accepts(std::string const& key) const;
  /// Throws InvalidArgument naming the method and the parameters it takes
  /// unless it takes `key` (a key of another method, or none).
  void require_accepts(std::string const& key) const;

 private:
  /// kind and its method's parameters to their defaults.
  void reset(SamplerKind k) {
    kind = k;
    Impl::with_method(k, [&](auto method) {
      using Config = typename decltype(method)::Config;
      Config const defaults;
      static_cast<Config&>(*this) = defaults;
    });
  }
};

/// The method of SamplerConfig::kind, chosen at run time: a policy like the
/// methods in sde/samplers/, whose workspace and run are those of the chosen
/// method (Sampler<Model> uses it; each method's run is compiled once per model).
struct AnySampler {
  using Config = SamplerConfig;

  static void validate(Config const& c, DiffusionProcess const& process) { c.validate(process); }
  static std::vector<double> time_grid(Config const& c, DiffusionProcess const& process) {
    return Impl::with_method(c.kind, [&](auto method) { return decltype(method)::time_grid(c, process); });
  }

  template <class Model>
  struct Workspace {
    using variant_type = typename Impl::WorkspaceVariant<SamplerMethods, Model>::type;
    variant_type method;
    Workspace(Integration<Model> const& in, typename Model::execution_space const& space, Config const& c)
        : method(Impl::with_method(c.kind, [&](auto m) {
            using Bound = Impl::BoundWorkspace<decltype(m), Model>;
            return variant_type(std::in_place_type<Bound>, in, space, c);
          })) {}
  };

  template <class Model>
  static void run(typename Model::execution_space const& space, Integration<Model>& in, Workspace<Model> const& w,
                  Config const& c, SamplerCall const& call, typename Integration<Model>::field_view x,
                  SampleReport& report) {
    std::visit(
        [&](auto const& bound) {
          using Method = typename std::decay_t<decltype(bound)>::method;
          Method::run(space, in, bound.workspace, c.of<Method>(), call, x, report);
        },
        w.method);
  }
};

}  // namespace sde
}  // namespace psgm
