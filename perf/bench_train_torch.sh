#!/usr/bin/env bash
# Training-step time, psgm's LibTorch backend vs the Python definition with
# PyTorch, on the same CPU with the same threads, in one run (docs/performance.md,
# "LibTorch training"). Rounds alternate between the two programs so that a
# change of machine load hits both; the ratio uses each side's best median.
#
#   perf/bench_train_torch.sh [BUILD_DIR] [ROUNDS] [STEPS]      (defaults: build, 3, 5)
#   OMP_NUM_THREADS=1 perf/bench_train_torch.sh build/torch
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${1:-$here/../build}"
rounds="${2:-3}"
steps="${3:-5}"
python="${PSGM_TORCH_PYTHON:-/usr/bin/python3}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
export OMP_PROC_BIND="${OMP_PROC_BIND:-false}"
bench="$build/perf/bench_train_torch"
[ -x "$bench" ] || { echo "bench_train_torch.sh: $bench not built (cmake --build $build --target bench_train_torch)" >&2; exit 2; }

echo "# $(date -u +%FT%TZ), $(getconf _NPROCESSORS_ONLN) cores, OMP_NUM_THREADS=$OMP_NUM_THREADS, load $(cut -d' ' -f1-3 /proc/loadavg)"
log=$(mktemp)
for B in 128 1024; do
  for r in $(seq "$rounds"); do
    "$bench" --batch "$B" --steps "$steps" | tee -a "$log"
    "$python" "$here/bench_train_torch.py" --batch "$B" --steps "$steps" | tee -a "$log"
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# best (smallest) median per side and batch size; ratio > 1: psgm faster
awk '{
  split($2, b, "="); B = b[2]; side = $1
  for (i = 3; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == "median_ms") m = kv[2]; if (kv[1] == "cpu_ms") c = kv[2] }
  if (!((side, B) in best) || m < best[side, B]) best[side, B] = m
  if (!((side, B) in cpu) || c < cpu[side, B]) cpu[side, B] = c
  sizes[B] = 1
} END {
  for (B in sizes)
    printf "B=%s: psgm %.1f ms/step, python %.1f ms/step -> python/psgm = %.2f (CPU time: %.1f vs %.1f ms, ratio %.2f)\n",
           B, best["psgm", B], best["python", B], best["python", B] / best["psgm", B],
           cpu["psgm", B], cpu["python", B], cpu["python", B] / cpu["psgm", B]
}' "$log" | sort -t= -k2 -n
rm -f "$log"
