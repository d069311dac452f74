#!/usr/bin/python3
"""Figures of a psgm evaluation (docs/metrics.md §7), drawn from the
evaluation file that `psgm evaluate` writes (format "psgm-evaluation").

Needs only numpy, h5py and matplotlib (Debian: python3-matplotlib, python3-h5py)
and reads nothing but that file. Writes, into the output directory:

  bands_<row>.png      per condition: PDE (blue) and model (red) mean with the
                       pointwise central band (2.5 % / 97.5 % for level 0.95),
                       for c and phi: the figure the original work published
  spread_<row>.png     per condition: pointwise standard deviation of the PDE
                       ensemble, the model ensemble and the noise-floor PDE ensemble
  metrics.png          every metric at every condition, model (red) beside its
                       noise floor (grey), for c and phi

<row> is the condition's row in the PDE data set. Prints "wrote <file>" per figure.

Usage: report_figures.py EVALUATION.h5 OUTPUT_DIR [--max-conditions K]
"""

import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PDE_COLOUR = "tab:blue"
MODEL_COLOUR = "tab:red"
FLOOR_COLOUR = "0.45"
FIELD_LABELS = {"c": r"$c$ [mol/m$^3$]", "phi": r"$\varphi$ [V]"}
METRIC_TITLES = {
    "mean_error": r"mean error $\|\mu_m-\mu_p\|/\|\sigma_p\|$",
    "spread_error": r"spread error $\|\sigma_m-\sigma_p\|/\|\sigma_p\|$",
    "coverage": "band coverage",
    "wasserstein": r"$W_1$ (mean over $x$)",
    "energy_distance": "energy distance",
    "energy_p_value": "energy p-value",
}


def read(path):
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != "psgm-evaluation":
            raise SystemExit(f"{path}: not a psgm evaluation file (format = {fmt!r})")
        d = {
            "x": f["grid/x"][()],
            "conditions": f["conditions"][()],
            "rows": f["condition_index"][()],
            "metrics": [m.decode() if isinstance(m, bytes) else m for m in f["metrics"].attrs["metrics"]],
            "fields": [m.decode() if isinstance(m, bytes) else m for m in f.attrs["fields"]],
            "model": f["metrics/model"][()],
            "floor": f["metrics/floor"][()],
            "band_level": float(f.attrs["band_level"]),
            # the porous electrode's quantity of interest; absent for other data sets (docs/data.md §7)
            "qoi_probability": f["qoi/probability"][()] if "qoi" in f else None,
            "qoi_c_crit": f["qoi/c_crit"][()] if "qoi" in f else None,
            "columns": [m.decode() if isinstance(m, bytes) else m
                        for m in f["conditions"].attrs.get("columns", ["l", "U0", "F_right"])],
            "profiles": {
                e: {k: f[f"profiles/{e}/{k}"][()] for k in ("mean", "stddev", "lower", "upper", "num_samples")}
                for e in ("pde", "model", "floor")
            },
        }
    return d


def condition_title(cond, columns=("l", "U0", "F_right")):
    if list(columns) != ["l", "U0", "F_right"]:
        return ", ".join(f"{name} = {value:.3g}" for name, value in zip(columns, cond))
    l, u0, fr = cond
    return rf"$l$ = {l * 1e6:.3g} µm, $U_0$ = {u0:.3g} V, $F_{{right}}$ = {fr:.3g}"


