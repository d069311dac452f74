#!/usr/bin/python3
"""End-to-end test of `psgm sample` (docs/sampling.md §8) on tiny model files
with random weights (python/psgm/convert.py): the plumbing, not the accuracy,
which the analytic-score tests of the samplers establish.

Checks: the data-set layout without porosity (h5py), the attributes (sampler,
its configuration, NFE, wall time, seed, model path), conditions from a list
and the reference condition, batches that span conditions, identical files
for the same seed whatever the batch size, a different seed giving other
samples, the LibTorch and native backends agreeing on the same model and
seed, an EDM model with the EDM sampler, and refusals with clear messages.

Usage: test_cmd_sample.py --psgm build/bin/psgm --workdir DIR [--libtorch]
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import torch

from psgm.convert import save_network
from psgm.network import FilmCnn, FilmCnnConfig

N = 16
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def make_model(path, sde_type="vp", seed=0, field_mean=(1000.0, 2e-3), field_std=(5.0, 3e-3)):
    torch.manual_seed(seed)
    config = FilmCnnConfig(num_points=N, width=8, num_blocks=2, kernel_size=3, num_frequencies=4,
                           film_hidden=16, film_layers=2)
    net = FilmCnn(config)
    # Non-zero output affine and FiLM (PyTorch's init leaves them ~0), so that
    # the conditions and the time actually change the output.
    with torch.no_grad():
        for p in net.parameters():
            if p.abs().max() < 1e-2:
                p.normal_(0.0, 0.3)
    normalization = {"field_mean": list(field_mean), "field_std": list(field_std),
                     "cond_min": [float(np.log(2e-6)), -0.2, 0.0], "cond_max": [float(np.log(2e-5)), 0.2, 50.0],
                     "cond_log": [1, 0, 0]}
    save_network(path, net, normalization=normalization, sde={"type": sde_type})


def run(psgm, args, expect_ok=True):
    p = subprocess.run([psgm, "sample", "-q"] + args, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


def fields(path):
    with h5py.File(path, "r") as f:
        return f["/samples/fields"][...]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--libtorch", action="store_true", help="the psgm binary has the LibTorch backend")
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    w = lambda name: os.path.join(a.workdir, name)
    make_model(w("vp.h5"))
    make_model(w("vp_unit.h5"), field_mean=(0.0, 0.0), field_std=(1.0, 1.0))  # same weights, unit normalisation
    make_model(w("edm.h5"), sde_type="edm", seed=1)

    conds = ["--set", "conditions.source=list", "--set", "conditions.list=[[1e-5, 0.0, 25.0], [5e-6, 0.1, 10.0]]"]
    common = ["-m", w("vp.h5"), "--sampler", "dpm_solver_2m", "--set", "sampler.steps=10", "-n", "7",
              "--seed", "5"] + conds
    p = run(a.psgm, common + ["-o", w("a.h5"), "--set", "sample.batch_size=5"])
    check(p.returncode == 0, "psgm sample (DPM-Solver++(2M), 2 conditions x 7, batches of 5) runs")
    with h5py.File(w("a.h5"), "r") as f:
        check(f.attrs["format"] == "psgm-dataset" and int(f.attrs["format_version"]) == 1, "format psgm-dataset v1")
        check(f["/grid/x"].shape == (N,) and np.allclose(f["/grid/x"][...], (np.arange(N) + 0.5) * 1e-4 / N),
              "grid: N cell centres on L = 1e-4")
        check(np.allclose(f["/conditions"][...], [[1e-5, 0.0, 25.0], [5e-6, 0.1, 10.0]]), "conditions as listed")
        fl = f["/samples/fields"][...]
        check(fl.shape == (14, 2, N) and fl.dtype == np.float64 and np.all(np.isfinite(fl)), "fields (14, 2, N) finite")
        check(list(f["/samples/condition_index"][...]) == [0] * 7 + [1] * 7, "condition_index: 7 x 0, 7 x 1")
        check(np.all(f["/samples/status"][...] == 0), "status all ok")
        check("/samples/porosity" not in f, "no porosity data set")
        check(f.attrs["sampler"] == "dpm_solver_2m", "attribute sampler")
        check(int(f.attrs["nfe"]) == 10, "attribute nfe = 10")
        check(int(f.attrs["network_evaluations"]) == 30, "network_evaluations = 3 batches x 10")
        check(float(f.attrs["wall_time_s"]) > 0, "attribute wall_time_s > 0")
        check('name = "dpm_solver_2m"' in f.attrs["sampler_config"] and "steps = 10" in f.attrs["sampler_config"],
              "attribute sampler_config holds the sampler's parameters")
        check(int(f.attrs["seed"]) == 5, "attribute seed")
        check(os.path.samefile(f.attrs["model_path"], w("vp.h5")), "attribute model_path")
        check(f.attrs["score_backend"] == "native" and f.attrs["dtype"] == "float32", "backend native, float32")
        check("[sampler]" in f.attrs["config_toml"], "config_toml")
        check(not np.allclose(fl[0], fl[7]), "different conditions give different samples")

    # Physical units: the same weights with a unit normalisation give the
    # normalised fields; the model's normalisation must map them exactly.
    unit = ["-m", w("vp_unit.h5")] + common[2:]
    p = run(a.psgm, unit + ["-o", w("unit.h5")])
    if p.returncode == 0:
        x = fields(w("unit.h5"))
        expected = np.array([1000.0, 2e-3])[None, :, None] + np.array([5.0, 3e-3])[None, :, None] * x
        err = np.max(np.abs(fields(w("a.h5")) - expected) / (np.array([5.0, 3e-3])[None, :, None] * (1 + np.abs(x))))
        check(err < 1e-5, f"fields are physical: mean + std x through the model's normalisation (max error {err:.1e})")
    else:
        check(False, "psgm sample with the unit-normalisation model runs")

    p = run(a.psgm, common + ["-o", w("b.h5"), "--set", "sample.batch_size=14"])
    check(p.returncode == 0 and np.array_equal(fields(w("a.h5")), fields(w("b.h5"))),
          "same seed, batches of 14 instead of 5: identical samples")
    p = run(a.psgm, [x if x != "5" else "6" for x in common] + ["-o", w("c.h5")])
    check(p.returncode == 0 and not np.allclose(fields(w("a.h5")), fields(w("c.h5"))), "another seed: other samples")

    # The reference sampler (fewer steps) at the reference condition.
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("ref.h5"), "-n", "4", "--set", "sampler.steps=20"])
    check(p.returncode == 0, "stochastic Heun at the reference condition runs")
    with h5py.File(w("ref.h5"), "r") as f:
        check(np.allclose(f["/conditions"][...], [[1e-5, 0.0, 25.0]]), "reference condition l = L/10, U0 = 0, F = 25")
        check(f.attrs["sampler"] == "stochastic_heun" and int(f.attrs["nfe"]) == 40, "stochastic Heun: 2 NFE per step")
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("ref2.h5"), "-n", "4", "--set", "sampler.steps=20"])
    check(p.returncode == 0 and np.array_equal(fields(w("ref.h5")), fields(w("ref2.h5"))),
          "stochastic sampler: same seed, same samples")

    # Adaptive ODE: NFE recorded.
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("dopri.h5"), "-n", "3", "--sampler", "ode_dopri5",
                     "--set", "sampler.rtol=1e-3", "--set", "sampler.atol=1e-3"])
    check(p.returncode == 0, "DoPri5 runs")
    if p.returncode == 0:
        with h5py.File(w("dopri.h5"), "r") as f:
            check(int(f.attrs["nfe"]) >= 8 and (int(f.attrs["network_evaluations"]) - 2) % 6 == 0,
                  "DoPri5: NFE = 2 + 6 sweeps")

    # EDM model, EDM sampler: 2 N - 1 evaluations.
    p = run(a.psgm, ["-m", w("edm.h5"), "-o", w("edm_out.h5"), "-n", "3", "--sampler", "edm_heun",
                     "--set", "sampler.steps=5"])
    check(p.returncode == 0, "EDM model with edm_heun runs")
    if p.returncode == 0:
        with h5py.File(w("edm_out.h5"), "r") as f:
            check(int(f.attrs["nfe"]) == 9 and f.attrs["model_sde"] == "edm", "EDM Heun, 5 levels: NFE 9")

    if a.libtorch:
        p = run(a.psgm, common + ["-o", w("torch.h5"), "--backend", "libtorch"])
        check(p.returncode == 0, "LibTorch backend runs")
        if p.returncode == 0:
            t, n = fields(w("torch.h5")), fields(w("a.h5"))
            scale = np.array([5.0, 3e-3])[None, :, None]
            diff = np.max(np.abs(t - n) / scale)
            print(f"     LibTorch vs native, same model and seed: max |difference| = {diff:.2e} field std")
            check(diff < 1e-3, "LibTorch and native backends give the same samples (float32 round-off)")

    # Refusals.
    p = run(a.psgm, common + ["-o", w("a.h5")], expect_ok=False)
    check(p.returncode != 0 and "exists" in p.stderr and "--overwrite" in p.stderr, "existing output refused")
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--sampler", "heun3"], expect_ok=False)
    check(p.returncode != 0 and "unknown sampler 'heun3'" in p.stderr, "unknown sampler refused: " + p.stderr.strip())
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--set", "sampler.steps=0"], expect_ok=False)
    check(p.returncode != 0 and "steps = 0" in p.stderr, "steps = 0 refused: " + p.stderr.strip())
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--set", "sampler.stepz=3"], expect_ok=False)
    check(p.returncode != 0 and "stepz" in p.stderr
          and "sampler stochastic_heun takes t_start, t_end, steps, grid, rho" in p.stderr,
          "unknown key refused: " + p.stderr.strip())
    # Each sampler takes its own keys: another sampler's key is refused, naming the keys this one takes.
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--sampler", "ode_heun", "--set", "sampler.rtol=1e-3"],
            expect_ok=False)
    check(p.returncode != 0 and "ode_heun does not take 'rtol'" in p.stderr
          and "t_start, t_end, steps, grid, rho" in p.stderr, "another sampler's key refused: " + p.stderr.strip())
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--sampler", "dopri5", "--set", "sampler.steps=10"],
            expect_ok=False)
    check(p.returncode != 0 and "ode_dopri5 does not take 'steps'" in p.stderr and "rtol" in p.stderr,
          "steps refused for the adaptive sampler: " + p.stderr.strip())
    p = run(a.psgm, ["-m", w("missing.h5"), "-o", w("x.h5")], expect_ok=False)
    check(p.returncode != 0 and "missing.h5" in p.stderr, "missing model refused: " + p.stderr.strip())
    p = run(a.psgm, ["-m", w("vp.h5"), "-o", w("x.h5"), "--sampler", "ode_heun", "--set", "sampler.t_end=1e-6"],
            expect_ok=False)
    check(p.returncode != 0 and "trained only there" in p.stderr, "t_end below the model's t_min refused")
    check(not os.path.exists(w("x.h5")), "no output file after a refusal")

    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
