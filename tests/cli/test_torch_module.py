"""psgm opens its LibTorch module (libpsgm_cli_torch.so) only for the
libtorch backend (src/cli/TorchModule.hpp).

1. `psgm generate`, `psgm train --backend native` and `psgm sample` (native)
   load no LibTorch library (the dynamic loader's LD_DEBUG=files trace).
2. `psgm info -v` finds the module and says it loads; `psgm train --backend
   libtorch` loads LibTorch and writes a model that `psgm sample --backend
   libtorch` samples.
3. A psgm whose module is missing (the executable alone, copied elsewhere)
   runs generate and native training as before, and refuses the libtorch
   backend with exit code 2, the module's path and the native alternative.

Usage: test_torch_module.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731
    failures = []

    def check(what, ok, detail=""):
        print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
        if not ok:
            failures.append(what)

    def run(psgm, *a, trace=False):
        env = dict(os.environ)
        if trace:
            env["LD_DEBUG"] = "files"
            env["LD_DEBUG_OUTPUT"] = w("ld")
            for f in os.listdir(args.workdir):
                if f.startswith("ld."):
                    os.remove(w(f))
        r = subprocess.run([psgm, *a], capture_output=True, text=True, env=env, timeout=300)
        if trace:
            # One trace file per process (psgm runs itself again once to set
            # OMP_WAIT_POLICY when it is unset): all of them.
            r.loaded = "".join(open(w(f)).read() for f in os.listdir(args.workdir) if f.startswith("ld."))
        return r

    def loads_torch(r):
        return "libtorch_cpu" in r.loaded or "libpsgm_cli_torch" in r.loaded

    data = ["--preset", "small", "-q", "--set", "conditions.count=4", "--set", "conditions.realisations=4",
            "--set", "pde.N=12"]
    tiny = ["--preset", "small", "-q", "--set", "model.width=4", "--set", "model.num_blocks=1",
            "--set", "training.steps=4", "--data", w("data.h5")]
    sample = ["-q", "-n", "3", "--sampler", "dpm_solver_2m", "--set", "sampler.steps=2"]

    # 1. No LibTorch where no command asks for it.
    r = run(args.psgm, "generate", *data, "-o", w("data.h5"), trace=True)
    check("generate runs", r.returncode == 0, r.stderr)
    check("generate loads no LibTorch library", r.loaded and not loads_torch(r), "LD_DEBUG shows it loaded")
    r = run(args.psgm, "train", *tiny, "--backend", "native", "-o", w("native.h5"), trace=True)
    check("train --backend native runs", r.returncode == 0, r.stderr)
    check("train --backend native loads no LibTorch library", not loads_torch(r), "LD_DEBUG shows it loaded")
    r = run(args.psgm, "sample", "-m", w("native.h5"), *sample, "-o", w("native_samples.h5"), trace=True)
    check("sample (native) runs", r.returncode == 0, r.stderr)
    check("sample (native) loads no LibTorch library", not loads_torch(r), "LD_DEBUG shows it loaded")

    # 2. The module, where a command asks for it.
    r = run(args.psgm, "info", "-v")
    check("info -v: the module loads", r.returncode == 0 and "libpsgm_cli_torch.so (loads)" in r.stdout, r.stdout)
    r = run(args.psgm, "train", *tiny, "--backend", "libtorch", "-o", w("torch.h5"), trace=True)
    check("train --backend libtorch runs", r.returncode == 0, r.stderr)
    check("train --backend libtorch loads LibTorch through the module",
          "libtorch_cpu" in r.loaded and "libpsgm_cli_torch" in r.loaded, "not in the LD_DEBUG trace")
    r = run(args.psgm, "sample", "-m", w("torch.h5"), *sample, "--backend", "libtorch", "-o", w("torch_samples.h5"))
    check("sample --backend libtorch runs", r.returncode == 0, r.stderr)

    # 3. The executable without its module.
    os.makedirs(w("alone/bin"))
    alone = w("alone/bin/psgm")
    shutil.copy2(args.psgm, alone)
    r = run(alone, "generate", *data, "-o", w("data_alone.h5"))
    check("without the module: generate runs", r.returncode == 0, r.stderr)
    r = run(alone, "train", *tiny, "--backend", "native", "-o", w("native_alone.h5"))
    check("without the module: train --backend native runs", r.returncode == 0, r.stderr)
    r = run(alone, "info", "-v")
    check("without the module: info -v says it does not load", r.returncode == 0 and "(does not load:" in r.stdout,
          r.stdout)
    r = run(alone, "train", *tiny, "--backend", "libtorch", "-o", w("torch_alone.h5"))
    expected = ["psgm train: the libtorch backend is psgm's module", "libpsgm_cli_torch.so", "did not load",
                "--backend native"]
    check("without the module: train --backend libtorch is refused (exit 2) and says why",
          r.returncode == 2 and all(e in r.stderr for e in expected), f"rc {r.returncode}: {r.stderr}")
    check("  ... and writes no model", not os.path.exists(w("torch_alone.h5")))
    r = run(alone, "sample", "-m", w("native.h5"), *sample, "--backend", "libtorch", "-o", w("s_alone.h5"))
    check("without the module: sample --backend libtorch is refused (exit 2)",
          r.returncode == 2 and "psgm sample: the libtorch backend is psgm's module" in r.stderr,
          f"rc {r.returncode}: {r.stderr}")
    check("  ... and writes no samples", not os.path.exists(w("s_alone.h5")))

    if failures:
        sys.exit(f"FAILED: {len(failures)} check(s): " + "; ".join(failures))
    print("torch module: all checks passed")


if __name__ == "__main__":
    main()
