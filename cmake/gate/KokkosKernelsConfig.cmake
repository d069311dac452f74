# A stand-in KokkosKernels package for psgm's compile gate: a header-only
# KokkosKernels include tree (scripts/fetch-kokkos5-headers: KokkosKernels
# 4.5.01 headers from Debian sid, configured without ETI and without TPLs).
# See KokkosConfig.cmake in this directory.

set(PSGM_GATE_KERNELS_INCLUDE_DIR "" CACHE PATH "KokkosKernels include tree for the compile gate")
if(NOT EXISTS "${PSGM_GATE_KERNELS_INCLUDE_DIR}/KokkosKernels_config.h")
  message(FATAL_ERROR "psgm gate: PSGM_GATE_KERNELS_INCLUDE_DIR='${PSGM_GATE_KERNELS_INCLUDE_DIR}' "
                      "holds no KokkosKernels_config.h (see scripts/fetch-kokkos5-headers)")
endif()
file(STRINGS "${PSGM_GATE_KERNELS_INCLUDE_DIR}/KokkosKernels_config.h" _psgm_gate_kk_version
     REGEX "^#define KOKKOSKERNELS_VERSION [0-9]+$")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" _psgm_gate_kk_version "${_psgm_gate_kk_version}")
math(EXPR _major "${_psgm_gate_kk_version} / 10000")
math(EXPR _minor "${_psgm_gate_kk_version} / 100 % 100")
math(EXPR _patch "${_psgm_gate_kk_version} % 100")
set(KokkosKernels_VERSION "${_major}.${_minor}.${_patch}")
set(KokkosKernels_FOUND TRUE)

if(NOT TARGET Kokkos::kokkoskernels)
  add_library(Kokkos::kokkoskernels INTERFACE IMPORTED)
  set_target_properties(Kokkos::kokkoskernels PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${PSGM_GATE_KERNELS_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Kokkos::kokkos)
endif()
message(STATUS "psgm gate: KokkosKernels ${KokkosKernels_VERSION} headers (header-only, no ETI) "
               "from ${PSGM_GATE_KERNELS_INCLUDE_DIR}")
