// Definitions of ScoreModel<Native<ExecSpace>, Scalar> (NativeScoreModel.hpp).
// Instantiated for every enabled space in src/score/native_models_eti.cpp.
#pragma once

#include <psgm/core/Error.hpp>
#include <psgm/core/KokkosCompat.hpp>
#include <psgm/score/NativeScoreModel.hpp>
#include <psgm/score/impl/NativeNetwork_Impl.hpp>
#if PSGM_HAS_HDF5
#include <psgm/io/ModelFile.hpp>
#endif

#include <string>

namespace psgm {
namespace score {

template <class ExecSpace, class Scalar>
ScoreModel<Native<ExecSpace>, Scalar>::ScoreModel(ExecSpace const& space, model::ModelDescription description,
                                                  NativeKernels kernels)
    : description_((description.validate(), std::move(description))),
      space_(space),
      net_(space, description_.architecture, kernels) {
  ScopedRegion region("psgm::score::ScoreModel<Native>::ScoreModel");
  net_.set_parameters(space, description_.weights);
  space.fence();  // the packed weights are read by kernels on other instances
}

#if PSGM_HAS_HDF5
template <class ExecSpace, class Scalar>
ScoreModel<Native<ExecSpace>, Scalar> ScoreModel<Native<ExecSpace>, Scalar>::load(std::string const& path,
                                                                                  NativeKernels kernels) {
  return ScoreModel(ExecSpace(), io::read_model(path), kernels);
}
#endif

template <class ExecSpace, class Scalar>
model::ModelDescription ScoreModel<Native<ExecSpace>, Scalar>::to_description() const {
  ScopedRegion region("psgm::score::ScoreModel<Native>::to_description");
  model::ModelDescription d = description_;
  d.weights = net_.to_parameter_set(space_, net_.parameters());
  return d;
}

template <class ExecSpace, class Scalar>
void ScoreModel<Native<ExecSpace>, Scalar>::reserve(int max_batch) {
  ScopedRegion region("psgm::score::ScoreModel<Native>::reserve");
  net_.reserve(max_batch);
}

template <class ExecSpace, class Scalar>
void ScoreModel<Native<ExecSpace>, Scalar>::check(char const* what, const_field_view x, const_time_view t,
                                                  const_cond_view cond, field_view out) const {
  auto const& a = description_.architecture;
  auto const B = x.extent(0);
  require(x.extent(1) == std::size_t(a.channels) && x.extent(2) == std::size_t(a.num_points), what, ": x is (",
          x.extent(0), ", ", x.extent(1), ", ", x.extent(2), "), expected (B, ", a.channels, ", ", a.num_points,
          ") for this model");
  require(out.extent(0) == B && out.extent(1) == x.extent(1) && out.extent(2) == x.extent(2), what, ": out is (",
          out.extent(0), ", ", out.extent(1), ", ", out.extent(2), "), expected the shape of x (", B, ", ",
          x.extent(1), ", ", x.extent(2), ")");
  require(t.extent(0) == B, what, ": t has ", t.extent(0), " entries, expected one per batch item (", B, ")");
  require(cond.extent(0) == B && cond.extent(1) == std::size_t(a.cond_dim), what, ": cond is (", cond.extent(0),
          ", ", cond.extent(1), "), expected (", B, ", ", a.cond_dim, ")");
  require(x.span_is_contiguous() && out.span_is_contiguous() && t.span_is_contiguous() &&
              cond.span_is_contiguous(),
          what, ": x, t, cond and out must be contiguous");
  require(out.data() != x.data() || B == 0, what, ": out must not alias x");
}

template <class ExecSpace, class Scalar>
void ScoreModel<Native<ExecSpace>, Scalar>::network(execution_space const& space, const_field_view x,
                                                    const_time_view t, const_cond_view cond, field_view out) const {
  ScopedRegion region("psgm::score::ScoreModel<Native>::network");
  check("ScoreModel<Native>::network", x, t, cond, out);
  int const B = static_cast<int>(x.extent(0));
  auto const& a = description_.architecture;
  net_.forward(space, B, x.data(), t.data(), nullptr, cond.data(), out.data(),
               Impl::native_index(a.channels) * a.num_points, a.num_points);
}

template <class ExecSpace, class Scalar>
void ScoreModel<Native<ExecSpace>, Scalar>::score(execution_space const& space, const_field_view x,
                                                  const_time_view t, const_cond_view cond, field_view out) const {
  ScopedRegion region("psgm::score::ScoreModel<Native>::score");
  check("ScoreModel<Native>::score", x, t, cond, out);
  int const B = static_cast<int>(x.extent(0));
  auto const& a = description_.architecture;
  if (description_.sde.type != model::SdeType::edm) {
    // VP and VE: the network is the score (spec sgm.md §3).
    net_.forward(space, B, x.data(), t.data(), nullptr, cond.data(), out.data(),
                 Impl::native_index(a.channels) * a.num_points, a.num_points);
  } else {
    net_.edm_score(space, B, description_.sde.edm, x.data(), t.data(), cond.data(), out.data());
  }
}

}  // namespace score
}  // namespace psgm
