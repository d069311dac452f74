# Finds Kokkos and KokkosKernels and makes sure the targets psgm links to,
# Kokkos::kokkos and Kokkos::kokkoskernels, exist and are usable.
#
# Three kinds of installation are supported:
#  * a standalone (non-TriBITS) Kokkos/KokkosKernels, e.g. the 3.4.01 build of
#    scripts/install-deps or any newer release found through CMAKE_PREFIX_PATH
#    or Kokkos_ROOT: their exported targets are used as they are;
#  * Debian's binary libtrilinos-kokkos-dev / libtrilinos-kokkos-kernels-dev
#    (TriBITS, Serial only): its Kokkos::kokkos points at <prefix>/lib/include,
#    which does not exist, and there is no Kokkos::kokkoskernels target; the
#    shim below repairs both from the TriBITS variables.
#
# Also sets PSGM_KOKKOS_DEVICES (e.g. "SERIAL;OPENMP") and
# PSGM_KOKKOS_VERSION for the rest of the build.

# PSGM_KOKKOS_HINTS: directories searched before the system ones (the
# installed psgmConfig.cmake sets it to the Kokkos psgm was built with, so a
# Debian Kokkos in /usr cannot be picked up by mistake).
find_package(Kokkos REQUIRED HINTS ${PSGM_KOKKOS_HINTS})
find_package(KokkosKernels REQUIRED HINTS ${PSGM_KOKKOSKERNELS_HINTS})

# --- Kokkos::kokkos shim (TriBITS)
if(TARGET Kokkos::kokkos)
  get_target_property(_psgm_kk_inc Kokkos::kokkos INTERFACE_INCLUDE_DIRECTORIES)
  set(_psgm_kk_inc_ok TRUE)
  foreach(_dir IN LISTS _psgm_kk_inc)
    if(NOT _dir MATCHES "^\\$<" AND NOT EXISTS "${_dir}/Kokkos_Core.hpp")
      set(_psgm_kk_inc_ok FALSE)
    endif()
  endforeach()
  if(NOT _psgm_kk_inc_ok)
    if(NOT Kokkos_INCLUDE_DIRS)
      message(FATAL_ERROR "psgm: Kokkos::kokkos has include directory '${_psgm_kk_inc}' without Kokkos_Core.hpp, "
                          "and Kokkos_INCLUDE_DIRS is not set to repair it.")
    endif()
    message(STATUS "psgm: repairing Kokkos::kokkos include directory (TriBITS install): ${Kokkos_INCLUDE_DIRS}")
    set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${Kokkos_INCLUDE_DIRS}")
    # TriBITS exports its libraries by bare target name; make them absolute
    # so that consumers need no link directories.
    set(_psgm_kk_libs)
    foreach(_lib IN LISTS Kokkos_LIBRARIES)
      if(TARGET ${_lib})
        list(APPEND _psgm_kk_libs ${_lib})
      else()
        find_library(_psgm_kk_lib_${_lib} NAMES ${_lib} HINTS ${Kokkos_LIBRARY_DIRS} REQUIRED)
        list(APPEND _psgm_kk_libs ${_psgm_kk_lib_${_lib}})
      endif()
    endforeach()
    set_target_properties(Kokkos::kokkos PROPERTIES INTERFACE_LINK_LIBRARIES "${_psgm_kk_libs}")
  endif()
else()
  message(FATAL_ERROR "psgm: find_package(Kokkos) succeeded but defined no Kokkos::kokkos target")
endif()

# --- Kokkos::kokkoskernels shim (TriBITS names it trilinos_kokkoskernels)
if(NOT TARGET Kokkos::kokkoskernels)
  if(TARGET trilinos_kokkoskernels)
    message(STATUS "psgm: defining Kokkos::kokkoskernels from the TriBITS target trilinos_kokkoskernels")
    add_library(Kokkos::kokkoskernels INTERFACE IMPORTED)
    set_target_properties(Kokkos::kokkoskernels PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${KokkosKernels_INCLUDE_DIRS}"
      INTERFACE_LINK_LIBRARIES "trilinos_kokkoskernels;Kokkos::kokkos")
  else()
    message(FATAL_ERROR "psgm: KokkosKernels was found but defines neither Kokkos::kokkoskernels "
                        "nor trilinos_kokkoskernels")
  endif()
endif()

# --- enabled devices and version
set(PSGM_KOKKOS_DEVICES ${Kokkos_DEVICES})
if(NOT PSGM_KOKKOS_DEVICES)
  message(FATAL_ERROR "psgm: the Kokkos installation does not report Kokkos_DEVICES")
endif()
set(PSGM_KOKKOS_VERSION ${Kokkos_VERSION})
message(STATUS "psgm: Kokkos ${Kokkos_VERSION} with devices ${PSGM_KOKKOS_DEVICES}")
