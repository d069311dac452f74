# The psgm library target and the helpers the module CMakeLists use.
#
# psgm is a templated library: public headers declare, include/psgm/<module>/impl
# holds the kernels. Device code is explicitly instantiated once per enabled
# Kokkos execution space in src/<module>/*_eti.cpp (the Kokkos Kernels ETI
# pattern), and the declaring headers carry matching `extern template`s, so
# tests, examples and the CLI link the instantiations instead of compiling the
# kernels again in every translation unit.

configure_file(${PROJECT_SOURCE_DIR}/include/psgm/Config.hpp.in
               ${PROJECT_BINARY_DIR}/include/psgm/Config.hpp @ONLY)

add_library(psgm SHARED)
add_library(psgm::psgm ALIAS psgm)
set_target_properties(psgm PROPERTIES
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  EXPORT_NAME psgm
  # Kokkos and LibTorch usually live in private prefixes: keep the paths the
  # library was linked with, so the installed libpsgm finds them at run time.
  INSTALL_RPATH_USE_LINK_PATH ON)
target_compile_features(psgm PUBLIC cxx_std_17)
target_include_directories(psgm PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_link_libraries(psgm PUBLIC Kokkos::kokkos Kokkos::kokkoskernels PRIVATE Eigen3::Eigen)
# HDF5 and Eigen are private: psgm's public headers never include
# them (the I/O and LibTorch classes keep them behind an opaque
# implementation), so a project using psgm::psgm needs only Kokkos.
if(PSGM_ENABLE_HDF5)
  target_link_libraries(psgm PRIVATE hdf5::hdf5)
endif()
target_compile_options(psgm PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>)
# The LibTorch backend is its own library, psgm::torch, so that only code
# that uses it loads LibTorch (about 0.4 s per process start).
if(PSGM_ENABLE_TORCH)
  add_library(psgm_torch SHARED)
  add_library(psgm::torch ALIAS psgm_torch)
  set_target_properties(psgm_torch PROPERTIES
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    EXPORT_NAME torch INSTALL_RPATH_USE_LINK_PATH ON)
  target_link_libraries(psgm_torch PUBLIC psgm PRIVATE ${TORCH_LIBRARIES})
  target_compile_options(psgm_torch PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>)
  install(TARGETS psgm_torch EXPORT psgmTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

# MPI scale-out of the workflow layer and of training is its own library too,
# psgm::mpi: libpsgm's sources never include mpi.h (docs/scaling.md).
if(PSGM_ENABLE_MPI)
  add_library(psgm_mpi SHARED)
  add_library(psgm::mpi ALIAS psgm_mpi)
  set_target_properties(psgm_mpi PROPERTIES
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    EXPORT_NAME mpi INSTALL_RPATH_USE_LINK_PATH ON)
  target_link_libraries(psgm_mpi PUBLIC psgm MPI::MPI_CXX)
  target_compile_options(psgm_mpi PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra>)
  install(TARGETS psgm_mpi EXPORT psgmTargets
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()

install(TARGETS psgm EXPORT psgmTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# psgm_sources(<file>...) : add host or ETI sources of a module to libpsgm.
# Each ETI unit stays a translation unit of its own in unity builds (the
# cuda, gate and hip stages build that way, docs/portability.md §6): its time
# is its own instantiations, which batching does not share, and the gate's
# kernel scan checks the ETI objects by name (scripts/test).
function(psgm_sources)
  target_sources(psgm PRIVATE ${ARGN})
  foreach(_source IN LISTS ARGN)
    if(_source MATCHES "_eti\\.cpp$")
      set_source_files_properties(${_source} TARGET_DIRECTORY psgm PROPERTIES SKIP_UNITY_BUILD_INCLUSION ON)
    endif()
  endforeach()
endfunction()

# psgm_host_only_sources(<file>...) : mark sources that include no Kokkos
# header (and so hold no device code) as host-only: CUDA builds compile them
# with the host compiler alone, not through nvcc. Needed for code nvcc cannot
# parse, e.g. toml++ 3.3 (marzer/tomlplusplus#213). Call it in the directory
# that adds the sources to a target. nvcc_wrapper (the CUDA flavour's
# compiler) takes --host-only; the compile gate's nvcc launcher
# (cmake/gate/nvcc-launcher) looks for the definition.
function(psgm_host_only_sources)
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_DEFINITIONS PSGM_HOST_ONLY_TRANSLATION_UNIT)
  if(CMAKE_CXX_COMPILER MATCHES "nvcc_wrapper$")
    set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_OPTIONS --host-only)
  endif()
endfunction()
