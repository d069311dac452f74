"""`psgm generate` and `psgm sample` under mpirun (docs/scaling.md).

At 1, 2 and 4 ranks (and without mpirun) generate, and at 2 ranks sample,
write files of the same content sha256 as the one-process run, on both
output paths (--mpi-output direct: every rank writes into the one file
through the parallel HDF5; sharded: part files merged by rank 0); only rank
0 prints the summary; a rank that fails ends the whole job, with its
message, instead of leaving the other rank waiting, and leaves neither the
output nor a temporary or part file; commands that do not share their work
between ranks (merge) refuse to run on several. Needs a psgm built with
PSGM_ENABLE_MPI=ON and the parallel HDF5 (the main stage's).
Usage: test_mpi_cli.py --psgm BIN --mpirun MPIEXEC --workdir DIR
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from psgm.clitest import Checks, Cli, content_sha, ok, setup

check = Checks()


def find_rank(rank: int, output: str) -> int | None:
    """The pid of the psgm process of MPI rank `rank` writing `output`."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if output.encode() in cmdline and f"OMPI_COMM_WORLD_RANK={rank}".encode() in environ \
                and not cmdline[0].endswith(b"mpirun"):
            return int(pid)
    return None


def main():
    # One thread per rank: 2 ranks on CI's 2 cores.
    args, env, w = setup(mpirun=True, threads=1)

    cli = Cli(args.psgm, env, mpirun=args.mpirun)

    def run(ranks: int, *a: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return cli.run(*a, ranks=ranks, timeout=timeout)

    # ---- generate: 5 conditions x 3 realisations = 15, split 8 + 7 at 2 ranks
    data = ["--preset", "small", "-q", "--set", "conditions.count=5", "--set", "conditions.realisations=3",
            "--set", "pde.N=16", "--set", "run.batch_size=4"]
    # Without a launcher psgm does not start MPI (docs/scaling.md §2): the
    # one-process run below takes workflow::generate's path, so each
    # "mpirun -np n == one process" compares psgm::mpi's path with it;
    # PSGM_MPI=on starts MPI as a job of one and must write the same.
    plain = content_sha(ok(run(0, "generate", *data, "-o", w("plain.h5")), "generate"))
    forced = subprocess.run(cli.command("generate", *data, "-o", w("forced.h5")), capture_output=True, text=True,
                            env=dict(env, PSGM_MPI="on"), timeout=60)
    check("generate: PSGM_MPI=on (MPI as a job of one) == one process without MPI (content sha256)",
          content_sha(ok(forced, "PSGM_MPI=on generate")) == plain)
    bad = subprocess.run(cli.command("generate", *data, "-o", w("bad.h5")), capture_output=True, text=True,
                         env=dict(env, PSGM_MPI="sometimes"), timeout=60)
    check("PSGM_MPI=sometimes is refused with what it accepts, nothing written",
          bad.returncode == 2 and "PSGM_MPI='sometimes'" in bad.stderr and "'on'" in bad.stderr
          and not os.path.exists(w("bad.h5")), f"exit {bad.returncode}:\n{bad.stderr}")
    for path in ("direct", "sharded"):
        mode = ["--mpi-output", path]
        one = content_sha(ok(run(1, "generate", *data, *mode, "-o", w(f"one_{path}.h5")), f"mpirun -np 1 generate ({path})"))
        two = content_sha(ok(run(2, "generate", *data, *mode, "-o", w(f"two_{path}.h5")), f"mpirun -np 2 generate ({path})"))
        check(f"generate ({path}): mpirun -np 1 == one process (content sha256)", one == plain, f"{one} vs {plain}")
        check(f"generate ({path}): mpirun -np 2 == one process (content sha256)", two == plain, f"{two} vs {plain}")
        # the 4-rank smoke test (oversubscribed on CI's 2 cores): 4 + 4 + 4 + 3
        four = content_sha(ok(run(4, "generate", *data, *mode, "-o", w(f"four_{path}.h5")),
                      f"mpirun -np 4 generate ({path})"))
        check(f"generate ({path}): mpirun -np 4 == one process (content sha256)", four == plain, f"{four} vs {plain}")
    # 7 ranks for 15 samples in batches of 4: 3 ranks write 3 samples (one
    # batch) and 4 write 2; with batches of 1, ranks make 3 or 2 writes (the
    # others pad with empty ones); compressed (collective writes of filtered
    # chunks)
    seven = content_sha(ok(run(7, "generate", *data, "--set", "run.batch_size=1", "--set", "run.deflate_level=4",
                       "--mpi-output", "direct", "-o", w("seven.h5"), timeout=120),
                   "mpirun -np 7 generate (direct, batches of 1)"))
    check("generate (direct): mpirun -np 7, batches of 1, deflate 4 == one process", seven == plain,
          f"{seven} vs {plain}")
    check("generate: no part or temporary file is left",
          not [f for f in os.listdir(args.workdir) if ".part" in f or f.startswith(".")], str(os.listdir(args.workdir)))

    # ---- sample: a tiny model, 2 conditions x 5 samples, split 5 + 5
    ok(run(0, "train", "--preset", "small", "-q", "--backend", "native", "--set", "model.width=8", "--set",
           "model.num_blocks=1", "--set", "training.steps=4", "--data", w("plain.h5"), "-o", w("model.h5")),
       "train")
    sample = ["-m", w("model.h5"), "-q", "-n", "5", "--sampler", "dpm_solver_2m", "--set", "sampler.steps=3",
              "--set", "conditions.source=list", "--set", "conditions.list=[[1e-5, 0.0, 25.0], [2e-5, 0.1, 10.0]]"]
    plain_s = content_sha(ok(run(0, "sample", *sample, "-o", w("s_plain.h5")), "sample"))
    for path in ("direct", "sharded"):
        two_s = content_sha(ok(run(2, "sample", *sample, "--mpi-output", path, "-o", w(f"s_two_{path}.h5")),
                       f"mpirun -np 2 sample ({path})"))
        check(f"sample ({path}): mpirun -np 2 == one process (content sha256)", two_s == plain_s,
              f"{two_s} vs {plain_s}")

    # ---- the output policy holds for the job: no overwrite without --overwrite
    r = run(2, "generate", *data, "-o", w("two_direct.h5"))
    check("generate: mpirun -np 2 refuses an existing output", r.returncode != 0 and "already exists" in r.stderr,
          f"exit {r.returncode}:\n{r.stderr}")

    # ---- a failing rank ends the job with its message (sharded): rank 1
    # cannot write its part (a directory stands where its part file goes)
    # while rank 0 can
    os.makedirs(w("fail.h5.part1of2"))
    try:
        r = run(2, "generate", *data, "--mpi-output", "sharded", "-o", w("fail.h5"), timeout=40)
        text = r.stdout + r.stderr
        check("generate: a failing rank ends the job (non-zero exit)", r.returncode != 0, text)
        check("generate: ... with rank 1's message", "rank 1 of 2" in text and "fail.h5.part1of2" in text, text)
        check("generate: ... and no output", not os.path.exists(w("fail.h5")), text)
    except subprocess.TimeoutExpired:
        check("generate: a failing rank ends the job within 40 s", False, "mpirun hung")

    # ---- a failing rank ends the job with its message (direct): rank 1 is
    # interrupted (SIGINT: psgm stops after its current batch) while both
    # write the one file; rank 0 is then waiting to write its next batch.
    # The job must outlast the polling below: with 400 conditions it wrote
    # for 0.1 s, and the signal sometimes came after it had finished.
    long = ["--preset", "small", "-q", "--set", "conditions.count=8000", "--set", "conditions.realisations=4",
            "--set", "pde.N=64", "--set", "run.batch_size=4"]
    job = subprocess.Popen([args.mpirun, "--oversubscribe", "-np", "2", args.psgm, "generate", *long,
                            "--mpi-output", "direct", "-o", w("stop.h5")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    rank1 = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and rank1 is None and job.poll() is None:
        # the writer made its temporary file: both ranks are in the batches
        if any(f.startswith(".stop.h5.partial") for f in os.listdir(args.workdir)):
            rank1 = find_rank(1, w("stop.h5"))
        time.sleep(0.01)
    if rank1 is None:
        job.kill()
        job.communicate()
        check("generate (direct): rank 1 found while writing", False, "the job ended before or was not found")
    else:
        os.kill(rank1, signal.SIGINT)
        try:
            out, err = job.communicate(timeout=60)
            text = out + err
            check("generate (direct): a failing rank ends the job (non-zero exit)", job.returncode != 0, text)
            check("generate (direct): ... with rank 1's message", "rank 1 of 2" in text and "stopped after" in text,
                  text)
            check("generate (direct): ... and no output nor temporary file",
                  not [f for f in os.listdir(args.workdir) if "stop.h5" in f], str(os.listdir(args.workdir)))
        except subprocess.TimeoutExpired:
            job.kill()
            check("generate (direct): a failing rank ends the job within 60 s", False, "mpirun hung")

    # ---- commands that do not share their work refuse several ranks
    r = run(2, "merge", w("plain.h5"), "-o", w("m2.h5"))
    check("merge on 2 ranks is refused with a message", r.returncode != 0 and "runs on one process" in r.stderr,
          f"exit {r.returncode}:\n{r.stderr}")

    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