def bands(d, k, out):
    x = d["x"] * 1e6
    p, m = d["profiles"]["pde"], d["profiles"]["model"]
    level = int(round(d["band_level"] * 100))
    fig, axes = plt.subplots(1, len(d["fields"]), figsize=(5 * len(d["fields"]), 3.8), constrained_layout=True,
                             squeeze=False)
    axes = axes[0]
    for f, (ax, name) in enumerate(zip(axes, d["fields"])):
        for prof, colour, label in ((p, PDE_COLOUR, "PDE"), (m, MODEL_COLOUR, "SGM")):
            n = int(prof["num_samples"][k])
            ax.fill_between(x, prof["lower"][k, f], prof["upper"][k, f], color=colour, alpha=0.2, lw=0)
            ax.plot(x, prof["mean"][k, f], color=colour, lw=1.8, label=f"{label} mean, {level} % band (n = {n})")
            ax.plot(x, prof["lower"][k, f], color=colour, lw=0.8, ls="--")
            ax.plot(x, prof["upper"][k, f], color=colour, lw=0.8, ls="--")
        ax.set_xlabel(r"$x$ [µm]")
        ax.set_ylabel(FIELD_LABELS.get(name, name))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(condition_title(d["conditions"][k], d["columns"]), fontsize=10)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def spreads(d, k, out):
    x = d["x"] * 1e6
    fig, axes = plt.subplots(1, len(d["fields"]), figsize=(5 * len(d["fields"]), 3.8), constrained_layout=True,
                             squeeze=False)
    axes = axes[0]
    for f, (ax, name) in enumerate(zip(axes, d["fields"])):
        for e, colour, ls, label in (
            ("pde", PDE_COLOUR, "-", "PDE"),
            ("model", MODEL_COLOUR, "-", "SGM"),
            ("floor", FLOOR_COLOUR, "--", "second PDE ensemble (noise floor)"),
        ):
            prof = d["profiles"][e]
            ax.plot(x, prof["stddev"][k, f], color=colour, ls=ls, lw=1.6,
                    label=f"{label} (n = {int(prof['num_samples'][k])})")
        ax.set_xlabel(r"$x$ [µm]")
        ax.set_ylabel("std of " + FIELD_LABELS.get(name, name))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle("pointwise spread, " + condition_title(d["conditions"][k], d["columns"]), fontsize=10)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def metrics(d, out):
    """Every metric at every condition: model (filled, red) beside its noise floor (open, grey)."""
    names = d["metrics"]
    fields = d["fields"]
    K = d["model"].shape[0]
    idx = np.arange(K)
    # W1 has the unit of its field: one panel per field; the others are dimensionless.
    panels = []
    for name in names:
        if name == "wasserstein":
            panels += [(name, f) for f in range(len(fields))]
        else:
            panels.append((name, None))
    if d["qoi_probability"] is not None:
        panels.append(("qoi", None))
    ncol = 4
    nrow = (len(panels) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), constrained_layout=True, squeeze=False)
    markers = {f: "osd^v<>px*"[f % 10] for f in range(len(fields))}
    for a, (name, only) in enumerate(panels):
        ax = axes[a // ncol][a % ncol]
        if name == "qoi":
            prob = d["qoi_probability"]  # (K, [pde, model, floor], [estimate, lower, upper])
            ax.plot(idx, np.abs(prob[:, 1, 0] - prob[:, 0, 0]), "o", color=MODEL_COLOUR, label="model")
            ax.plot(idx, np.abs(prob[:, 2, 0] - prob[:, 0, 0]), "o", mfc="none", color=FLOOR_COLOUR, label="floor")
            ax.set_title(r"QoI: $|P_m - P_p|$ for $P(\min\ c < c_{crit})$", fontsize=9)
        else:
            j = names.index(name)
            for f, field in enumerate(fields):
                if only is not None and f != only:
                    continue
                ax.plot(idx, d["model"][:, f, j], markers[f], color=MODEL_COLOUR, label=f"model, {field}")
                ax.plot(idx, d["floor"][:, f, j], markers[f], mfc="none", color=FLOOR_COLOUR,
                        label=f"floor, {field}")
            title = METRIC_TITLES.get(name, name)
            if name == "coverage":
                ax.axhline(d["band_level"], color="k", lw=0.8, ls=":")
            if name == "energy_p_value":
                ax.axhline(0.01, color="k", lw=0.8, ls=":")
                ax.set_yscale("log")
            if name == "wasserstein":
                title += ", " + FIELD_LABELS.get(fields[only], fields[only])
            ax.set_title(title, fontsize=9)
        ax.set_xlabel("condition (row in the PDE data set)")
        ax.set_xticks(idx)
        ax.set_xticklabels([str(int(r)) for r in d["rows"]], fontsize=7, rotation=90 if K > 12 else 0)
        ax.grid(alpha=0.3)
    for a in range(len(panels), nrow * ncol):
        axes[a // ncol][a % ncol].axis("off")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(f"metrics at {K} condition(s): model (filled, red) vs noise floor (open, grey); "
                 "circles c, squares phi", fontsize=10)
    fig.savefig(out, dpi=130)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("evaluation", help="evaluation.h5 written by psgm evaluate")
    ap.add_argument("output", help="directory for the PNG files")
    ap.add_argument("--max-conditions", type=int, default=0, help="per-condition figures for the first K only")
    args = ap.parse_args(argv)
    d = read(args.evaluation)
    os.makedirs(args.output, exist_ok=True)
    K = d["model"].shape[0]
    count = K if args.max_conditions <= 0 else min(K, args.max_conditions)
    for k in range(count):
        row = int(d["rows"][k])
        for name, draw in (("bands", bands), ("spread", spreads)):
            out = os.path.join(args.output, f"{name}_{row}.png")
            draw(d, k, out)
            print("wrote", out)
    out = os.path.join(args.output, "metrics.png")
    metrics(d, out)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
