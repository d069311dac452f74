"""`psgm sample --observe`: posterior draws given probe observations.

On a tiny data set: the Gaussian emulator's exact posterior pins the field
at an exact probe and records the observations; TOML and CSV files give the
same draws; a whitened score model samples the guided posterior with EDM
Heun; bad observations, a reference-normalisation model and another sampler
are refused with exit 2 and nothing written.
Usage: test_observe.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import os
import sys

import h5py
import numpy as np

from psgm.clitest import Checks, Cli, content_sha, ok, setup

check = Checks()


def main():
    args, env, w = setup(mpirun=False)

    run = Cli(args.psgm, env).run

    def refused(name, r, phrases, output):
        text = r.stdout + r.stderr
        missing = [p for p in phrases if p not in text]
        check(name, r.returncode == 2 and not missing and not os.path.exists(output),
              f"exit {r.returncode}, missing {missing}, output exists: {os.path.exists(output)}:\n{r.stderr.strip()}")

    # ---- data (12 conditions x 20, N = 20), the emulator, a tiny residual model
    ok(run("generate", "--preset", "small", "-q", "--seed", "3", "--set", "conditions.count=12", "--set",
           "conditions.realisations=20", "--set", "pde.N=20", "-o", w("data.h5")), "generate")
    ok(run("train", "--preset", "gaussian", "-q", "--data", w("data.h5"), "-o", w("emulator.h5")), "train gaussian")
    ok(run("train", "--preset", "residual", "-q", "--backend", "native", "--data", w("data.h5"), "-o", w("model.h5"),
           "--set", "model.width=16", "--set", "model.components=6", "--set", "training.steps=10",
           "--set", "training.batch_size=32", "--set", "training.warmup_steps=2",
           "--set", "training.validate_every=5"), "train residual")
    with h5py.File(w("data.h5")) as f:
        x = f["grid/x"][:]
        cond = f["conditions"][0]
        fields = f["samples/fields"][:][f["samples/condition_index"][:] == 0]
    i = 7
    spread = fields[:, 0, i].std()
    value = float(fields[0, 0, i])
    clist = f"conditions.list=[[{float(cond[0])!r}, {float(cond[1])!r}, {float(cond[2])!r}]]"
    where = ["--set", "conditions.source=list", "--set", clist, "--set", f"sample.grid_from={w('data.h5')}"]

    # ---- the emulator's exact posterior: an exact probe at a grid point pins it
    with open(w("exact.csv"), "w") as fh:
        fh.write("channel,x,value,noise_std\n")
        fh.write(f"c,{float(x[i])!r},{float(value)!r},{float(1e-7 * spread)!r}\n")
        fh.write(f"phi,{float(0.5 * (x[12] + x[13]))!r},{float(fields[0, 1, 12:14].mean())!r},1.0\n")
    r = run("sample", "-m", w("emulator.h5"), "-o", w("post.h5"), "-n", "50", "--seed", "4",
            "--observe", w("exact.csv"), *where)
    ok(r, "sample --observe (emulator)")
    check("the summary names the posterior", "posterior given 2 observation(s)" in r.stderr, r.stderr)
    with h5py.File(w("post.h5")) as f:
        post = f["samples/fields"][:]
        recorded = f.attrs["observations"]
        recorded = recorded.decode() if isinstance(recorded, bytes) else str(recorded)
    check("every draw reads the exact probe's value", np.max(np.abs(post[:, 0, i] - value)) < 1e-4 * spread,
          f"{np.max(np.abs(post[:, 0, i] - value))} vs spread {spread}")
    check("away from the probe the draws still vary", post[:, 0, 1].std() > 0.05 * fields[:, 0, 1].std())
    check("the output records the observations", recorded.startswith("channel,x,value,noise_std\nc,"), recorded)

    # ---- TOML gives the draws of the same CSV
    with open(w("exact.toml"), "w") as fh:
        for line in open(w("exact.csv")).read().splitlines()[1:]:
            ch, xp, v, s = line.split(",")
            fh.write(f'[[observation]]\nchannel = "{ch}"\nx = {xp}\nvalue = {v}\nnoise_std = {s}\n')
    a = content_sha(ok(run("sample", "-m", w("emulator.h5"), "-o", w("p_csv.h5"), "-n", "8", "--seed", "5", "--observe",
                   w("exact.csv"), *where), "csv"))
    b = content_sha(ok(run("sample", "-m", w("emulator.h5"), "-o", w("p_toml.h5"), "-n", "8", "--seed", "5", "--observe",
                   w("exact.toml"), *where), "toml"))
    check("TOML and CSV observations give the same draws", a == b, f"{a} vs {b}")

    # ---- a whitened score model: the guided EDM Heun sampler
    with open(w("soft.csv"), "w") as fh:
        fh.write(f"channel,x,value,noise_std\nc,{float(x[i])!r},{float(value)!r},{float(0.1 * spread)!r}\n")
    ok(run("sample", "-m", w("model.h5"), "-o", w("post_model.h5"), "-n", "40", "--seed", "6", "--sampler",
           "edm_heun", "--set", "sampler.steps=6", "--observe", w("soft.csv"), *where), "sample --observe (model)")
    with h5py.File(w("post_model.h5")) as f:
        pm = f["samples/fields"][:]
        st = f["samples/status"][:]
    check("the guided model's draws are finite and ok", np.all(st == 0) and np.all(np.isfinite(pm)))
    # with Langevin refinement: one evaluation per step on top of (1 + m) per Heun evaluation, recorded
    r = run("sample", "-m", w("model.h5"), "-o", w("post_refined.h5"), "-n", "40", "--seed", "6", "--sampler",
            "edm_heun", "--set", "sampler.steps=6", "--set", "sample.refine_steps=7", "--set", "sample.refine_step=0.5",
            "--observe", w("soft.csv"), *where)
    ok(r, "sample --observe with refinement")
    with h5py.File(w("post_model.h5")) as f:
        nfe_guided = int(f.attrs["nfe"])
    with h5py.File(w("post_refined.h5")) as f:
        nfe_refined = int(f.attrs["nfe"])
        method = f.attrs["posterior"]
        method = method.decode() if isinstance(method, bytes) else str(method)
        refined = f["samples/fields"][:]
        st = f["samples/status"][:]
    check("refinement adds one evaluation per step", nfe_guided == 2 * (2 * 6 - 1) and nfe_refined == nfe_guided + 7,
          f"{nfe_guided}, {nfe_refined}")
    check("the output records the refinement", "7 Langevin refinement steps (h = 0.5, sigma = 0.05)" in method, method)
    check("the refined draws are finite, ok and moved", np.all(st == 0) and np.all(np.isfinite(refined))
          and np.max(np.abs(refined - pm)) > 0, f"{np.max(np.abs(refined - pm))}")
    refused("a bad refinement is refused before anything is written",
            run("sample", "-m", w("model.h5"), "-o", w("bad.h5"), "--sampler", "edm_heun", "--set",
                "sample.refine_step=-1", "--observe", w("soft.csv"), *where),
            ["sample.refine_", "step = -1 must be finite and >= 0"], w("bad.h5"))
    refused("another sampler is refused for a score model's posterior",
            run("sample", "-m", w("model.h5"), "-o", w("bad.h5"), "--sampler", "ode_heun", "--observe",
                w("soft.csv"), *where), ["EDM Heun", "ode_heun"], w("bad.h5"))

    # ---- bad observations and models
    def bad(name, text, phrases, model="emulator.h5"):
        with open(w("bad.csv"), "w") as fh:
            fh.write(text)
        refused(name, run("sample", "-m", w(model), "-o", w("bad.h5"), "--observe", w("bad.csv"), *where),
                phrases, w("bad.h5"))

    bad("a probe outside the grid", f"channel,x,value,noise_std\nc,{float(2 * x[-1])!r},1.0,0.1\n", ["outside the grid"])
    bad("an unknown channel", "channel,x,value,noise_std\nT,0.0,1.0,0.1\n", ["unknown channel 'T'", "c (0), phi (1)"])
    bad("noise_std <= 0", f"channel,x,value,noise_std\nc,{float(x[3])!r},1.0,0\n", ["noise_std = 0 must be finite and > 0"])
    bad("a NaN value", f"channel,x,value,noise_std\nc,{float(x[3])!r},nan,0.1\n", ["must be finite"])
    bad("a missing column", "channel,x,value\nc,0.0,1.0\n", ["four columns"])
    refused("a missing observations file",
            run("sample", "-m", w("emulator.h5"), "-o", w("bad.h5"), "--observe", w("nope.csv"), *where),
            ["nope.csv"], w("bad.h5"))
    ok(run("train", "--preset", "small", "-q", "--backend", "native", "--data", w("data.h5"), "-o", w("ref.h5"),
           "--set", "model.width=8", "--set", "model.num_blocks=1", "--set", "training.steps=4"), "train small")
    bad("a reference-normalisation model cannot be guided", f"channel,x,value,noise_std\nc,{float(x[3])!r},1.0,0.1\n",
        ["reference normalisation"], model="ref.h5")

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
