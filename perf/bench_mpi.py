#!/usr/bin/env python3
"""Strong scaling of `psgm generate` and of a `psgm train` step under mpirun
(docs/scaling.md §7), against the 1-rank run measured in the same call.

For each rank count (default 1 2), one OpenMP thread per rank:
  generate  the CLI's own wall time of the library call (no process start),
            a fixed problem (strong scaling): efficiency = t1 / (n tn);
  train     seconds per step: the difference of two runs of S1 and S2 steps
            divided by S2 − S1, which removes process start, data loading and
            the first validation; efficiency likewise.
Needs a psgm built with PSGM_ENABLE_MPI=ON. As root, OpenMPI needs
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.

    /usr/bin/python3 perf/bench_mpi.py --psgm build/main/bin/psgm [--ranks 1 2] [--workdir /tmp/bench_mpi]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--mpirun", default=shutil.which("mpiexec") or "mpiexec")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workdir", default="/tmp/psgm_bench_mpi")
    ap.add_argument("--conditions", type=int, default=40, help="generate: conditions (25 realisations each)")
    ap.add_argument("--steps", type=int, nargs=2, default=[10, 40], help="train: the two step counts S1 S2")
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    def run(ranks: int, *a: str) -> tuple[str, float]:
        command = [args.mpirun, "--oversubscribe", "-np", str(ranks), args.psgm, *a]
        start = time.perf_counter()
        r = subprocess.run(command, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        if r.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout, seconds

    data = ["--preset", "small", "-q", "--set", f"conditions.count={args.conditions}"]
    print(f"generate: {args.conditions} conditions x 25 realisations (preset small), one thread per rank")
    base = None
    for n in args.ranks:
        out, _ = run(n, "generate", *data, "-o", w(f"data{n}.h5"))
        wall = float(re.search(r"  ([0-9.e+-]+) s wall", out).group(1))
        sha = re.search(r"content sha256: ([0-9a-f]{64})", out).group(1)
        base = base or wall * args.ranks[0]
        print(f"  {n} rank(s): {wall:8.3f} s   speed-up {base / wall:5.2f}   efficiency {base / (n * wall):5.2f}"
              f"   sha256 {sha[:16]}")

    train = ["train", "--preset", "small", "-q", "--backend", "native", "--data", w(f"data{args.ranks[0]}.h5"),
             "--set", "training.validate_every=100000"]
    s1, s2 = args.steps
    print(f"train: preset small, native backend, seconds per step from {s1} and {s2} steps")
    base = None
    for n in args.ranks:
        _, t1 = run(n, *train, "--set", f"training.steps={s1}", "-o", w(f"m{n}_a.h5"))
        _, t2 = run(n, *train, "--set", f"training.steps={s2}", "-o", w(f"m{n}_b.h5"))
        step = (t2 - t1) / (s2 - s1)
        base = base or step * args.ranks[0]
        print(f"  {n} rank(s): {step * 1e3:8.1f} ms/step   speed-up {base / step:5.2f}"
              f"   efficiency {base / (n * step):5.2f}")


if __name__ == "__main__":
    main()
