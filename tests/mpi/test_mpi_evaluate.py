"""`psgm evaluate` under mpirun (docs/scaling.md §5).

The conditions are split into contiguous blocks, one per rank, and rank 0
writes the report: at 1, 2 and 4 ranks (4 ranks for 3 conditions, so one
rank has none) the report is the one-process run's: metrics.md, metrics.csv
and qoi.csv byte for byte, evaluation.h5 every data set and attribute but
its creation time, and the summary psgm prints. The noise floor is
generated (fresh PDE solves, split with the conditions) and a baseline is
given, so both optional parts of a condition's result travel between ranks.
Needs a psgm built with PSGM_ENABLE_MPI=ON, and h5py.
Usage: test_mpi_evaluate.py --psgm BIN --mpirun MPIEXEC --workdir DIR
"""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import numpy as np

from psgm.clitest import Checks, Cli, ok, setup

check = Checks()


def h5_differences(a: str, b: str) -> list[str]:
    """What differs between two evaluation files, ignoring the 'created' time."""
    out = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        def attrs(obj_a, obj_b, where):
            keys_a = set(obj_a.attrs) - {"created"}
            keys_b = set(obj_b.attrs) - {"created"}
            if keys_a != keys_b:
                out.append(f"{where}: attributes {sorted(keys_a ^ keys_b)}")
            for k in keys_a & keys_b:
                if not np.array_equal(np.asarray(obj_a.attrs[k]), np.asarray(obj_b.attrs[k])):
                    out.append(f"{where}: attribute {k}")

        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if names_a != names_b:
            out.append(f"objects differ: {sorted(set(names_a) ^ set(names_b))}")
        attrs(fa, fb, "/")
        for name in set(names_a) & set(names_b):
            oa, ob = fa[name], fb[name]
            attrs(oa, ob, name)
            if isinstance(oa, h5py.Dataset):
                va, vb = oa[()], ob[()]
                same = (va.shape == vb.shape and va.dtype == vb.dtype and
                        (np.array_equal(va, vb, equal_nan=True) if va.dtype.kind == "f" else np.array_equal(va, vb)))
                if not same:
                    out.append(f"{name}: values")
    return out


def main():
    # One thread per rank, so that the floor's solves and the metrics' sums
    # run the same way in every run.
    args, env, w = setup(mpirun=True, threads=1)

    cli = Cli(args.psgm, env, mpirun=args.mpirun)

    def run(ranks: int, *a: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return cli.run(*a, ranks=ranks, timeout=timeout)

    # ---- three ensembles at the same 5 conditions: the "PDE data", the
    # "model samples" and the "baseline" (other seeds stand in for a model)
    conditions = "[[1e-5, 0.0, 25.0], [2e-5, 0.1, 10.0], [5e-6, -0.1, 40.0], [1.5e-5, 0.05, 0.0], [8e-6, 0.15, 30.0]]"
    data = ["--preset", "small", "-q", "--set", "conditions.source=list", "--set", f"conditions.list={conditions}",
            "--set", "conditions.realisations=4", "--set", "pde.N=16"]
    for name, seed in (("pde.h5", 2024), ("model.h5", 7), ("baseline.h5", 8)):
        ok(run(0, "generate", *data, "--seed", str(seed), "-o", w(name)), f"generate {name}")

    evaluate = ["evaluate", "--preset", "small", "-q", "-m", w("model.h5"), "-d", w("pde.h5"),
                "--baseline", w("baseline.h5"), "--set", "evaluate.permutations=19"]
    tables = ("metrics.md", "metrics.csv", "qoi.csv")

    def summary(stdout: str, out: str) -> str:
        return stdout.replace(w(out), "OUT")

    def compare(label: str, ref: str, ref_stdout: str, out: str, stdout: str):
        for t in tables:
            with open(w(os.path.join(ref, t)), "rb") as a, open(w(os.path.join(out, t)), "rb") as b:
                check(f"{label}: {t} byte for byte", a.read() == b.read())
        diff = h5_differences(w(os.path.join(ref, "evaluation.h5")), w(os.path.join(out, "evaluation.h5")))
        check(f"{label}: evaluation.h5 (all but its creation time)", not diff, "; ".join(diff))
        check(f"{label}: the printed summary", summary(ref_stdout, ref) == summary(stdout, out),
              f"\n{ref_stdout}\nvs\n{stdout}")

    plain = ok(run(0, *evaluate, "-o", w("plain")), "evaluate")
    one = ok(run(1, *evaluate, "-o", w("one")), "mpirun -np 1 evaluate")
    two = ok(run(2, *evaluate, "-o", w("two")), "mpirun -np 2 evaluate")
    compare("evaluate: mpirun -np 1 == one process", "plain", plain, "one", one)
    compare("evaluate: mpirun -np 2 (3 + 2 conditions) == one process", "plain", plain, "two", two)
    check("evaluate: 5 conditions in the report", "5 condition(s)" in two, two)

    # 3 conditions on 4 ranks: blocks of 1, 1, 1 and 0
    three = ["--set", "evaluate.max_conditions=3"]
    plain3 = ok(run(0, *evaluate, *three, "-o", w("plain3")), "evaluate (3 conditions)")
    four = ok(run(4, *evaluate, *three, "-o", w("four")), "mpirun -np 4 evaluate (3 conditions)")
    compare("evaluate: mpirun -np 4, 3 conditions (one rank idle) == one process", "plain3", plain3, "four", four)

    # ---- the output policy holds for the job
    r = run(2, *evaluate, "-o", w("two"))
    check("evaluate: mpirun -np 2 refuses existing outputs", r.returncode != 0 and "exist" in r.stderr,
          f"exit {r.returncode}:\n{r.stderr}")

    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
