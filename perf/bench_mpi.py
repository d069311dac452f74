#!/usr/bin/env python3
"""Strong and weak scaling of `psgm generate` and the allreduce share of a
`psgm train` step under mpirun (docs/scaling.md §7), against the 1-rank run
measured in the same call.

For each rank count (default 1 2), one OpenMP thread per rank:
  generate  the CLI's own wall time of the library call (no process start),
            strong scaling (a fixed problem of C conditions: efficiency
            t1 / (n tn)) and weak scaling (C conditions per rank: efficiency
            t1 / tn); the output path is --mpi-output (default auto)
  train     seconds per step: the difference of two runs of S1 and S2 steps
            divided by S2 − S1, which removes process start, data loading and
            the first validation; efficiency likewise; for each network
            (preset small and reference, native backend) and, at n > 1, the
            gradient reduction's time per step as rank 0 measured it (psgm
            train's "gradient reduction" line: MPI_Allreduce of the P + 1
            doubles, waiting for the slowest rank included) and its share of
            the step.
  model     the stated model of how that share grows (docs/scaling.md §7):
            a ring allreduce of S bytes over n ranks costs
            2 (n−1)/n · S/β + 2 (n−1) · α; with the global batch split over
            n ranks a step costs T1/n + that, T1 the 1-rank step measured
            above; the share is their ratio. β and α are assumptions
            (--links), S is measured (the doubles psgm train reports).
Prints the load average beside the figures. Needs a psgm built with
PSGM_ENABLE_MPI=ON. As root, OpenMPI needs OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.

    /usr/bin/python3 perf/bench_mpi.py --psgm build/main/bin/psgm [--ranks 1 2] [--workdir /tmp/bench_mpi]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import time


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--mpirun", default=shutil.which("mpiexec") or "mpiexec")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workdir", default="/tmp/psgm_bench_mpi")
    ap.add_argument("--conditions", type=int, default=40,
                    help="generate: conditions (25 realisations each) of the strong-scaling run, and per rank of "
                         "the weak-scaling run")
    ap.add_argument("--mpi-output", default="auto", help="generate: --mpi-output (auto, direct, sharded)")
    ap.add_argument("--networks", nargs="*", default=["small", "reference"], help="train: psgm train presets")
    ap.add_argument("--steps", type=int, nargs=2, default=[10, 40], help="train (small): the step counts S1 S2")
    ap.add_argument("--reference-steps", type=int, nargs=2, default=[2, 6],
                    help="train (reference): the step counts S1 S2")
    ap.add_argument("--links", nargs="+", default=["shared-memory:5e9:0.5e-6", "infiniband:12e9:2e-6"],
                    help="model: NAME:BANDWIDTH_BYTES_PER_S:LATENCY_S (assumed, not measured)")
    ap.add_argument("--model-ranks", type=int, nargs="+", default=[2, 4, 16, 64, 256])
    ap.add_argument("--node-speedups", type=float, nargs="+", default=[1, 16],
                    help="model: how much faster one rank (a node's cores) computes a step than the 1-thread rank "
                         "measured here (assumed: 1 = this rank, 16 = e.g. a 32-core node at half efficiency)")
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

    print(f"{load()} at the start; {os.cpu_count()} cores")
    for kind in ("strong", "weak"):
        c = args.conditions
        print(f"generate, {kind} scaling: {c} conditions{' per rank' if kind == 'weak' else ''} x 25 realisations "
              f"(preset small), one thread per rank, --mpi-output {args.mpi_output}")
        base = None
        for n in args.ranks:
            count = c * n if kind == "weak" else c
            out, _ = run(n, "generate", "--preset", "small", "-q", "--set", f"conditions.count={count}",
                         "--mpi-output", args.mpi_output, "-o", w(f"data_{kind}{n}.h5"))
            wall = float(re.search(r"  ([0-9.e+-]+) s wall", out).group(1))
            sha = re.search(r"content sha256: ([0-9a-f]{64})", out).group(1)
            ideal = wall if kind == "weak" else wall * n  # what one rank would need for n ranks' share
            base = base or (wall * args.ranks[0] if kind == "strong" else wall)
            eff = base / (n * wall) if kind == "strong" else base / wall
            print(f"  {n} rank(s): {count * 25:6d} realisations {wall:8.3f} s   efficiency {eff:5.2f}"
                  f"   sha256 {sha[:16]}   ({load()})")

    measured = {}  # network: (1-rank ms/step, doubles reduced)
    for net in args.networks:
        s1, s2 = args.steps if net == "small" else args.reference_steps
        train = ["train", "--preset", net, "-q", "--backend", "native", "--data", w(f"data_strong{args.ranks[0]}.h5"),
                 "--set", "training.validate_every=100000"]
        print(f"train: preset {net}, native backend, seconds per step from {s1} and {s2} steps")
        base = None
        for n in args.ranks:
            _, t1 = run(n, *train, "--set", f"training.steps={s1}", "-o", w(f"{net}{n}_a.h5"))
            out, t2 = run(n, *train, "--set", f"training.steps={s2}", "-o", w(f"{net}{n}_b.h5"))
            step = (t2 - t1) / (s2 - s1)
            base = base or step * args.ranks[0]
            line = (f"  {n} rank(s): {step * 1e3:8.1f} ms/step   speed-up {base / step:5.2f}"
                    f"   efficiency {base / (n * step):5.2f}")
            m = re.search(r"gradient reduction \(\w+, (\d+) doubles = ([0-9.e+-]+) MiB\): ([0-9.e+-]+) ms per step.*?"
                          r"slice ([0-9.e+-]+) ms per step", out)
            if n == 1:
                measured[net] = [step, None]
            if m:
                if net in measured:
                    measured[net][1] = int(m.group(1))
                reduce_ms = float(m.group(3))
                line += (f"   allreduce of {m.group(1)} doubles ({m.group(2)} MiB): {reduce_ms:.3g} ms/step = "
                         f"{100 * reduce_ms / (step * 1e3):.1f} % of the step (rank 0's gradient "
                         f"{float(m.group(4)):.3g} ms)")
            print(line + f"   ({load()})")

    # ---- the model: ring allreduce against the 1-rank step split n ways
    for net, (t1, values) in measured.items():
        if values is None:
            continue
        size = 8 * values
        print(f"model, {net}: S = {values} doubles = {size / 1e6:.3f} MB, T1 = {t1 * 1e3:.1f} ms/step measured "
              f"(1 rank, 1 thread); allreduce ms / share of the step at n ranks")
        for link in args.links:
            name, beta, alpha = link.split(":")
            beta, alpha = float(beta), float(alpha)
            for speedup in args.node_speedups:
                cells = []
                for n in args.model_ranks:
                    t_ar = 2 * (n - 1) / n * size / beta + 2 * (n - 1) * alpha
                    cells.append(f"n={n}: {t_ar * 1e3:.3f} ms {100 * t_ar / (t1 / speedup / n + t_ar):.1f} %")
                print(f"  {name} (assumed beta {beta / 1e9:g} GB/s, alpha {alpha * 1e6:g} us), rank {speedup:g}x "
                      f"this one: " + "; ".join(cells))


if __name__ == "__main__":
    main()
