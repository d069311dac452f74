"""`psgm pipeline` end to end at a tiny size: the residual score model and the
Gaussian emulator are trained on the same data and judged side by side with
the noise floor (issue 11, point 7).

Checks what must hold for any model: every step ran; metrics.csv has the
model, floor and emulator columns for c and phi at every held-out condition;
qoi.csv has the emulator's QoI error; summary.md shows the emulator column
and metrics.md says where the model does not beat the emulator; the model and
emulator files are what they claim (a whitened score network, an emulator);
and the emulator's samples, drawn exactly, match the PDE mean to within a few
spreads. Usage: test_pipeline.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import argparse
import csv
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
    out = os.path.join(args.workdir, "report")
    cmd = [args.psgm, "pipeline", "-o", out, "-q",
           "--set", "pipeline.figures=false",
           "--set", "train_data.conditions=12", "--set", "train_data.realisations=6",
           "--set", "train.steps=30", "--set", 'train.set=["model.width=32", "training.batch_size=32", '
                                               '"training.validate_every=10", "model.components=8"]',
           "--set", "heldout.conditions=2", "--set", "heldout.realisations=24",
           "--set", "sample.steps=5", "--set", "evaluate.set=[\"evaluate.permutations=19\"]"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"pipeline failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")

    with open(os.path.join(out, "metrics.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4, rows  # 2 conditions x (c, phi)
    for row in rows:
        for m in ("mean_error", "spread_error", "coverage", "wasserstein", "energy_distance"):
            for col in (m, m + "_floor", m + "_baseline"):
                v = float(row[col])
                assert np.isfinite(v), (col, row)
        assert int(row["n_baseline"]) == 24, row
    with open(os.path.join(out, "qoi.csv")) as f:
        qoi = list(csv.DictReader(f))
    assert len(qoi) == 2 and all(np.isfinite(float(q["error_baseline"])) for q in qoi), qoi

    summary = open(os.path.join(out, "summary.md")).read()
    assert "c: emulator" in summary and "φ: emulator" in summary, summary
    assert "Gaussian emulator" in summary
    metrics = open(os.path.join(out, "metrics.md")).read()
    assert "Where the model does not beat the Gaussian emulator" in metrics, metrics

    data = os.path.join(out, "data")
    with h5py.File(os.path.join(data, "model.h5"), "r") as f:
        assert f.attrs["model_kind"] == "score_network"
        assert int(f["whitening"].attrs["components"]) == 8
        assert int(f["architecture"].attrs["channels"]) == 8 and int(f["architecture"].attrs["num_points"]) == 1
    with h5py.File(os.path.join(data, "emulator.h5"), "r") as f:
        assert f.attrs["model_kind"] == "gaussian_emulator"
        assert "weights" not in f
        F = f["whitening/free_points"].shape[0]
        assert int(f["whitening"].attrs["components"]) == F == 198, F  # c's Dirichlet cell and phi_0 pinned
        emulator_basis = f["whitening/basis"][:]
    # The score model reuses the emulator's whitening (train.whitening_from_emulator).
    with h5py.File(os.path.join(data, "model.h5"), "r") as f:
        assert (f["whitening/basis"][:] == emulator_basis).all()

    # The demo's sampler: EDM Heun, 5 levels here, its Gaussian part exact (sample.exact_gaussian).
    with h5py.File(os.path.join(data, "samples.h5"), "r") as f:
        assert f.attrs["sampler"] == "edm_heun", f.attrs["sampler"]
        config = f.attrs["sampler_config"]
        assert "steps = 5\n" in config and "exact_gaussian = true\n" in config, config

    # The emulator's draws at a held-out condition: mean within a few spreads
    # of the PDE's (12 training conditions only), phi_0 exactly 0.
    with h5py.File(os.path.join(data, "heldout.h5"), "r") as f:
        pde = f["samples/fields"][:]
        pci = f["samples/condition_index"][:]
    with h5py.File(os.path.join(data, "emulator_samples.h5"), "r") as f:
        emu = f["samples/fields"][:]
        eci = f["samples/condition_index"][:]
        assert f.attrs["sampler"] == "exact"
    assert np.all(emu[:, 1, 0] == 0.0)
    for k in range(2):
        p, e = pde[pci == k], emu[eci == k]
        sd = p.std(0, ddof=1)
        free = sd > 1e-9 * sd.max(axis=1, keepdims=True)
        err = np.linalg.norm((e.mean(0) - p.mean(0))[free]) / np.linalg.norm(sd[free])
        assert err < 3.0, (k, err)
    print("pipeline: ok")


if __name__ == "__main__":
    main()
