"""`psgm evaluate --observe`: posterior samples against an importance-sampled PDE posterior.

On a small case (one condition, N = 20, 6000 PDE fields for the reference,
200 draws of the Gaussian emulator's exact posterior given one c probe):
psgm evaluate's ESS and metrics equal python -m psgm.posterior_check's to
round-off (the definitions coincide), its floor is within Monte-Carlo reach
of posterior_check's (another random stream) and reproducible; TOML and CSV
observations give the same numbers; a reference below --min-ess is refused
(exit 4, the ESS and the threshold named); observations other than those the
samples file records are refused (exit 2) before any work; posterior_check
--prior puts an independent PDE ensemble, importance-resampled, at the floor.
Usage: test_evaluate_posterior.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import h5py

from psgm.clitest import Checks, Cli, ok, setup

check = Checks()


def main():
    args, env, w = setup(mpirun=False)

    run = Cli(args.psgm, env).run

    # ---- the emulator, a 6000-field reference at one condition, one c probe
    ok(run("generate", "--preset", "small", "-q", "--seed", "3", "--set", "conditions.count=12", "--set",
           "conditions.realisations=20", "--set", "pde.N=20", "-o", w("data.h5")), "generate")
    ok(run("train", "--preset", "gaussian", "-q", "--data", w("data.h5"), "-o", w("emulator.h5")), "train gaussian")
    with h5py.File(w("data.h5")) as f:
        cond = f["conditions"][0]
        truth = f["samples/fields"][:][f["samples/condition_index"][:] == 0][0]
    clist = f"conditions.list=[[{float(cond[0])!r}, {float(cond[1])!r}, {float(cond[2])!r}]]"
    ok(run("generate", "--preset", "small", "-q", "--seed", "5", "--set", "conditions.source=list", "--set", clist,
           "--set", "conditions.realisations=6000", "--set", "pde.N=20", "-o", w("ref.h5")), "generate reference")
    with h5py.File(w("ref.h5")) as f:
        x = f["grid/x"][:]
        spread = f["samples/fields"][:, 0, 7].std()
    with open(w("probes.csv"), "w") as fh:
        fh.write(f"channel,x,value,noise_std\nc,{float(0.5 * (x[7] + x[8]))!r},{float(truth[0, 7:9].mean())!r},"
                 f"{float(0.5 * spread)!r}\n")
    with open(w("probes.toml"), "w") as fh:
        ch, xp, v, s = open(w("probes.csv")).read().splitlines()[1].split(",")
        fh.write(f'[[observation]]\nchannel = "{ch}"\nx = {xp}\nvalue = {v}\nnoise_std = {s}\n')
    where = ["--set", "conditions.source=list", "--set", clist, "--set", f"sample.grid_from={w('ref.h5')}"]
    ok(run("sample", "-m", w("emulator.h5"), "-o", w("post.h5"), "-n", "200", "--seed", "4", "--observe",
           w("probes.csv"), *where), "sample --observe")

    # ---- psgm evaluate beside posterior_check
    r = run("evaluate", "-q", "-m", w("post.h5"), "-d", w("ref.h5"), "--observe", w("probes.csv"), "--min-ess", "100",
            "-o", w("out"))
    ok(r, "evaluate --observe")
    check("the recorded observations are checked", "recorded observations match the given ones" in r.stdout, r.stdout)
    with open(w("out/posterior.csv")) as fh:
        rows = list(csv.DictReader(fh))
    pc = subprocess.run([sys.executable, "-m", "psgm.posterior_check", "--reference", w("ref.h5"), "--observe",
                         w("probes.csv"), "--min-ess", "100", "--json", w("check.json"), w("post.h5")],
                        capture_output=True, text=True, env=env)
    if pc.returncode != 0:
        raise SystemExit(f"posterior_check failed ({pc.returncode}):\n{pc.stdout}\n{pc.stderr}")
    ref = json.load(open(w("check.json")))
    ens = ref["ensembles"][w("post.h5")]
    check("two rows (c, phi) of one condition", [r["channel"] for r in rows] == ["c", "phi"], str(rows))
    ess = float(rows[0]["ess_reference"])
    check("the reference's ESS is posterior_check's", abs(ess / ref["ess_reference"] - 1) < 1e-10,
          f"{ess} vs {ref['ess_reference']}")
    check("the floor half's ESS is posterior_check's",
          abs(float(rows[0]["ess_floor"]) / ref["ess_floor"] - 1) < 1e-10, f"{rows[0]['ess_floor']} vs {ref['ess_floor']}")
    check("the ESS is a fraction of the 3000 fields of half A", 100 < ess < 3000, str(ess))
    for c, row in enumerate(rows):
        for k in ("mean_error", "spread_error", "coverage"):
            a, b = float(row[k]), ens["metrics"][c][k]
            check(f"{row['channel']} {k} equals posterior_check's ({a:.6g})", abs(a - b) <= 1e-9 * abs(b),
                  f"{a!r} vs {b!r}")
            # The floors use different random streams (numpy's, psgm's): the
            # same law, within the spread of a 20-resampling mean.
            fa, fb = float(row[k + "_floor"]), ens["floor"][c][k]
            tol = 0.01 if k == "coverage" else 0.35 * fb
            check(f"{row['channel']} {k} floor within Monte-Carlo reach of posterior_check's ({fa:.4g}, {fb:.4g})",
                  abs(fa - fb) <= tol, f"{fa!r} vs {fb!r}")
    r2 = run("evaluate", "-q", "-m", w("post.h5"), "-d", w("ref.h5"), "--observe", w("probes.toml"), "--min-ess", "100")
    ok(r2, "evaluate --observe (TOML)")
    check("TOML observations give the same numbers, the floor reproducible",
          r2.stdout.split("\n")[1:-1] == r.stdout.split("\n")[1:-2], f"{r2.stdout}\n---\n{r.stdout}")

    shutil.copy(w("post.h5"), w("post_bare.h5"))
    with h5py.File(w("post_bare.h5"), "a") as f:
        del f.attrs["observations"]
    r3 = run("evaluate", "-q", "-m", w("post_bare.h5"), "-d", w("ref.h5"), "--observe", w("probes.csv"), "--min-ess",
             "100")
    ok(r3, "evaluate --observe (no recorded observations)")
    check("samples without recorded observations are judged, the check said to be skipped",
          "are absent (not checked)" in r3.stdout and r3.stdout.split("\n")[1:-1] == r.stdout.split("\n")[1:-2],
          r3.stdout)

    # ---- posterior_check --prior: an independent PDE ensemble, importance-
    # resampled, is the exact posterior again: at the floor (both averaged over
    # 50 resamplings of 200, so the ratio is within about ±20 %); the emulator's
    # unguided draws at another condition are refused.
    ok(run("generate", "--preset", "small", "-q", "--seed", "6", "--set", "conditions.source=list", "--set", clist,
           "--set", "conditions.realisations=6000", "--set", "pde.N=20", "-o", w("prior_pde.h5")), "generate prior")
    pc = subprocess.run([sys.executable, "-m", "psgm.posterior_check", "--reference", w("ref.h5"), "--observe",
                         w("probes.csv"), "--min-ess", "100", "--prior-n", "200", "--floor-draws", "50", "--prior", w("prior_pde.h5"),
                         "--json", w("check_prior.json")], capture_output=True, text=True, env=env)
    if pc.returncode != 0:
        raise SystemExit(f"posterior_check --prior failed ({pc.returncode}):\n{pc.stdout}\n{pc.stderr}")
    ens = next(v for k, v in json.load(open(w("check_prior.json")))["ensembles"].items() if "importance-resampled" in k)
    for c in range(2):
        for k in ("mean_error", "spread_error"):
            ratio = ens["metrics"][c][k] / ens["floor"][c][k]
            check(f"an independent PDE prior, importance-resampled, sits at the floor (channel {c} {k}: {ratio:.2f}x)",
                  0.7 < ratio < 1.4, f"{ratio}")
        for who in ("metrics", "floor"):
            moved = ens[who][c]["moved"]
            check(f"exact posterior draws ({who}) moved all the way from the prior mean (channel {c}: {moved:.3f})",
                  0.8 < moved < 1.2, f"{moved}")
    pc = subprocess.run([sys.executable, "-m", "psgm.posterior_check", "--reference", w("ref.h5"), "--observe",
                         w("probes.csv"), "--min-ess", "100", "--prior-n", "200", "--exact-draws", "60",
                         "--json", w("check_exact.json")], capture_output=True, text=True, env=env)
    ex = json.load(open(w("check_exact.json"))).get("exact_draws", {}) if pc.returncode == 0 else {}
    spans = [v for ch in ex.get("channels", {}).values() for v in ch.values()]
    check("--exact-draws: exact draws' ratios to their floor straddle 1, a per-case bar's chance in [0, 1]",
          len(spans) == 4 and all(v["q05"] < 1 < v["q95"] and 0 <= v["p_exceeds"] <= 1 for v in spans)
          and 0 < ex["p_meets_all"] <= 1, f"{pc.returncode} {pc.stderr[-300:]} {ex}")
    other = f"conditions.list=[[{float(cond[0])!r}, {float(cond[1] + 0.05)!r}, {float(cond[2])!r}]]"
    ok(run("sample", "-m", w("emulator.h5"), "-o", w("prior_other.h5"), "-n", "300", "--seed", "4", "--set",
           "conditions.source=list", "--set", other, "--set", f"sample.grid_from={w('ref.h5')}"), "sample prior")
    pc = subprocess.run([sys.executable, "-m", "psgm.posterior_check", "--reference", w("ref.h5"), "--observe",
                         w("probes.csv"), "--min-ess", "100", "--prior", w("prior_other.h5")],
                        capture_output=True, text=True, env=env)
    check("a --prior at another condition is refused", pc.returncode != 0 and "is not the reference's" in pc.stderr,
          pc.stderr)

    # ---- refusals
    r = run("evaluate", "-q", "-m", w("post.h5"), "-d", w("ref.h5"), "--observe", w("probes.csv"), "--min-ess", "5000")
    text = r.stdout + r.stderr
    check("an ESS below --min-ess is refused with exit 4, the ESS and the threshold named",
          r.returncode == 4 and "NOT JUDGED" in text and "min_ess = 5000" in text and f"ESS {ess:.6g}" in text
          and "mean err" not in text, f"exit {r.returncode}:\n{text}")
    with open(w("other.csv"), "w") as fh:
        fh.write(open(w("probes.csv")).read().replace("channel,x,value,noise_std\nc,", "channel,x,value,noise_std\nphi,"))
    r = run("evaluate", "-q", "-m", w("post.h5"), "-d", w("ref.h5"), "--observe", w("other.csv"), "--min-ess", "100",
            "-o", w("out_other"))
    text = r.stdout + r.stderr
    check("observations other than the recorded ones are refused with exit 2, nothing written",
          r.returncode == 2 and "observation 0 is recorded as (channel 0" in text and "refusing to judge" in text
          and not os.path.exists(w("out_other/posterior.csv")), f"exit {r.returncode}:\n{text}")
    r = run("evaluate", "-q", "-m", w("post.h5"), "-d", w("ref.h5"), "--observe", w("probes.csv"), "--floor",
            w("ref.h5"))
    check("--floor is refused with --observe", r.returncode == 2 and "do not apply" in r.stderr, r.stderr)

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
