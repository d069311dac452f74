#!/usr/bin/python3
"""How many network evaluations does each sampler need? (docs/results.md)

Takes a trained model (the one `psgm pipeline` leaves in <run>/data/model.h5),
draws a PDE ensemble at K held-out conditions, then for every sampler and a
ladder of step counts runs `psgm sample` at those conditions and
`psgm evaluate` against the PDE ensemble (noise floor generated on the fly,
the same floor for every run). Writes <out>/nfe_study.csv (one row per
sampler, steps, field: NFE, wall time, metrics averaged over the conditions,
and their floors) and <out>/nfe_study.md (the table docs/results.md quotes).

Two questions are answered per sampler and field:
  * converged: the smallest NFE whose 1-D Wasserstein distance is within 10 %
    of the value the same sampler reaches at the top of its ladder, i.e. where
    its discretisation error no longer shows behind the model's own (ODE and
    SDE samplers converge to different limits for an imperfect score);
  * at floor: the smallest NFE whose Wasserstein distance is within 1.5x the
    noise floor (two independent PDE ensembles of the same size), i.e. where
    the generated ensemble is as close to the PDE as a second PDE ensemble.
    A model that is not good enough never gets there, whatever the sampler.

    /usr/bin/python3 perf/nfe_to_floor.py --psgm build/bin/psgm --run psgm-demo -o psgm-demo/nfe
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import h5py

# sampler -> step ladder (NFE: euler_maruyama, dpm_solver_2m, ode_heun ~ steps
# (Heun: 2 steps - 1), stochastic_heun 2 steps, predictor_corrector 2 steps).
LADDERS = {
    "dpm_solver_2m": [5, 10, 15, 25, 50],
    "ode_heun": [5, 10, 25, 50],
    "euler_maruyama": [25, 50, 100, 250, 500],
    "predictor_corrector": [25, 50, 100, 250],
    "stochastic_heun": [25, 50, 100, 250, 1000],
    "edm_heun": [5, 10, 18, 25, 50],
}
# Further rows: a label, the sampler, its ladder and the options they add
# (docs/sampling.md §4: EDM Heun with the Gaussian part of its flow exact).
VARIANTS = [("edm_heun+exact_gaussian", "edm_heun", [5, 10, 18, 25, 50], ["sampler.exact_gaussian=true"])]
DOPRI_RTOL = [1e-2, 1e-3, 1e-4]
QUICK_LADDERS = {"dpm_solver_2m": [5, 10], "euler_maruyama": [10, 20]}


def run(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    r = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.exit(f"nfe_to_floor: command failed (exit {r.returncode}): {' '.join(cmd)}; see {log.name}")


def mean(values):
    return sum(values) / len(values)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--psgm", required=True, help="the psgm executable")
    ap.add_argument("--run", required=True, help="a psgm pipeline output folder (uses data/model.h5)")
    ap.add_argument("-o", "--output", required=True, help="folder for the study's files")
    ap.add_argument("--conditions", type=int, default=4, help="held-out conditions (default 4)")
    ap.add_argument("-n", "--samples", type=int, default=200, help="fields per condition (default 200)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--generate-preset", default="small", help="psgm generate preset of the model's data")
    ap.add_argument("--quick", action="store_true", help="two samplers, two step counts (a test)")
    ap.add_argument("--summarize-only", action="store_true", help="rewrite nfe_study.md from nfe_study.csv")
    args = ap.parse_args()
    if args.summarize_only:
        with open(os.path.join(args.output, "nfe_study.csv")) as f:
            rows = []
            for r in csv.DictReader(f):
                for k in list(r):
                    if k not in ("sampler", "field", "steps", "rtol"):
                        r[k] = float(r[k])
                for k in ("steps", "rtol"):
                    if r.get(k) in ("", None):
                        del r[k]
                    else:
                        r[k] = float(r[k])
                rows.append(r)
        summarize(rows, args.output)
        return

    model = os.path.join(args.run, "data", "model.h5")
    if not os.path.isfile(model):
        sys.exit(f"nfe_to_floor: no model at {model}; run `psgm pipeline -o {args.run}` first")
    os.makedirs(args.output, exist_ok=True)
    log = open(os.path.join(args.output, "nfe_study.log"), "w")
    pde = os.path.join(args.output, "pde.h5")
    run([args.psgm, "generate", "--preset", args.generate_preset, "-o", pde, "--seed", str(args.seed), "--overwrite",
         "-q", "--set", "conditions.source=heldout", "--set", f"conditions.count={args.conditions}",
         "--set", f"conditions.realisations={args.samples}"], log)

    ladders = QUICK_LADDERS if args.quick else LADDERS
    # (label, sampler, key, value, further options)
    runs = [(s, s, "steps", k, []) for s, ks in ladders.items() for k in ks]
    if not args.quick:
        runs += [(label, s, "steps", k, sets) for label, s, ks, sets in VARIANTS for k in ks]
        runs += [("ode_dopri5", "ode_dopri5", "rtol", r, []) for r in DOPRI_RTOL]
    rows = []
    samples = os.path.join(args.output, "samples.h5")
    evaluation = os.path.join(args.output, "evaluation")
    for label, sampler, key, value, sets in runs:
        t0 = time.time()
        run([args.psgm, "sample", "--preset", args.generate_preset, "-m", model, "-o", samples, "--overwrite", "-q",
             "--seed", str(args.seed + 1), "-n", str(args.samples), "--sampler", sampler,
             "--set", f"sampler.{key}={value}", "--set", "conditions.source=file", "--set", f"conditions.file={pde}",
             "--set", f"sample.grid_from={pde}", *sum((["--set", kv] for kv in sets), [])], log)
        with h5py.File(samples, "r") as f:
            nfe = float(f.attrs["nfe_mean_per_sample"])
            wall = float(f.attrs["wall_time_s"])
            fields = f["samples/fields"].shape[0]
        run([args.psgm, "evaluate", "--preset", args.generate_preset, "-m", samples, "-d", pde, "-o", evaluation,
             "--overwrite", "-q"], log)
        with open(os.path.join(evaluation, "metrics.csv")) as f:
            table = list(csv.DictReader(f))
        for field in ("c", "phi"):
            sel = [r for r in table if r["field"] == field]
            row = {"sampler": label, key: value, "nfe": nfe, "sample_seconds": wall,
                   "seconds_per_field": wall / max(fields, 1), "field": field}
            for m in ("mean_error", "spread_error", "coverage", "wasserstein", "energy_distance"):
                row[m] = mean([float(r[m]) for r in sel])
                row[m + "_floor"] = mean([float(r[m + "_floor"]) for r in sel])
            rows.append(row)
        print(f"{label:24s} {key}={value:<8g} NFE {nfe:7.1f}  {time.time() - t0:6.1f} s  "
              + "  ".join(f"{r['field']}: W1 {r['wasserstein']:.3g} (floor {r['wasserstein_floor']:.3g})"
                          for r in rows[-2:]), flush=True)

    keys = ["sampler", "steps", "rtol", "nfe", "sample_seconds", "seconds_per_field", "field"]
    keys += [m + s for m in ("mean_error", "spread_error", "coverage", "wasserstein", "energy_distance")
             for s in ("", "_floor")]
    with open(os.path.join(args.output, "nfe_study.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)

    summarize(rows, args.output)


def summarize(rows, output):
    md = ["| sampler | setting | NFE | s/field | c: W1 (floor) | c: mean err | φ: W1 (floor) | φ: mean err |",
          "|---|---|---|---|---|---|---|---|"]
    by_run = {}
    for r in rows:
        by_run.setdefault((r["sampler"], r.get("steps", r.get("rtol"))), {})[r["field"]] = r
    for (sampler, setting), d in by_run.items():
        c, p = d["c"], d["phi"]
        md.append(f"| {sampler} | {setting:g} | {c['nfe']:.0f} | {c['seconds_per_field']:.2e} | "
                  f"{c['wasserstein']:.3g} ({c['wasserstein_floor']:.3g}) | {c['mean_error']:.3g} | "
                  f"{p['wasserstein']:.3g} ({p['wasserstein_floor']:.3g}) | {p['mean_error']:.3g} |")
    md += ["", "| sampler | field | NFE to converge (W1 within 10 % of its own top-of-ladder value) | "
           "NFE to reach 1.5x the floor |",
           "|---|---|---|---|"]
    for field in ("c", "phi"):
        sel = [r for r in rows if r["field"] == field]
        for sampler in dict.fromkeys(r["sampler"] for r in sel):
            mine = sorted((r for r in sel if r["sampler"] == sampler), key=lambda r: r["nfe"])
            limit = mine[-1]["wasserstein"]
            conv = next((r["nfe"] for r in mine if abs(r["wasserstein"] - limit) <= 0.1 * limit), None)
            at_floor = next((r["nfe"] for r in mine if r["wasserstein"] <= 1.5 * r["wasserstein_floor"]), None)
            md.append(f"| {sampler} | {field} | {'%.0f' % conv if conv else 'not within the ladder'} | "
                      f"{'%.0f' % at_floor if at_floor else 'not reached'} |")
    text = "\n".join(md) + "\n"
    with open(os.path.join(output, "nfe_study.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
