"""A data set written by another program trains, samples and evaluates (issue 11).

docs/data.md §7: a file written with h5py that names its channels and its
condition columns (here C = 3 channels at K = 4 conditions, none of them the
porous electrode's) goes through psgm's whole whitened path: the Gaussian
emulator and a residual score model train on it, both sample at held-out
conditions read from a file, and `psgm evaluate` compares the samples with a
held-out ensemble beside a second, independent held-out ensemble as the noise
floor. The family is a conditional Gaussian whose mean and spread depend on
all four conditions, so the emulator's mean at a held-out condition can be
checked against the truth within Monte-Carlo bounds.

Usage: test_foreign_dataset.py --psgm BIN --workdir DIR
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from psgm.dataset import content_sha256  # noqa: E402

FAILURES: list[str] = []
ENV = dict(os.environ, OMP_NUM_THREADS="2", OMP_WAIT_POLICY="passive")

CHANNELS = ["temperature", "pressure", "velocity"]
COLUMNS = ["a", "b", "c", "d"]
UNITS = ["m", "1", "K", "1"]
LOG = [1, 0, 0, 0]
N = 12


def check(name: str, ok: bool, detail: str = "") -> None:
    shown = detail if detail and (not ok or len(detail) < 80) else ""
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + shown if shown else ''}")
    if not ok:
        FAILURES.append(f"{name}: {detail}")


def truth(u: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (C, N) of the family at condition u = (a, b, c, d)."""
    la = np.log(u[0])
    mean = np.stack([
        1.0 + 0.5 * la * np.cos(np.pi * x) + u[1] * x,
        u[2] * np.sin(np.pi * x) - 0.3 * u[3],
        0.4 * la + u[1] * u[3] * x ** 2,
    ])
    std = np.stack([
        0.2 * np.exp(0.3 * u[1]) * (1.0 + 0.5 * x),
        0.1 * (1.0 + 0.5 * u[3]) * np.ones_like(x),
        0.15 * np.exp(0.2 * u[2]) * (1.5 - x),
    ])
    return mean, std


def draw_conditions(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.column_stack([
        np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), count)),
        rng.uniform(-1.0, 1.0, count),
        rng.uniform(-1.0, 1.0, count),
        rng.uniform(0.0, 2.0, count),
    ])


def draw_fields(rng: np.random.Generator, u: np.ndarray, x: np.ndarray, count: int) -> np.ndarray:
    """count fields (count, C, N): mean + std * smooth correlated noise per channel."""
    mean, std = truth(u, x)
    d = x[:, None] - x[None, :]
    cov = np.exp(-0.5 * (d / 0.3) ** 2) + 1e-9 * np.eye(len(x))
    L = np.linalg.cholesky(cov)
    z = rng.standard_normal((count, len(CHANNELS), len(x))) @ L.T
    return mean[None] + std[None] * z


def write_dataset(path: str, conditions: np.ndarray, per_condition: int, seed: int) -> None:
    """A data set as docs/data.md §1 and §5 describe it, with h5py only."""
    rng = np.random.default_rng(seed)
    x = (np.arange(N) + 0.5) / N
    M = len(conditions)
    fields = np.concatenate([draw_fields(rng, conditions[m], x, per_condition) for m in range(M)])
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "psgm-dataset"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["generator"] = "tests/cli/test_foreign_dataset.py"
        f["grid/x"] = x
        c = f.create_dataset("conditions", data=conditions)
        c.attrs["columns"] = COLUMNS
        c.attrs["units"] = UNITS
        c.attrs["log"] = np.array(LOG, dtype=np.int64)
        s = f.create_dataset("samples/fields", data=fields)
        s.attrs["channels"] = CHANNELS
        f["samples/condition_index"] = np.repeat(np.arange(M, dtype=np.int64), per_condition)
        f["samples/status"] = np.zeros(M * per_condition, dtype=np.uint8)


