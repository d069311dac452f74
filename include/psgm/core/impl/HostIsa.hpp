// The instruction sets psgm's host kernels are compiled for, and the one this
// CPU runs. Host kernels (the native score backend's micro-kernels,
// src/score/native_host_kernels.cpp, and the ensemble solver's pack kernels,
// src/pde/ensemble_host_kernels.cpp) are written once with GCC/Clang vector
// extensions and compiled three times with the function-level target
// attributes below; host_isa() probes the CPU once and each module calls the
// matching variant, so a default-flags build runs at the speed of the machine.
// Host-only: no Kokkos, never included by device code.
#pragma once

// Vector extensions and x86 target attributes with GCC and Clang on the host;
// plain loops under a CUDA or HIP compiler (its device pass would see the x86
// attributes) and with compilers without the extensions.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__) && !defined(__HIPCC__) && \
    !defined(__INTEL_COMPILER) && !defined(__NVCOMPILER)
#define PSGM_HOST_SIMD 1
#else
#define PSGM_HOST_SIMD 0
#endif

#if PSGM_HOST_SIMD && defined(__x86_64__)
#define PSGM_HOST_X86 1
#define PSGM_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")))
#define PSGM_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define PSGM_HOST_X86 0
#endif

namespace psgm::Impl {

/// Instruction sets the host kernels are compiled for, in increasing order.
enum class HostIsa { baseline, avx2, avx512 };

/// The best instruction set this CPU supports, probed once (src/core/host_isa.cpp):
/// avx512 needs AVX-512 F, VL, DQ and BW; avx2 needs AVX2 and FMA. The
/// environment variable PSGM_HOST_ISA (baseline, avx2, avx512) caps it.
HostIsa host_isa();

}  // namespace psgm::Impl
