// Where draw_report_figures() looks for python/psgm/report_figures.py
// after $PSGM_PYTHON_DIR: the source tree (build-tree use) and the installed
// copy. Their absolute paths are compiled into python_dirs.cpp alone, so
// that the much larger evaluation.cpp keys ccache the same in every clone.
#pragma once

#include <array>

namespace psgm::stats::Impl {

std::array<char const*, 2> built_in_python_dirs();

}  // namespace psgm::stats::Impl
