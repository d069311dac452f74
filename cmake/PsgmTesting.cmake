# psgm's test harness: Catch2 v2 + CTest.
#
# Every test body is written once as a TEMPLATE_TEST_CASE over the execution
# spaces (PSGM_BACKEND_TEST_CASE in tests/harness/psgm_test.hpp) and thus runs
# once per enabled Kokkos backend; CTest lists each instance separately, named
# "<module>/<test> - Kokkos::<Space>". One custom main (tests/harness/main.cpp)
# initialises Kokkos once and prints nothing extra when tests are only listed.

find_package(Catch2 2 REQUIRED)
include(Catch)

set(PSGM_TEST_NUM_THREADS 2 CACHE STRING "OMP_NUM_THREADS for the tests")
# The OpenMP environment of every test (a list for ENVIRONMENT properties):
# idle threads sleep (OMP_WAIT_POLICY=passive), because LibTorch and Kokkos
# share processes and otherwise busy-wait against each other, and no thread
# binding, so that concurrent tests (ctest -j) do not pile onto one core.
set(PSGM_TEST_ENVIRONMENT
    "OMP_NUM_THREADS=${PSGM_TEST_NUM_THREADS}" "OMP_PROC_BIND=false" "OMP_WAIT_POLICY=passive")
# A sanitized build (PSGM_SANITIZE): any finding ends the test's process with
# a status no test accepts (cmake/PsgmSanitize.cmake).
list(APPEND PSGM_TEST_ENVIRONMENT ${PSGM_SANITIZER_ENVIRONMENT})

# Execution spaces the tests are instantiated for.
set(_psgm_test_devices ${PSGM_KOKKOS_DEVICES})
if(PSGM_TEST_BACKENDS)
  set(_psgm_test_devices ${PSGM_TEST_BACKENDS})
endif()
set(_psgm_space_SERIAL "Kokkos::Serial")
set(_psgm_space_OPENMP "Kokkos::OpenMP")
set(_psgm_space_THREADS "Kokkos::Threads")
set(_psgm_space_PTHREAD "Kokkos::Threads")
set(_psgm_space_CUDA "Kokkos::Cuda")
if(PSGM_KOKKOS_VERSION VERSION_LESS 4.0)
  set(_psgm_space_HIP "Kokkos::Experimental::HIP")
else()
  set(_psgm_space_HIP "Kokkos::HIP")
endif()
set(_psgm_test_spaces)
foreach(_dev IN LISTS _psgm_test_devices)
  string(TOUPPER "${_dev}" _dev)
  if(NOT DEFINED _psgm_space_${_dev})
    message(FATAL_ERROR "psgm tests: unknown Kokkos device '${_dev}' (known: SERIAL OPENMP THREADS CUDA HIP)")
  endif()
  list(APPEND _psgm_test_spaces "${_psgm_space_${_dev}}")
endforeach()
# Host spaces first so a failure shows on the simplest backend first.
list(REMOVE_DUPLICATES _psgm_test_spaces)
string(REPLACE ";" ", " PSGM_TEST_EXECUTION_SPACES "${_psgm_test_spaces}")
message(STATUS "psgm tests instantiated for: ${PSGM_TEST_EXECUTION_SPACES}")
configure_file(${PROJECT_SOURCE_DIR}/tests/harness/TestSpaces.hpp.in
               ${PROJECT_BINARY_DIR}/tests/include/psgm_test/TestSpaces.hpp @ONLY)

add_library(psgm_test_main STATIC ${PROJECT_SOURCE_DIR}/tests/harness/main.cpp
                                  ${PROJECT_SOURCE_DIR}/tests/harness/paths.cpp)
target_link_libraries(psgm_test_main PUBLIC psgm::psgm Catch2::Catch2)
target_include_directories(psgm_test_main PUBLIC ${PROJECT_SOURCE_DIR}/tests/harness
                                                 ${PROJECT_BINARY_DIR}/tests/include)
# main.cpp is Catch2's whole runner (CATCH_CONFIG_RUNNER) and no psgm code
# beyond psgm::ScopeGuard: no Kokkos header, no kernel. Compiled once per
# build tree, it cost as much as a heavy library unit (cold .ninja_log,
# 2026-12-04: 26 s in main, 55 s sanitized in alt, 28 s through nvcc).
# So it is compiled by the host compiler alone (nvcc proves nothing on it),
# unoptimised (Catch's runner is not what the tests time) and unsanitized
# (the sanitizers check psgm's code and the tests' bodies, which are compiled
# in the test units; an uninstrumented object in a sanitized program is
# merely unchecked): 10 s each (docs/portability.md §6).
set(_psgm_runner ${PROJECT_SOURCE_DIR}/tests/harness/main.cpp)
psgm_host_only_sources(${_psgm_runner})
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set_property(SOURCE ${_psgm_runner} APPEND PROPERTY COMPILE_OPTIONS -O0)
  if(PSGM_SANITIZE)
    set_property(SOURCE ${_psgm_runner} APPEND PROPERTY COMPILE_OPTIONS -fno-sanitize=all)
  endif()
endif()
# The source tree's absolute path reaches the tests through this one small
# unit (psgm_test::source_dir()), not as a definition on every test's
# command line: ccache keys on the command line, and CCACHE_BASEDIR rewrites
# include paths but not macro values, so such a definition made every test
# unit miss the cache in a clone at another path (docs/portability.md §6).
set_source_files_properties(${PROJECT_SOURCE_DIR}/tests/harness/paths.cpp TARGET_DIRECTORY psgm_test_main
                            PROPERTIES COMPILE_DEFINITIONS "PSGM_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")

# psgm_add_test(<module> SOURCES <file>... [LIBRARIES <lib>...] [LABELS <label>...])
# builds psgm_test_<module> and registers each Catch2 test case instance with CTest.
function(psgm_add_test module)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;LABELS" ${ARGN})
  set(target psgm_test_${module})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE psgm_test_main ${ARG_LIBRARIES})
  # Properties are set by a CTest include file that runs after Catch2's:
  # catch_discover_tests(PROPERTIES ...) splits list values (ENVIRONMENT and
  # LABELS are lists) into separate arguments, which silently dropped all but
  # the first environment variable and misassigned the labels.
  catch_discover_tests(${target} TEST_PREFIX "${module}/" TEST_LIST ${target}_TESTS)
  set(_environment ${PSGM_TEST_ENVIRONMENT} "PSGM_TEST_TMPDIR=${PROJECT_BINARY_DIR}/tests/tmp")
  set(_labels ${module} ${ARG_LABELS})
  set(_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake")
  file(WRITE "${_file}"
       "if(${target}_TESTS)\n"
       "  set_tests_properties(\${${target}_TESTS} PROPERTIES\n"
       "    ENVIRONMENT [==[${_environment}]==]\n"
       "    LABELS [==[${_labels}]==])\n"
       "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${_file}")
endfunction()
