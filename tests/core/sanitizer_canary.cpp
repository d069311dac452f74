// A program with one deliberate defect per mode, built like every psgm
// program of a sanitized build (it links libpsgm, which carries the
// sanitizer flags: cmake/PsgmSanitize.cmake). tests/core/CMakeLists.txt runs
// it once per mode and expects the sanitizer's report and the status a
// finding must end a test with (PSGM_SANITIZER_EXIT_CODE): a change to the
// flags or to ASAN_OPTIONS that stopped a class of findings from failing
// the suite (UBSan's checks as traps without ASan's SIGILL handler, say)
// fails these tests instead of passing everything silently.
//
//   psgm_sanitizer_canary heap-overflow | use-after-free | signed-overflow | misaligned | leak | none
#include <psgm/core/Runtime.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

// Inputs the compiler cannot see through, so that nothing is folded away.
volatile int g_index = 8;
volatile int g_large = 2147483647;
volatile int g_offset = 1;

int heap_overflow() {
  std::unique_ptr<int[]> a(new int[8]());
  return a[g_index];  // one past the end
}

int use_after_free() {
  int* a = new int[4]();
  delete[] a;
  return a[g_offset];
}

int signed_overflow() {
  int const a = g_large, b = g_offset;
  return a + b;
}

int misaligned() {
  alignas(8) unsigned char buffer[16] = {};
  auto const* p = reinterpret_cast<std::int32_t const*>(buffer + g_offset);  // 4-byte type at an odd address
  return *p;
}

// The block's only pointer lives in this frame, which is gone (below the
// stack pointer, where LeakSanitizer does not look) when main returns.
__attribute__((noinline)) int lose_a_block() {
  auto* volatile p = static_cast<int*>(std::malloc(64 * sizeof(int)));
  p[0] = g_offset;
  int const v = p[0];
  p = nullptr;
  return v;
}

int leak() { return lose_a_block(); }  // LeakSanitizer reports the block at exit

}  // namespace

int main(int argc, char** argv) {
  char const* mode = argc > 1 ? argv[1] : "";
  int r = 0;
  if (std::strcmp(mode, "heap-overflow") == 0) r = heap_overflow();
  else if (std::strcmp(mode, "use-after-free") == 0) r = use_after_free();
  else if (std::strcmp(mode, "signed-overflow") == 0) r = signed_overflow();
  else if (std::strcmp(mode, "misaligned") == 0) r = misaligned();
  else if (std::strcmp(mode, "leak") == 0) r = leak();
  else if (std::strcmp(mode, "none") == 0) r = psgm::version().empty() ? 1 : 0;  // libpsgm loads; no finding
  else {
    std::fprintf(stderr, "usage: %s heap-overflow|use-after-free|signed-overflow|misaligned|leak|none\n", argv[0]);
    return 2;
  }
  // Printed so that the defect's value is used; a finding stops the process before this.
  std::printf("canary %s: %d\n", mode, r);
  return 0;
}
