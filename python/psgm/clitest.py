"""What psgm's command-line tests share (tests/cli, tests/mpi).

    from psgm.clitest import Checks, Cli, ok, content_sha, setup

    args, env, w = setup(mpirun=True)     # --psgm, --mpirun, --workdir parsed; the workdir emptied
    check = Checks()                      # check(name, condition, detail)
    cli = Cli(args.psgm, env, mpirun=args.mpirun)
    r = cli.run("generate", ...)          # a CompletedProcess; ranks=2 runs it under mpirun
    out = ok(r, "generate")               # its stdout, or the test ends with the command's output
    digest = content_sha(out)             # the one "content sha256: ..." line's digest
    return check.exit_status()            # prints the summary; 1 if any check failed
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
from typing import Callable


def setup(mpirun: bool = False, threads: int = 2,
          extra: Callable[[argparse.ArgumentParser], None] | None = None):
    """The arguments every command-line test takes (--psgm BIN, --workdir DIR,
    and --mpirun MPIEXEC for the MPI tests; `extra` adds a test's own), the
    workdir emptied and created, and the environment its commands run in
    (`threads` OpenMP threads per process, passive waiting: 1 for the MPI
    tests, whose ranks share CI's 2 cores). Returns (args, env, w), w(name)
    being a path in the workdir."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    if mpirun:
        ap.add_argument("--mpirun", required=True)
    ap.add_argument("--workdir", required=True)
    if extra is not None:
        extra(ap)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="passive")
    return args, env, lambda name: os.path.join(args.workdir, name)


class Checks:
    """Named checks, printed as they run; the failures are kept for the summary."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def __call__(self, name: str, condition: bool, detail: str = "") -> bool:
        print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"))
        if not condition:
            self.failures.append(name)
        return bool(condition)

    def exit_status(self) -> int:
        print(f"{len(self.failures)} check(s) failed: {self.failures}" if self.failures else "all checks passed")
        return 1 if self.failures else 0


class Cli:
    """Runs the psgm executable, directly or under mpirun (--oversubscribe: the
    tests run more ranks than a CI machine's 2 cores)."""

    def __init__(self, psgm: str, env: dict, mpirun: str | None = None, timeout: float | None = None) -> None:
        self.psgm, self.env, self.mpirun, self.timeout = psgm, env, mpirun, timeout

    def command(self, *args: str, ranks: int = 0) -> list[str]:
        command = [self.psgm, *args]
        if ranks > 0:
            if not self.mpirun:
                raise SystemExit("Cli: ranks > 0 needs mpirun")
            command = [self.mpirun, "--oversubscribe", "-np", str(ranks), *command]
        return command

    def run(self, *args: str, ranks: int = 0, timeout: float | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args, ranks=ranks), capture_output=True, text=True, env=self.env,
                              timeout=timeout if timeout is not None else self.timeout)


def ok(r: subprocess.CompletedProcess, what: str) -> str:
    """r's stdout; ends the test with r's output when it failed."""
    if r.returncode != 0:
        raise SystemExit(f"{what} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def content_sha(stdout: str) -> str:
    """The digest of the one "content sha256:" line in stdout (under mpirun only
    rank 0 prints it: two would mean the ranks ran as separate jobs)."""
    found = re.findall(r"content sha256: ([0-9a-f]{64})", stdout)
    if len(found) != 1:
        raise SystemExit(f"expected one content sha256 in:\n{stdout}")
    return found[0]
