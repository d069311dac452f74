# A stand-in Kokkos package for psgm's modern-Kokkos compile gate
# (scripts/test --stage gate). It makes an include tree of Kokkos headers
# (scripts/fetch-kokkos5-headers: Debian sid's Kokkos 5.2 with a generated
# configuration per backend) look like an installed Kokkos to psgm's CMake,
# so the whole project configures unchanged and every translation unit can
# be compiled against it. Only compiling is possible: there is no library to
# link (Debian's libkokkos 5.2 needs a newer glibc than Debian 12 has).
#
#   cmake -DKokkos_DIR=<psgm>/cmake/gate -DKokkosKernels_DIR=<psgm>/cmake/gate
#         -DPSGM_GATE_KOKKOS_INCLUDE_DIR=<prefix>/cuda/include
#         -DPSGM_GATE_KERNELS_INCLUDE_DIR=<prefix>/kernels/include ...
#
# Kokkos_VERSION and Kokkos_DEVICES are read from the tree's
# KokkosCore_config.h, the way a real KokkosConfig.cmake reports them.

set(PSGM_GATE_KOKKOS_INCLUDE_DIR "" CACHE PATH "Kokkos include tree for the compile gate")
if(NOT EXISTS "${PSGM_GATE_KOKKOS_INCLUDE_DIR}/Kokkos_Core.hpp"
   OR NOT EXISTS "${PSGM_GATE_KOKKOS_INCLUDE_DIR}/KokkosCore_config.h")
  message(FATAL_ERROR "psgm gate: PSGM_GATE_KOKKOS_INCLUDE_DIR='${PSGM_GATE_KOKKOS_INCLUDE_DIR}' "
                      "holds no Kokkos_Core.hpp / KokkosCore_config.h (see scripts/fetch-kokkos5-headers)")
endif()

file(STRINGS "${PSGM_GATE_KOKKOS_INCLUDE_DIR}/KokkosCore_config.h" _psgm_gate_config
     REGEX "^#define KOKKOS_(VERSION_(MAJOR|MINOR|PATCH) [0-9]+|ENABLE_(SERIAL|OPENMP|THREADS|CUDA|HIP|SYCL|HPX))$")
set(Kokkos_DEVICES)
foreach(_line IN LISTS _psgm_gate_config)
  if(_line MATCHES "^#define KOKKOS_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$")
    set(_psgm_gate_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  elseif(_line MATCHES "^#define KOKKOS_ENABLE_([A-Z]+)$")
    list(APPEND Kokkos_DEVICES ${CMAKE_MATCH_1})
  endif()
endforeach()
if(NOT DEFINED _psgm_gate_MAJOR OR NOT Kokkos_DEVICES)
  message(FATAL_ERROR "psgm gate: could not read the version and backends from "
                      "${PSGM_GATE_KOKKOS_INCLUDE_DIR}/KokkosCore_config.h")
endif()
set(Kokkos_VERSION "${_psgm_gate_MAJOR}.${_psgm_gate_MINOR}.${_psgm_gate_PATCH}")
set(Kokkos_FOUND TRUE)

if(NOT TARGET Kokkos::kokkos)
  add_library(Kokkos::kokkos INTERFACE IMPORTED)
  # Imported include directories are system directories: warnings inside
  # Kokkos do not drown psgm's own.
  set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${PSGM_GATE_KOKKOS_INCLUDE_DIR}")
  if("OPENMP" IN_LIST Kokkos_DEVICES)
    set_property(TARGET Kokkos::kokkos PROPERTY INTERFACE_COMPILE_OPTIONS "$<$<COMPILE_LANGUAGE:CXX>:-fopenmp>")
  endif()
endif()
message(STATUS "psgm gate: Kokkos ${Kokkos_VERSION} headers, backends ${Kokkos_DEVICES}, "
               "from ${PSGM_GATE_KOKKOS_INCLUDE_DIR} (compile only)")
