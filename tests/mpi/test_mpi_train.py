"""`psgm train` under mpirun: data-parallel training (docs/scaling.md §4).

For each score backend built: 1 and 2 ranks with --gradient-reduction
reproducible write bit-for-bit the same weights (model and checkpoint, θ and
Adam moments); 2 ranks with the default allreduce agree with one process
within the stated tolerance; one rank under mpirun with the default equals
one process bit for bit (the reduction of one rank is exact); a 2-rank run
stopped and resumed at 2 ranks equals the uninterrupted one (reproducible).
Needs a psgm built with PSGM_ENABLE_MPI=ON.
Usage: test_mpi_train.py --psgm BIN --mpirun MPIEXEC --workdir DIR [--torch]
"""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np

from psgm.clitest import Checks, Cli, ok, setup

check = Checks()
# The default reduction sums the ranks' weighted gradients in another order
# than one process's batch mean: a few float32 roundings per gradient entry,
# which Adam's first steps (updates of about lr = 1e-3 in size) carry into the
# weights. Measured after these 6 steps: 1.5e-8 for both backends, weights
# of up to 0.68 (docs/scaling.md §4).
ALLREDUCE_TOLERANCE = 1e-5


def arrays(path: str, group: str):
    out = {}
    with h5py.File(path) as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f[group].visititems(visit)
    return out


def main():
    args, env, w = setup(mpirun=True, threads=1,
                         extra=lambda ap: ap.add_argument("--torch", action="store_true", help="also the LibTorch backend"))

    cli = Cli(args.psgm, env, mpirun=args.mpirun, timeout=120)

    def run(ranks: int, *a: str) -> subprocess.CompletedProcess:
        r = cli.run(*a, ranks=ranks)
        ok(r, " ".join(cli.command(*a, ranks=ranks)))
        return r

    run(0, "generate", "--preset", "small", "-q", "--set", "conditions.count=6", "--set",
        "conditions.realisations=4", "--set", "pde.N=16", "-o", w("data.h5"))

    for backend in ["native"] + (["libtorch"] if args.torch else []):
        # 24 samples, 5 conditions for training: batches of 10 split 5 + 5,
        # and 3 chunks of 4, 3, 3 in the reproducible mode.
        common = ["--preset", "small", "-q", "--backend", backend, "--data", w("data.h5"), "--set",
                  "model.width=8", "--set", "model.num_blocks=1", "--set", "training.steps=6", "--set",
                  "training.batch_size=10", "--set", "training.validate_every=3", "--set", "training.ema_decay=0.9",
                  "--set", "training.gradient_clip=1.0"]
        repro = ["--gradient-reduction", "reproducible", "--reduction-chunks", "3"]
        out = lambda tag: w(f"{backend}_{tag}.h5")  # noqa: E731
        run(1, "train", *common, *repro, "-o", out("r1"))
        run(2, "train", *common, *repro, "-o", out("r2"))
        # outside mpirun the reproducible reduction starts MPI itself, as a job of one
        run(0, "train", *common, *repro, "-o", out("r0"))
        a, b = arrays(out("r0"), "weights"), arrays(out("r1"), "weights")
        check(f"{backend}: reproducible, one process without mpirun == 1 rank: /weights bit for bit",
              len(a) > 0 and a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a))
        for group in ("weights", "checkpoint"):
            a, b = arrays(out("r1").replace(".h5", ".checkpoint.h5") if group == "checkpoint" else out("r1"), group), \
                   arrays(out("r2").replace(".h5", ".checkpoint.h5") if group == "checkpoint" else out("r2"), group)
            same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
            check(f"{backend}: reproducible, 1 and 2 ranks: /{group} bit for bit ({len(a)} data sets)",
                  same and len(a) > 0, f"differs in {[k for k in a if k not in b or not np.array_equal(a[k], b[k])]}")

        run(0, "train", *common, "-o", out("plain"))
        run(1, "train", *common, "-o", out("a1"))
        run(2, "train", *common, "-o", out("a2"))
        plain, a1, a2 = arrays(out("plain"), "weights"), arrays(out("a1"), "weights"), arrays(out("a2"), "weights")
        check(f"{backend}: allreduce, 1 rank == one process bit for bit",
              all(np.array_equal(plain[k], a1[k]) for k in plain))
        worst = max(float(np.max(np.abs(plain[k] - a2[k]))) for k in plain)
        scale = max(float(np.max(np.abs(plain[k]))) for k in plain)
        print(f"     {backend}: allreduce, 2 ranks vs one process: max |dw| = {worst:.3g} (max |w| = {scale:.3g})")
        check(f"{backend}: allreduce, 2 ranks within {ALLREDUCE_TOLERANCE} of one process", worst <= ALLREDUCE_TOLERANCE,
              f"max |dw| = {worst}")

        # stopped after 4 steps and resumed, 2 ranks throughout
        run(2, "train", *common, *repro, "--stop-after", "4", "-o", out("s2"))
        run(2, "train", *repro, "--resume", out("s2").replace(".h5", ".checkpoint.h5"), "-q", "-o", out("s2"))
        a, b = arrays(out("r2"), "weights"), arrays(out("s2"), "weights")
        check(f"{backend}: reproducible, 2 ranks stopped and resumed == uninterrupted, bit for bit",
              all(np.array_equal(a[k], b[k]) for k in a))

    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
