#!/usr/bin/python3
"""Error versus network evaluations of psgm's samplers (docs/sampling.md §9).

Reads the CSV written by perf/bench_samplers (columns process, sampler,
setting, method, nfe, w2, w2_error, w2_limit, w2_limit_error) and draws, for
each forward process (rows), the 2-Wasserstein distance against the NFE, one
line per sampler:

  left:  to the target N(mu, Sigma), with the limits of the ODE and SDE
         samplers (their exact solution from the N(0, s^2 I) prior) dashed;
  right: to the sampler's own exact limit (the discretisation error).

Exact values (affine push, moment recursion) are lines; Monte-Carlo estimates
are markers with error bars, and those that do not resolve W2 (W2 <= 2
standard errors) are drawn as upper bounds (open triangles at W2 + 2 SE).
Prints, as Markdown tables, the fewest NFE with which each sampler reaches a
given error.

    build/perf/bench_samplers --csv error_vs_nfe.csv
    /usr/bin/python3 python/psgm/plot_error_vs_nfe.py error_vs_nfe.csv -o docs/figures/error_vs_nfe.png
"""
import argparse
import csv
import math
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "euler_maruyama": "Euler-Maruyama (SDE)",
    "stochastic_heun": "stochastic Heun (SDE, reference)",
    "predictor_corrector": "predictor-corrector (SDE)",
    "ode_heun": "Heun (PF-ODE)",
    "ode_dopri5": "Dormand-Prince 5(4) (PF-ODE, adaptive)",
    "dpm_solver_2m": "DPM-Solver++(2M) (PF-ODE)",
    "edm_heun": "EDM Heun",
}
METRICS = (("w2", "w2_error", "W2(generated, target)"),
           ("w2_limit", "w2_limit_error", "W2(generated, exact limit): discretisation error"))


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in ("nfe", "w2", "w2_error", "w2_limit", "w2_limit_error"):
            r[k] = float(r[k])
    return rows


def series(rows, process):
    """(label -> rows sorted by NFE) for one process, and its floors."""
    out = OrderedDict()
    floors = OrderedDict()
    for r in rows:
        if r["process"] != process:
            continue
        if r["sampler"].endswith("_floor") or r["sampler"] == "mc_floor":
            floors[r["sampler"]] = r
            continue
        label = LABELS.get(r["sampler"], r["sampler"])
        extra = [t for t in r["setting"].split() if not t.startswith(("steps=", "tol="))]
        if extra:
            label += " " + " ".join(extra)
        if r["method"] == "exact_recursion":
            label += ": exact law"
        elif r["method"] == "moments" and r["sampler"] in ("euler_maruyama", "stochastic_heun"):
            label += ": samples"
        out.setdefault(label, []).append(r)
    for v in out.values():
        v.sort(key=lambda r: r["nfe"])
    return out, floors


def fewest_nfe(points, key, err, target):
    """Fewest NFE of the sweep whose W2 (plus two standard errors for
    Monte-Carlo estimates) is at most `target`; None if never reached."""
    for r in points:
        if not math.isnan(r[key]) and r[key] + 2 * r[err] <= target:
            return r["nfe"]
    return None


def table(title, data, key, err, targets):
    print(f"\n{title}\n")
    print("| sampler | " + " | ".join(f"W2 ≤ {t:g}" for t in targets) + " |")
    print("|---|" + "---|" * len(targets))
    for label, pts in data.items():
        # The samples of EM and the stochastic Heun only confirm their exact
        # laws (listed); the other rows are the samplers' only measurement.
        if all(math.isnan(r[key]) for r in pts) or label.endswith(": samples"):
            continue
        cells = []
        for t in targets:
            n = fewest_nfe(pts, key, err, t)
            cells.append("—" if n is None else f"{n:.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", default="docs/figures/error_vs_nfe.png")
    ap.add_argument("--targets", default="0.1,0.03,0.01,0.001", help="W2-to-target levels of the first table")
    ap.add_argument("--limit-targets", default="1e-1,1e-2,1e-3,1e-4", help="discretisation-error levels")
    a = ap.parse_args(argv)
    rows = read(a.csv)
    processes = [p for p in ("vp", "edm") if any(r["process"] == p for r in rows)]
    fig, axes = plt.subplots(len(processes), 2, figsize=(15, 5.8 * len(processes)), squeeze=False)
    for row, process in enumerate(processes):
        data, floors = series(rows, process)
        for col, (key, err, ylabel) in enumerate(METRICS):
            ax = axes[row][col]
            for i, (label, pts) in enumerate(data.items()):
                pts = [r for r in pts if not math.isnan(r[key])]
                if not pts:
                    continue
                color = f"C{i % 10}"
                if pts[0]["method"] == "moments":
                    res = [r for r in pts if r[key] > 2 * r[err]]
                    bound = [r for r in pts if r[key] <= 2 * r[err]]
                    ax.errorbar([r["nfe"] for r in res], [r[key] for r in res], yerr=[r[err] for r in res],
                                fmt="o--", ms=3, capsize=2, lw=0.8, color=color, label=label)
                    if bound:
                        ax.plot([r["nfe"] for r in bound], [r[key] + 2 * r[err] for r in bound], "v", ms=5,
                                color=color, mfc="none", label=None if res else label)
                else:
                    ax.plot([r["nfe"] for r in pts], [max(r[key], 1e-12) for r in pts], "o-", ms=3, color=color,
                            label=label)
            if key == "w2":
                styles = {"ode_limit_floor": ("k", ":", "limit of the ODE samplers (exact flow from the prior)"),
                          "sde_limit_floor": ("k", "--", "limit of the SDE samplers (exact reverse SDE from the prior)"),
                          "mc_floor": ("grey", "-.", "Monte-Carlo floor of the sampled estimates")}
                for name, r in floors.items():
                    c, ls, text = styles[name]
                    ax.axhline(r["w2"], color=c, ls=ls, lw=1, label=text)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("network evaluations (NFE)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{process.upper()} process; Gaussian on 2 x 8 points, eigenvalues 2 .. 2e-3")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=6.5, loc="upper right", framealpha=0.85)
        targets = [float(t) for t in a.targets.split(",")]
        limit_targets = [float(t) for t in a.limit_targets.split(",")]
        table(f"{process.upper()} process: fewest NFE to reach W2(generated, target) ≤ level "
              "(Monte-Carlo estimates: W2 + 2 standard errors)", data, "w2", "w2_error", targets)
        table(f"{process.upper()} process: fewest NFE to reach a discretisation error W2(generated, exact limit) ≤ level",
              data, "w2_limit", "w2_limit_error", limit_targets)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f"\nwrote {a.output}")


if __name__ == "__main__":
    main()
