# Sanitized builds: -DPSGM_SANITIZE=address,undefined (any list that
# -fsanitize= takes, g++ or clang).
#
# The flags go on libpsgm as PUBLIC compile and link options, so that
# everything built on it (the CLI, the tests, the examples, and a project
# using the installed package, which must link the same sanitizer runtime)
# is instrumented too; Kokkos, KokkosKernels and HDF5 are prebuilt and stay
# as they are. Every finding is an error: -fno-sanitize-recover=all makes
# UBSan stop the process like ASan does.
#
# For ctest, PSGM_SANITIZER_ENVIRONMENT (appended to PSGM_TEST_ENVIRONMENT in
# PsgmTesting.cmake) sets ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS so that
# a finding ends the process with status PSGM_SANITIZER_EXIT_CODE, a status
# psgm itself never uses (0 ok, 2 refused input, 3 unexpected error, 100-127
# CLI11's usage errors, 130/143 interrupted): a test that expects a refusal
# cannot mistake a sanitizer report for it. Suppressions of findings in prebuilt libraries are
# in cmake/sanitizers/, each with its reason.

set(PSGM_SANITIZE "" CACHE STRING
    "Sanitizers for psgm's own targets, e.g. 'address,undefined' (empty = none)")
# UBSan's checks as traps (-fsanitize-undefined-trap-on-error): the same
# checks, but a failed one executes an illegal instruction instead of
# calling libubsan with a static record of its source location and types.
# Those records, one per check (about 930 000 in libpsgm at -Og), are data
# with pointers, so the dynamic loader relocated about 1.2 million pointers
# at every start of a sanitized program: 0.25 s per `psgm` process, most of
# the run time of the CLI tests and the reader fuzzer (docs/portability.md
# §6, ninth round). With ASan in the list, ASAN_OPTIONS=handle_sigill=1
# below makes ASan report the trap ("AddressSanitizer: ILL", with the stack
# of the failed check) and end the process with PSGM_SANITIZER_EXIT_CODE;
# without ASan the process dies of SIGILL. What is lost: UBSan's message
# (which check, which values; the stack still names the function) and, with
# g++, the vptr check, which needs the runtime (g++ drops it in trap mode).
# OFF gives the messages back (scripts/test: PSGM_ALT_UB_TRAP=0).
option(PSGM_SANITIZE_UB_TRAP "UBSan checks as traps (no runtime, no per-check records; see PsgmSanitize.cmake)" OFF)
set(PSGM_SANITIZER_EXIT_CODE 86)
set(PSGM_SANITIZER_ENVIRONMENT)
set(_psgm_sanitize_flags)
if(PSGM_SANITIZE)
  set(_psgm_sanitize_flags -fsanitize=${PSGM_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  if(PSGM_SANITIZE_UB_TRAP AND PSGM_SANITIZE MATCHES "undefined")
    list(APPEND _psgm_sanitize_flags -fsanitize-undefined-trap-on-error)
  endif()
endif()

# psgm_sanitize_target(<target>): the sanitizers on a target that does not
# link libpsgm (which carries them to everything built on it); nothing
# without PSGM_SANITIZE.
function(psgm_sanitize_target target)
  if(PSGM_SANITIZE)
    target_compile_options(${target} PRIVATE ${_psgm_sanitize_flags})
    target_link_options(${target} PRIVATE -fsanitize=${PSGM_SANITIZE})
  endif()
endfunction()

if(PSGM_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "PSGM_SANITIZE=${PSGM_SANITIZE} needs g++ or clang (the compiler is ${CMAKE_CXX_COMPILER_ID})")
  endif()
  target_compile_options(psgm PUBLIC ${_psgm_sanitize_flags})
  # Eigen allocates with malloc where glibc's is already aligned, but with
  # its own aligned blocks (an offset stored before each) under ASan
  # (Eigen/src/Core/util/Memory.h keys this on __SANITIZE_ADDRESS__). A unit
  # compiled without the sanitizers (src/core/dense.cpp) would
  # free the others' blocks the other way; one choice for every unit.
  target_compile_definitions(psgm PUBLIC EIGEN_MALLOC_ALREADY_ALIGNED=0)
  target_link_options(psgm PUBLIC -fsanitize=${PSGM_SANITIZE})
  if(TARGET psgm_torch)
    target_compile_options(psgm_torch PRIVATE ${_psgm_sanitize_flags})
  endif()

  set(_psgm_supp ${PROJECT_SOURCE_DIR}/cmake/sanitizers)
  set(_psgm_code ${PSGM_SANITIZER_EXIT_CODE})
  # allocator_may_return_null=1: malloc of a size too large for the machine
  # returns null, as without ASan, instead of ASan stopping the process; a
  # C++ `new` of such a size still stops it (ASan's operator new cannot
  # throw std::bad_alloc), so a size read from a file or a configuration
  # must be checked before it is allocated, as docs/reliability.md §4 asks
  # anyway. detect_leaks: LeakSanitizer runs at exit. The suppressions
  # (asan.supp, lsan.supp, ubsan.supp) name prebuilt libraries only.
  list(APPEND PSGM_SANITIZER_ENVIRONMENT
    "ASAN_OPTIONS=halt_on_error=1:exitcode=${_psgm_code}:handle_sigill=1:detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:suppressions=${_psgm_supp}/asan.supp"
    "LSAN_OPTIONS=exitcode=${_psgm_code}:suppressions=${_psgm_supp}/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=halt_on_error=1:exitcode=${_psgm_code}:print_stacktrace=1:suppressions=${_psgm_supp}/ubsan.supp")
  set(_psgm_trap_note "")
  if(PSGM_SANITIZE_UB_TRAP AND PSGM_SANITIZE MATCHES "undefined")
    set(_psgm_trap_note " (UBSan's checks as traps: PSGM_SANITIZE_UB_TRAP)")
  endif()
  message(STATUS "psgm: sanitizers ${PSGM_SANITIZE} on psgm's targets${_psgm_trap_note}; a finding ends a test with status ${_psgm_code}")
endif()
