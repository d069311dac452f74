// Workspace helper shared by the stats kernels.
#pragma once

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <string>

namespace psgm::stats {
namespace Impl {

/// (Re)allocates `v` on `space` unless it already has exactly these extents:
/// workspaces are sized once and reused by later calls of the same size.
template <class ExecSpace, class View, class... Extents>
void ensure_extents(View& v, ExecSpace const& space, char const* label, Extents... extents) {
  std::size_t const want[] = {static_cast<std::size_t>(extents)...};
  bool same = v.data() != nullptr;
  for (std::size_t rank = 0; rank < sizeof...(Extents); ++rank) same = same && v.extent(rank) == want[rank];
  if (!same) v = View(Kokkos::view_alloc(space, Kokkos::WithoutInitializing, std::string(label)), extents...);
}

}  // namespace Impl

}  // namespace psgm::stats
