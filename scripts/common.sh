# Shared by scripts/test and scripts/demo: dependencies, ccache, configure.
# shellcheck shell=bash

psgm_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
psgm_jobs="${PSGM_JOBS:-$(nproc)}"

# ccache lives outside the repository; CCACHE_BASEDIR makes hits independent
# of where the repository is cloned (CI clones into a fresh directory).
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/psgm-ccache}"
export CCACHE_BASEDIR="$psgm_repo"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-8G}"
export CCACHE_NOHASHDIR=1

# OpenMP defaults for everything run from here (LibTorch pins OpenMP to one
# thread on first use unless OMP_NUM_THREADS is set).
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
export OMP_PROC_BIND="${OMP_PROC_BIND:-false}"
# Idle OpenMP threads sleep instead of spinning: LibTorch and Kokkos share the
# process and otherwise busy-wait against each other (docs/performance.md).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

psgm_log() { echo "[psgm] $*" >&2; }

# psgm_configure <build-dir> <kokkos-prefix-or-empty> [cmake args...]
psgm_configure() {
  local build="$1" prefix="$2"; shift 2
  local args=(-S "$psgm_repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  [ -n "$prefix" ] && args+=("-DCMAKE_PREFIX_PATH=$prefix")
  cmake "${args[@]}" "$@" >"$build.configure.log" 2>&1 || { mkdir -p "$build"; cat "$build.configure.log" >&2; return 1; }
}
