"""`psgm train` end to end (run by ctest): a tiny data set from `psgm generate`,
a short run stopped and resumed from its checkpoint (equal to the
uninterrupted run, bit for bit), the files and records it writes, and the
refusals of the command line.

    /usr/bin/python3 tests/torch/test_train_cli.py --psgm build/bin/psgm --workdir /tmp/x
"""

import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

TINY = ["--preset", "small", "--set", "model.width=8", "--set", "model.num_blocks=1", "--set", "model.film_hidden=16",
        "--set", "model.num_frequencies=4", "--set", "training.steps=8", "--set", "training.batch_size=8",
        "--set", "training.validate_every=4", "--set", "training.warmup_steps=2",
        "--set", "data.validation_fraction=0.34"]


def run(psgm, args, expect=0):
    r = subprocess.run([psgm] + args, capture_output=True, text=True)
    if r.returncode != expect:
        sys.exit(f"FAILED: psgm {' '.join(args)}\nexit {r.returncode}, expected {expect}\nstdout:\n{r.stdout}\n"
                 f"stderr:\n{r.stderr}")
    return r


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)
    print("ok:", what)


def weights(path, group):
    with h5py.File(path, "r") as f:
        return {k: f[group][k][()] for k in f[group]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--psgm", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    os.chdir(a.workdir)
    psgm = a.psgm

    run(psgm, ["generate", "--preset", "small", "-q", "-o", "data.h5", "--set", "conditions.count=6",
               "--set", "conditions.realisations=6", "--set", "pde.N=24", "--set", "pde.T=1.0"])

    # interrupted after 5 of 8 steps, then resumed
    r = run(psgm, ["train"] + TINY + ["--data", "data.h5", "-o", "part.h5", "--stop-after", "5", "-q"])
    check("stopped after 5 of 8 steps" in r.stdout and "--resume part.checkpoint.h5" in r.stdout,
          "a stopped run says how to resume")
    check(os.path.exists("part.h5") and os.path.exists("part.checkpoint.h5"), "model and checkpoint written")
    r = run(psgm, ["train", "--resume", "part.checkpoint.h5", "-q"])
    check("finished after 8 of 8 steps" in r.stdout, "the resumed run finishes")

    # the uninterrupted run
    r = run(psgm, ["train"] + TINY + ["--data", "data.h5", "-o", "full.h5"])
    check("train: 8/8" in r.stderr and "steps/s" in r.stderr and "samples/s" in r.stderr, "progress with rates")
    for group in ("checkpoint/weights", "checkpoint/adam_m", "checkpoint/adam_v", "checkpoint/ema", "weights"):
        wa = weights("full.checkpoint.h5" if group.startswith("checkpoint") else "full.h5", group)
        wb = weights("part.checkpoint.h5" if group.startswith("checkpoint") else "part.h5", group)
        check(wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa),
              f"resumed == uninterrupted: /{group}")
    with h5py.File("full.h5", "r") as f, h5py.File("part.h5", "r") as g:
        t, u = f["training"], g["training"]
        check(len(t["train_loss"]) == 8 and len(t["learning_rate"]) == 8 and len(t["gradient_norm"]) == 8,
              "per-step curves in the model file")
        check(list(t["validation_step"][()]) == [0, 4, 8], "validations at steps 0, 4, 8")
        check(np.array_equal(t["train_loss"][()], u["train_loss"][()]), "same loss curve after resuming")
        check(t.attrs["steps"] == 8 and t.attrs["backend"] == "libtorch", "record: steps, backend")
        check("[training]" in t.attrs["config_toml"] and "batch_size = 8" in t.attrs["config_toml"],
              "the effective configuration is stored")
        check(f["architecture"].attrs["num_points"] == 24, "N taken from the data")

    # refusals
    r = run(psgm, ["train"] + TINY + ["--data", "data.h5", "-o", "full.h5"], expect=2)
    check("exists" in r.stderr and "--overwrite" in r.stderr, "an existing model is not replaced silently")
    r = run(psgm, ["train"] + TINY + ["--data", "data.h5", "-o", "x.h5", "--set", "sde.vp.beta_max=3"], expect=2)
    check("m(1) = 0.47" in r.stderr, "the VP schedule with beta_max = 3 is refused with the reason")
    r = run(psgm, ["train"] + TINY + ["--data", "data.h5", "-o", "x.h5", "--set", "training.batchsize=3"], expect=2)
    check("unknown key(s) training.batchsize" in r.stderr, "unknown keys are refused")
    r = run(psgm, ["train"] + TINY + ["--data", "full.h5", "-o", "x.h5"], expect=2)
    check("psgm-dataset" in r.stderr or "not a psgm data set" in r.stderr or "format" in r.stderr,
          "a model file is refused as data")
    r = run(psgm, ["train", "--resume", "full.h5"], expect=2)
    check("no /checkpoint group" in r.stderr, "a model without checkpoint cannot be resumed")
    r = run(psgm, ["train", "--preset", "reference", "--print-config"])
    check("batch_size = 1024" in r.stdout and "epochs = 5000" in r.stdout and "learning_rate = 0.0002" in r.stdout,
          "the reference preset prints the spec's settings")
    print("all checks passed")


if __name__ == "__main__":
    main()
