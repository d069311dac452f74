"""Spread and mean of generated ensembles against a large PDE ensemble.

The n = 200 metrics of `psgm evaluate` mix a model's systematic error with
the sampling noise of 200 fields (the noise floor). With a PDE ensemble of a
few thousand fields per condition as the truth and a few thousand samples
from the model, the systematic part shows alone:

    psgm generate --preset small -o truth.h5 --seed 10 --set conditions.source=file \\
        --set conditions.file=val.h5 --set conditions.realisations=4000
    psgm sample --preset small -m emulator.h5 -o emu2000.h5 -n 2000 --set conditions.source=file \\
        --set conditions.file=val.h5 --set sample.grid_from=val.h5
    python3 -m psgm.spread_vs_truth --truth truth.h5 emu2000.h5 [more.h5 ...]

Per channel, root mean square over the conditions of: the error of log σ
over the points with spread; its split into the level (the log of the
channel's mean variance) and the shape (σ over the level's square root);
the mean's error in units of the true spread; and the mean signed error of
log σ (> 0: the ensemble spreads too widely everywhere, e.g. a sampler's
discretisation error, docs/results.md §2e). Rows of another PDE ensemble
of the samples' size give the part that is sampling noise.

Then the quantity of interest of docs/metrics.md (M6), P(min_x c < c_crit)
with c_crit the truth's 10 % quantile of min_x c at each condition (channel
`--qoi-channel`, default 0): the mean and the mean signed value of
P_samples - P_truth over the conditions where the event is possible (the
truth's quantile lies below its largest minimum; where c is pinned at its
smallest value the event never happens and every ensemble gets it right).
"""
import argparse

import h5py
import numpy as np


def by_condition(path):
    with h5py.File(path, "r") as h:
        x = h["samples/fields"][:]
        ci = h["samples/condition_index"][:]
        cond = h["conditions"][:]
        raw = h["samples/fields"].attrs.get("channels", [])  # docs/data.md: the channel names
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    return [x[ci == i] for i in range(len(cond))], cond, names


def compare(truth, samples, tolerance=1e-9):
    """{channel: (sigma_rms, level_rms, shape_rms, mean_rms, sigma_bias)} over the
    conditions; sigma_bias is the mean signed log(sigma_samples / sigma_truth)
    over points and conditions (> 0: the samples spread too widely)."""
    out = {}
    for ch in range(truth[0].shape[1]):
        sig, lev, shp, mean, bias = [], [], [], [], []
        for t, m in zip(truth, samples):
            vt, vm = t[:, ch, :].var(0), m[:, ch, :].var(0)
            ok = vt > tolerance * vt.max()
            st, sm = np.sqrt(vt[ok]), np.sqrt(vm[ok])
            sig.append(np.mean(np.log(sm / st) ** 2))
            bias.append(np.mean(np.log(sm / st)))
            lev.append((0.5 * np.log(vm[ok].mean() / vt[ok].mean())) ** 2)
            shp.append(np.mean(np.log((sm / np.sqrt(vm[ok].mean())) / (st / np.sqrt(vt[ok].mean()))) ** 2))
            mean.append(np.mean(((m[:, ch, :].mean(0) - t[:, ch, :].mean(0))[ok] / st) ** 2))
        out[ch] = tuple(float(np.sqrt(np.mean(v))) for v in (sig, lev, shp, mean)) + (float(np.mean(bias)),)
    return out


def qoi(truth, samples, channel=0, quantile=0.1):
    """(mean |P_s - P_t|, mean P_s - P_t, informative conditions) of P(min_x c < c_crit)."""
    err = []
    for t, m in zip(truth, samples):
        mt, ms = t[:, channel, :].min(1), m[:, channel, :].min(1)
        crit = np.quantile(mt, quantile)
        if not np.any(mt < crit):
            continue
        err.append(np.mean(ms < crit) - np.mean(mt < crit))
    err = np.array(err)
    if err.size == 0:
        return float("nan"), float("nan"), 0
    return float(np.mean(np.abs(err))), float(np.mean(err)), int(err.size)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--truth", required=True, help="a large PDE ensemble at the same conditions")
    p.add_argument("samples", nargs="+", help="ensembles to compare (psgm sample or psgm generate output)")
    p.add_argument("--qoi-channel", type=int, default=0, help="the channel of the quantity of interest (c: 0)")
    a = p.parse_args()
    truth, cond, names = by_condition(a.truth)
    print("| ensemble | channel | n | log sigma (rms) | level | shape | mean error / spread | log sigma (mean signed) |")
    print("|---|---|---|---|---|---|---|---|")
    for path in a.samples:
        s, c, _ = by_condition(path)
        if len(c) != len(cond) or not np.allclose(c, cond, rtol=1e-12, atol=0):
            raise SystemExit(f"{path}: its conditions are not those of {a.truth} (same rows, same order expected)")
        for ch, (sig, lev, shp, mean, bias) in compare(truth, s).items():
            name = names[ch] if ch < len(names) else str(ch)
            print(f"| {path} | {name} | {len(s[0])} | {sig:.4f} | {lev:.4f} | {shp:.4f} | {mean:.4f} | {bias:+.4f} |")
    print()
    print("| ensemble | n | QoI: mean abs(P - P_truth) | mean P - P_truth | conditions where the event is possible |")
    print("|---|---|---|---|---|")
    for path in a.samples:
        s, _, _ = by_condition(path)
        err, bias, k = qoi(truth, s, a.qoi_channel)
        print(f"| {path} | {len(s[0])} | {err:.4f} | {bias:+.4f} | {k} of {len(s)} |")


if __name__ == "__main__":
    main()
