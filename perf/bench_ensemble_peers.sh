#!/usr/bin/env bash
# psgm's ensemble solver against its ceiling and its numpy peer, per core, in
# one session (issue 17; docs/performance.md, "Ensemble solver").
#
#   perf/bench_ensemble_peers.sh BUILD_DIR [ROUNDS] [NUMPY_BATCHES] [--quick]
#
# Each round runs, back to back on one core,
#   BUILD_DIR/perf/bench_ensemble --sections 5,6   (Kokkos::Serial: the sweep-only
#       ceiling, the whole reference solve, Butler–Volmer against linear), and
#   perf/numpy_peer.py --batches NUMPY_BATCHES     (the reference case in numpy,
#       Thomas vectorised over the batch, factors reused; default 4096,16384),
# so that load on this shared machine hits both alike. Every figure printed is
# a ratio of two measurements of the same round; the last lines take each
# side's best round. The numpy peer is first checked against the independent
# reference (python/psgm/reference_pde.py).
set -euo pipefail

build="${1:?usage: $0 BUILD_DIR [ROUNDS] [NUMPY_BATCHES] [--quick]}"
rounds="${2:-2}"
batches="${3:-4096,16384}"
quick="${4:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=/usr/bin/python3  # Debian's python3-numpy
bench="$build/perf/bench_ensemble"
[ -x "$bench" ] || { echo "no $bench: build the bench_ensemble target first" >&2; exit 2; }

# key=value from the "summary:" lines of bench_ensemble's output
value() { grep '^summary:' | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

"$python" "$here/numpy_peer.py" --check --batches 64 >/dev/null
echo "numpy peer matches python/psgm/reference_pde.py (1e-12)"

best_whole=0 best_ceiling=0 best_numpy=0 best_bv_ratio=1e300
for r in $(seq 1 "$rounds"); do
  out="$(OMP_NUM_THREADS=1 OMP_PROC_BIND=false "$bench" --sections 5,6 $quick)"
  echo "$out" | sed -n '/^\[5\]/,$p' | grep -v '^summary:'
  whole="$(echo "$out" | value whole_per_s)"
  ceiling="$(echo "$out" | value sweep_ceiling_per_s)"
  bv_ratio="$(echo "$out" | value bv_over_linear)"
  numpy_out="$(OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" "$here/numpy_peer.py" --batches "$batches")"
  echo "$numpy_out" | sed 's/^/    /'
  numpy="$(echo "$numpy_out" | sed -n 's/.* per_s=\([0-9.]*\).*/\1/p' | sort -g | tail -1)"
  awk -v r="$r" -v w="$whole" -v c="$ceiling" -v n="$numpy" -v b="$bv_ratio" 'BEGIN {
    printf "round %d: whole solve %.0f/s = %.2f of the sweep-only ceiling (%.0f/s); numpy peer %.0f/s: psgm / numpy = %.1f; Butler-Volmer / linear per field = %.1f\n\n", r, w, w / c, c, n, w / n, b }'
  best_whole="$(awk -v a="$best_whole" -v b="$whole" 'BEGIN { print (b > a ? b : a) }')"
  best_ceiling="$(awk -v a="$best_ceiling" -v b="$ceiling" 'BEGIN { print (b > a ? b : a) }')"
  best_numpy="$(awk -v a="$best_numpy" -v b="$numpy" 'BEGIN { print (b > a ? b : a) }')"
  best_bv_ratio="$(awk -v a="$best_bv_ratio" -v b="$bv_ratio" 'BEGIN { print (b < a ? b : a) }')"
done
awk -v w="$best_whole" -v c="$best_ceiling" -v n="$best_numpy" -v b="$best_bv_ratio" 'BEGIN {
  printf "best of rounds, per core: whole solve %.0f/s, sweep-only ceiling %.0f/s (%.2f), numpy peer %.0f/s (psgm / numpy = %.1f), Butler-Volmer / linear %.1f\n", w, c, w / c, n, w / n, b }'
