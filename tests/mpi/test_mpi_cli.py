"""`psgm generate` and `psgm sample` under mpirun (docs/scaling.md).

At 1, 2 and 4 ranks (and without mpirun) generate, and at 2 ranks sample,
write files of the same content sha256 as the one-process run; only rank 0
prints the summary; a rank that fails ends the whole job, with its message,
instead of leaving the other rank waiting; commands that do not share their
work between ranks (merge) refuse to run on several. Needs a psgm built with
PSGM_ENABLE_MPI=ON.
Usage: test_mpi_cli.py --psgm BIN --mpirun MPIEXEC --workdir DIR
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

FAILURES = []


def check(name: str, ok: bool, detail: str = ""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        FAILURES.append(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--mpirun", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    # One thread per rank: 2 ranks on CI's 2 cores.
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    def run(ranks: int, *a: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [args.psgm, *a]
        if ranks > 0:
            command = [args.mpirun, "--oversubscribe", "-np", str(ranks), *command]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)

    def ok(r: subprocess.CompletedProcess, what: str) -> str:
        if r.returncode != 0:
            raise SystemExit(f"{what} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def sha(stdout: str) -> str:
        found = re.findall(r"content sha256: ([0-9a-f]{64})", stdout)
        if len(found) != 1:
            raise SystemExit(f"expected one content sha256 (rank 0's) in:\n{stdout}")
        return found[0]

    # ---- generate: 5 conditions x 3 realisations = 15, split 8 + 7 at 2 ranks
    data = ["--preset", "small", "-q", "--set", "conditions.count=5", "--set", "conditions.realisations=3",
            "--set", "pde.N=16", "--set", "run.batch_size=4"]
    plain = sha(ok(run(0, "generate", *data, "-o", w("plain.h5")), "generate"))
    one = sha(ok(run(1, "generate", *data, "-o", w("one.h5")), "mpirun -np 1 generate"))
    two = sha(ok(run(2, "generate", *data, "-o", w("two.h5")), "mpirun -np 2 generate"))
    check("generate: mpirun -np 1 == one process (content sha256)", one == plain, f"{one} vs {plain}")
    check("generate: mpirun -np 2 == one process (content sha256)", two == plain, f"{two} vs {plain}")
    # the 4-rank smoke test (oversubscribed on CI's 2 cores): 4 + 4 + 4 + 3
    four = sha(ok(run(4, "generate", *data, "-o", w("four.h5")), "mpirun -np 4 generate"))
    check("generate: mpirun -np 4 == one process (content sha256)", four == plain, f"{four} vs {plain}")
    check("generate: no part file is left", not [f for f in os.listdir(args.workdir) if ".part" in f],
          str(os.listdir(args.workdir)))

    # ---- sample: a tiny model, 2 conditions x 5 samples, split 5 + 5
    ok(run(0, "train", "--preset", "small", "-q", "--backend", "native", "--set", "model.width=8", "--set",
           "model.num_blocks=1", "--set", "training.steps=4", "--data", w("plain.h5"), "-o", w("model.h5")),
       "train")
    sample = ["-m", w("model.h5"), "-q", "-n", "5", "--sampler", "dpm_solver_2m", "--set", "sampler.steps=3",
              "--set", "conditions.source=list", "--set", "conditions.list=[[1e-5, 0.0, 25.0], [2e-5, 0.1, 10.0]]"]
    plain_s = sha(ok(run(0, "sample", *sample, "-o", w("s_plain.h5")), "sample"))
    two_s = sha(ok(run(2, "sample", *sample, "-o", w("s_two.h5")), "mpirun -np 2 sample"))
    check("sample: mpirun -np 2 == one process (content sha256)", two_s == plain_s, f"{two_s} vs {plain_s}")

    # ---- the output policy holds for the job: no overwrite without --overwrite
    r = run(2, "generate", *data, "-o", w("two.h5"))
    check("generate: mpirun -np 2 refuses an existing output", r.returncode != 0 and "already exists" in r.stderr,
          f"exit {r.returncode}:\n{r.stderr}")

    # ---- a failing rank ends the job with its message: rank 1 cannot write
    # its part (a directory stands where its part file goes) while rank 0 can
    os.makedirs(w("fail.h5.part1of2"))
    try:
        r = run(2, "generate", *data, "-o", w("fail.h5"), timeout=40)
        text = r.stdout + r.stderr
        check("generate: a failing rank ends the job (non-zero exit)", r.returncode != 0, text)
        check("generate: ... with rank 1's message", "rank 1 of 2" in text and "fail.h5.part1of2" in text, text)
        check("generate: ... and no output", not os.path.exists(w("fail.h5")), text)
    except subprocess.TimeoutExpired:
        check("generate: a failing rank ends the job within 40 s", False, "mpirun hung")

    # ---- commands that do not share their work refuse several ranks
    r = run(2, "merge", w("plain.h5"), "-o", w("m2.h5"))
    check("merge on 2 ranks is refused with a message", r.returncode != 0 and "runs on one process" in r.stderr,
          f"exit {r.returncode}:\n{r.stderr}")

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed: {FAILURES}")
        sys.exit(1)


if __name__ == "__main__":
    main()
