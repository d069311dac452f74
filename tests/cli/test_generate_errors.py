"""`psgm generate` rejects bad input with a message that names the problem.

Each case runs the executable, expects exit code 2 (psgm::Error), every given
phrase in stderr (the problem, the value, what is expected), and no output
file. Usage: test_generate_errors.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    # Inputs for the file cases.
    eps = np.full((3, 100), 0.3)
    eps[1, 3] = np.nan
    with h5py.File(w("nan.h5"), "w") as f:
        f["porosity"] = eps
    with h5py.File(w("wide.h5"), "w") as f:
        f["porosity"] = np.full((2, 50), 0.3)
        f["conditions"] = np.ones((4, 2))
    with open(w("bad.csv"), "w") as f:
        f.write("l,U0,F_right\n1e-5,0,25\n-1e-5,0,25\n")
    with open(w("exists.h5"), "w") as f:
        f.write("precious")

    small = ["--preset", "small", "-q", "--set", "conditions.count=1", "--set", "conditions.realisations=1"]
    cases = [
        ("unknown key", ["--set", "pde.Nx=5"], ["unknown key(s) pde.Nx", "known keys:"]),
        ("unknown key in a file", ["--config", w("typo.toml")], ["unknown key(s) conditions.cuont"]),
        ("unknown preset", ["--preset", "huge"], ["unknown preset 'huge'", "reference, small"]),
        ("N < 3", ["--set", "pde.N=2"], ["N = 2 must be >= 3"]),
        ("dt > T", ["--set", "pde.dt=2", "--set", "pde.T=1"], ["int(T/dt) = 0", "expected dt <= T"]),
        ("bad kinetics", ["--set", "pde.kinetics=tafel"], ["unknown kinetics 'tafel'", "linear, butler_volmer"]),
        ("wrong type", ["--set", "pde.N=many"], ["'pde.N' must be an integer"]),
        ("l <= 0 in a list", ["--set", "conditions.source=list", "--set", "conditions.list=[[0.0, 0.0, 1.0]]"],
         ["conditions.list: row 0", "l = 0 must be finite and > 0"]),
        ("short row in a list", ["--set", "conditions.source=list", "--set", "conditions.list=[[1e-5, 0.0]]"],
         ["row 0 has 2 values; expected 3 (l, U0, F_right)"]),
        ("l_min <= 0", ["--set", "conditions.l_min=-1e-6"], ["l_min must be > 0"]),
        ("l range reversed", ["--set", "conditions.l_min=3e-5"], ["expected l_min <= l_max"]),
        ("epsilon bounds reversed", ["--set", "porosity.epsilon_min=0.6"], ["epsilon_min = 0.59", "must be < epsilon_max = 0.5"]),
        ("epsilon outside (0, 1)", ["--set", "porosity.epsilon_max=1.5"], ["epsilon_max"]),
        ("bad kernel", ["--set", "porosity.kernel=gauss"], ["gauss"]),
        ("realisations < 1", ["--set", "conditions.realisations=0"], ["conditions.realisations = 0 must be >= 1"]),
        ("negative seed", ["--seed", "-3"], ["run.seed = -3 must be >= 0"]),
        ("list with a random design", ["--set", "conditions.list=[[1e-5, 0.0, 1.0]]"],
         ["conditions.list is set, but conditions.source = 'random' does not use it"]),
        ("NaN in a user porosity field", ["--set", "porosity.source=file", "--set", f"porosity.file={w('nan.h5')}"],
         ["field 1, cell 3 (flat index 103) is nan", "in (0, 1)"]),
        ("user porosity of another N", ["--set", "porosity.source=file", "--set", f"porosity.file={w('wide.h5')}"],
         ["fields of 50 cells; expected N = 100"]),
        ("missing porosity file", ["--set", "porosity.source=file", "--set", f"porosity.file={w('none.h5')}"],
         ["porosity file", "does not exist"]),
        ("porosity file not given", ["--set", "porosity.source=file"], ["needs porosity.file"]),
        ("missing conditions file", ["--set", "conditions.source=file", "--set", f"conditions.file={w('none.csv')}"],
         ["cannot be opened"]),
        ("bad CSV row", ["--set", "conditions.source=file", "--set", f"conditions.file={w('bad.csv')}"],
         ["line 3", "l = -1.0000000000000001e-05 must be finite and > 0"]),
        ("conditions of the wrong shape", ["--set", "conditions.source=file", "--set", f"conditions.file={w('wide.h5')}"],
         ["'/conditions' has shape (4, 2); expected (M, 3)"]),
        ("conditions file that is not HDF5", ["--set", "conditions.source=file",
                                              "--set", f"conditions.file={w('exists.h5')}"],
         ["is not an HDF5 file"]),
        ("existing output", ["-o", w("exists.h5")], ["already exists", "--overwrite"]),
        ("no output", ["NO_OUTPUT"], ["no output file; pass -o FILE.h5"]),
    ]
    with open(w("typo.toml"), "w") as f:
        f.write("[conditions]\ncuont = 3\n")

    failures = 0
    for name, extra, phrases in cases:
        out = w("out.h5")
        cmd = [args.psgm, "generate", *(small[2:] if "--preset" in extra else small)]
        if extra == ["NO_OUTPUT"]:
            extra = []
        elif "-o" not in extra:
            cmd += ["-o", out]
        cmd += extra
        p = subprocess.run(cmd, capture_output=True, text=True)
        problems = []
        if p.returncode != 2:
            problems.append(f"exit code {p.returncode}, expected 2")
        for phrase in phrases:
            if phrase not in p.stderr:
                problems.append(f"message lacks {phrase!r}")
        if os.path.exists(out):
            problems.append("an output file was written")
            os.remove(out)
        leftovers = [f for f in os.listdir(args.workdir) if ".partial-" in f]
        if leftovers:
            problems.append(f"temporary files left: {leftovers}")
        if problems:
            failures += 1
            print(f"FAILED {name}: {'; '.join(problems)}\n  command: {' '.join(cmd)}\n  stderr: {p.stderr.strip()}")
        else:
            print(f"ok     {name}: {p.stderr.strip().splitlines()[-1]}")
    with open(w("exists.h5")) as f:
        if f.read() != "precious":
            failures += 1
            print("FAILED: the existing output file was modified")
    print(f"{len(cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