def run(psgm: str, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    r = subprocess.run([psgm, *args], capture_output=True, text=True, env=ENV)
    if r.returncode != expect:
        print(f"  $ psgm {' '.join(args)}\n  -> {r.returncode}\n{r.stdout}{r.stderr}")
    return r


def strings(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    w = lambda name: os.path.join(work, name)  # noqa: E731
    psgm = args.psgm

    rng = np.random.default_rng(11)
    train_conditions = draw_conditions(rng, 80)
    heldout_conditions = draw_conditions(rng, 3)
    write_dataset(w("train.h5"), train_conditions, 25, seed=1)
    write_dataset(w("heldout.h5"), heldout_conditions, 200, seed=2)
    write_dataset(w("floor.h5"), heldout_conditions, 200, seed=3)  # independent draws, same conditions

    # ---- train: the Gaussian emulator and a short residual score model
    r = run(psgm, "train", "--preset", "gaussian", "--data", w("train.h5"), "-o", w("emulator.h5"), "-q")
    check("the Gaussian emulator trains on a C = 3, K = 4 data set", r.returncode == 0, r.stderr.strip()[-300:])
    r = run(psgm, "train", "--preset", "residual", "--data", w("train.h5"), "-o", w("residual.h5"), "-q",
            "--backend", "native", "--set", "training.steps=300", "--set", "training.batch_size=128",
            "--set", "training.warmup_steps=30", "--set", "training.validate_every=100",
            "--set", "training.checkpoint_every=0", "--set", "model.components=8",
            "--set", f"model.whitening_from={w('emulator.h5')}")
    check("the residual score model trains on it (300 steps)", r.returncode == 0, r.stderr.strip()[-300:])
    r = run(psgm, "train", "--preset", "reference", "--data", w("train.h5"), "-o", w("reference.h5"), "-q",
            "--set", "training.steps=1", expect=2)
    check("the reference model refuses it with a clear error", r.returncode == 2 and
          "takes the porous electrode's (c, phi)" in r.stderr and not os.path.exists(w("reference.h5")),
          r.stderr.strip()[-300:])

    # ---- the model files carry the schema
    for name in ("emulator.h5", "residual.h5"):
        if not os.path.exists(w(name)):
            continue
        with h5py.File(w(name), "r") as f:
            g = f["whitening"].attrs
            ok = (strings(g["condition_names"]) == COLUMNS and strings(g["condition_units"]) == UNITS and
                  list(g["condition_log"]) == LOG and strings(g["channel_names"]) == CHANNELS and
                  int(g["channels"]) == 3 and int(g["num_points"]) == N)
            check(f"{name} stores the condition schema and channel names", ok)
            recorded = f["training"].attrs["dataset_sha256"]
            recorded = recorded.decode() if isinstance(recorded, bytes) else str(recorded)
            check(f"{name}: the content hash of (M, 4) conditions and (n, 3, N) fields agrees with Python's",
                  recorded == content_sha256(w("train.h5")), recorded)

    # ---- sample at the held-out conditions, read from the held-out file
    n_emulator, n_residual = 400, 100
    sampled = {}
    for model, n, out in (("emulator.h5", n_emulator, "emulator_samples.h5"),
                          ("residual.h5", n_residual, "residual_samples.h5")):
        r = run(psgm, "sample", "-m", w(model), "-o", w(out), "-n", str(n), "-q",
                "--set", "conditions.source=file", "--set", f"conditions.file={w('heldout.h5')}",
                "--sampler", "edm_heun", "--set", "sampler.steps=10")
        check(f"psgm sample draws from {model} at conditions read from a file", r.returncode == 0,
              r.stderr.strip()[-300:])
        if r.returncode == 0:
            sampled[model] = w(out)
    r = run(psgm, "sample", "-m", w("emulator.h5"), "-o", w("reference_condition.h5"), "-q", expect=2)
    check("the porous electrode's reference condition is refused for other conditions",
          r.returncode == 2 and "give conditions.source = 'list' or 'file'" in r.stderr, r.stderr.strip()[-300:])
    csv_path = w("conditions.csv")
    with open(csv_path, "w") as f:
        f.write("# held-out condition 0\n" + ",".join(COLUMNS) + "\n" + ",".join(repr(float(v)) for v in heldout_conditions[0]) + "\n")
    r = run(psgm, "sample", "-m", w("emulator.h5"), "-o", w("from_csv.h5"), "-n", "3", "-q",
            "--set", "conditions.source=file", "--set", f"conditions.file={csv_path}")
    check("conditions of K = 4 columns from a CSV file with a header", r.returncode == 0, r.stderr.strip()[-300:])
    r = run(psgm, "sample", "-m", w("emulator.h5"), "-o", w("bad_list.h5"), "-n", "3", "-q",
            "--set", "conditions.source=list", "--set", "conditions.list=[[1e-2, 0.0, 0.0]]", expect=2)
    check("a list row of the wrong length is refused", r.returncode == 2 and "has 3 values; expected 4" in r.stderr,
          r.stderr.strip()[-300:])

    if "emulator.h5" in sampled:
        with h5py.File(sampled["emulator.h5"], "r") as f:
            fields = f["samples/fields"][()]
            idx = f["samples/condition_index"][()]
            cond = f["conditions"]
            ok = (fields.shape == (3 * n_emulator, 3, N) and cond.shape == (3, 4) and
                  np.array_equal(cond[()], heldout_conditions) and strings(cond.attrs["columns"]) == COLUMNS and
                  strings(cond.attrs["units"]) == UNITS and list(cond.attrs["log"]) == LOG and
                  strings(f["samples/fields"].attrs["channels"]) == CHANNELS and
                  np.all(np.isfinite(fields)))
            check("the samples file has the shapes and the schema of the data", ok, f"fields {fields.shape}")
        # The emulator's mean at each held-out condition is the truth within
        # Monte-Carlo bounds: its regression of the mean sees 25 fields at each
        # of 80 training conditions (error of order std / sqrt(25), smoothed
        # across neighbours), its sample mean n_emulator draws.
        x = (np.arange(N) + 0.5) / N
        worst = 0.0
        for m in range(3):
            mean, std = truth(heldout_conditions[m], x)
            got = fields[idx == m].mean(axis=0)
            bound = 4.0 * std * (1.0 / np.sqrt(25) + 1.0 / np.sqrt(n_emulator))
            worst = max(worst, float(np.max(np.abs(got - mean) / bound)))
            spread = fields[idx == m].std(axis=0, ddof=1)
            rel = float(np.max(np.abs(spread / std - 1.0)))
            check(f"emulator spread at held-out condition {m} within 30 % of the truth", rel < 0.3, f"{rel:.3f}")
        check("emulator mean at the held-out conditions within Monte-Carlo bounds", worst <= 1.0,
              f"largest |error| / bound = {worst:.3f}")
    if "residual.h5" in sampled:
        with h5py.File(sampled["residual.h5"], "r") as f:
            fields = f["samples/fields"][()]
            check("the residual model's samples have shape (n, 3, N) and are finite",
                  fields.shape == (3 * n_residual, 3, N) and bool(np.all(np.isfinite(fields))), f"{fields.shape}")

    # ---- evaluate against the held-out set, the second held-out set as the noise floor
    if "emulator.h5" in sampled:
        out = w("evaluation")
        r = run(psgm, "evaluate", "-m", sampled["emulator.h5"], "-d", w("heldout.h5"), "--floor", w("floor.h5"),
                "-o", out, "--preset", "small", "-q")
        check("psgm evaluate with a given floor ensemble", r.returncode == 0, r.stderr.strip()[-300:])
        if r.returncode == 0:
            with open(os.path.join(out, "metrics.csv")) as f:
                rows = list(csv.DictReader(f))
            ok = (len(rows) == 9 and [r_["field"] for r_ in rows[:3]] == CHANNELS and
                  all(k in rows[0] for k in COLUMNS))
            check("metrics.csv has one row per held-out condition and channel, in the data's columns", ok,
                  f"{len(rows)} rows")
            # The emulator is a model of this family: its mean error sits near the floor's.
            ratios = [float(r_["mean_error"]) / float(r_["mean_error_floor"]) for r_ in rows]
            check("the emulator's mean error is within 3x the noise floor's", max(ratios) < 3.0,
                  f"largest ratio {max(ratios):.2f}")
            check("the QoI is skipped with a note", "not the porous electrode's" in r.stdout and
                  "QoI" not in r.stdout, r.stdout.strip()[-300:])
            with h5py.File(os.path.join(out, "evaluation.h5"), "r") as f:
                check("evaluation.h5 holds (K, C, metrics) with the data's names",
                      f["metrics/model"].shape == (3, 3, 6) and strings(f.attrs["fields"]) == CHANNELS and
                      strings(f["conditions"].attrs["columns"]) == COLUMNS and "qoi" not in f)
        r = run(psgm, "evaluate", "-m", sampled["emulator.h5"], "-d", w("heldout.h5"), "-o", w("no_floor"),
                "--preset", "small", "-q", expect=2)
        check("without a floor file, evaluate says a floor by PDE solves does not apply",
              r.returncode == 2 and "with the floor file option" in r.stderr, r.stderr.strip()[-300:])
    if "residual.h5" in sampled:
        r = run(psgm, "evaluate", "-m", sampled["residual.h5"], "-d", w("heldout.h5"), "--floor", w("floor.h5"),
                "--baseline", sampled.get("emulator.h5", ""), "-o", w("evaluation_residual"), "--preset", "small",
                "-q")
        check("the residual model evaluates beside the emulator", r.returncode == 0, r.stderr.strip()[-300:])

    if FAILURES:
        print(f"\n{len(FAILURES)} failure(s):\n" + "\n".join(FAILURES))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
