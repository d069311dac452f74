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
  psgm_check_cache_keys "$build"
}

# No compile line may carry the repository's path in a macro value:
# CCACHE_BASEDIR rewrites include paths, not macro values, so such a unit
# misses ccache in every clone at another path (all 40 test units did,
# docs/portability.md §6). The two small units that hold the paths on
# purpose are exempt.
psgm_check_cache_keys() {
  local commands="$1/compile_commands.json"
  [ -f "$commands" ] || return 0
  /usr/bin/python3 - "$commands" "$psgm_repo" <<'PY' || return 1
import json, re, sys
commands, repo = sys.argv[1], sys.argv[2]
exempt = ("tests/harness/paths.cpp", "src/stats/python_dirs.cpp")
bad = []
for entry in json.load(open(commands)):
    if entry["file"].endswith(exempt):
        continue
    line = entry.get("command") or " ".join(entry.get("arguments", []))
    found = [d for d in re.findall(r"-D\S+", line) if repo in d]
    if found:
        bad.append(f"  {entry['file']}: {found[0]}")
if bad:
    print(f"[psgm] error: {len(bad)} compile line(s) put this clone's path ({repo}) in a macro value, so ccache "
          "misses them in any clone at another path (CCACHE_BASEDIR rewrites include paths only); pass the path "
          "through one small unit instead, as tests/harness/paths.cpp does (docs/portability.md §6):", file=sys.stderr)
    print("\n".join(bad[:10] + ([f"  ... and {len(bad) - 10} more"] if len(bad) > 10 else [])), file=sys.stderr)
    sys.exit(1)
PY
}
