"""Posterior ensembles against an importance-sampled PDE posterior.

psgm solves thousands of PDEs per second per core, so the true posterior of
the fields given a few probes at one condition can be approximated without a
model: a large PDE ensemble (1e5 fields) weighted by the observations'
likelihood, w_i ∝ exp(-½ Σ_j ((y_j - (H x_i)_j) / s_j)²), H the linear
interpolation of docs/posterior.md. The effective sample size
ESS = (Σ w)² / Σ w² says how many independent fields the weighted ensemble is
worth; below --min-ess the reference is refused (exit 3), never judged.

The ensemble is split in two halves: A is the reference, B gives the noise
floor: n fields resampled from B by their weights (n the size of the
posterior ensembles judged), compared with A like any ensemble, averaged over
--floor-draws resamplings. Per channel, over the points with spread:

  mean error    mean_x |m_S(x) - m_A(x)| / s_A(x)      (in posterior spreads)
  spread error  mean_x |s_S(x) - s_A(x)| / s_A(x)
  coverage      the A-weight inside S's pointwise 2.5-97.5 % band, mean over x

    psgm generate --preset small -o ref.h5 --seed 5 --set conditions.source=list \\
        --set 'conditions.list=[[1.6e-05, 0.19, 19.5]]' --set conditions.realisations=100000
    psgm sample -m model.h5 -o post.h5 --observe probes.csv ... (the same condition)
    python3 -m psgm.posterior_check --reference ref.h5 --observe probes.csv post.h5 [emulator_post.h5 ...]

Prints one table row per ensemble and per channel, the floor's beside, and
with --json a machine-readable copy.

--prior FILE (repeatable) judges the exact posterior of another prior, e.g.
a score model's unguided draws at the condition (psgm sample without
--observe, 1e5 of them): FILE weighted by the same likelihood, n fields
resampled by the weights (n = --prior-n) and judged like an ensemble,
averaged over --floor-draws resamplings like the floor. Beside a guided
ensemble of the same model it separates the two errors a guided sampler
makes: the model's prior (what the importance-resampled row shows) and the
guidance (the rest). docs/posterior.md §5.

--exact-draws D asks how a perfect sampler would fare at this case: D
ensembles of n exact posterior draws (half B resampled by its weights), each
judged against A and divided by the mean of the D; prints how often one such
ensemble exceeds --bar times the floor in each mean and spread error, and in
none of them (the chance that exact draws meet a per-case bar).
"""
import argparse
import csv
import json
import sys

import h5py
import numpy as np


def read_fields(path, condition):
    with h5py.File(path, "r") as h:
        x = h["grid/x"][:]
        f = h["samples/fields"]
        ci = h["samples/condition_index"][:]
        st = h["samples/status"][:] if "status" in h["samples"] else np.zeros(len(ci), dtype=np.int8)
        raw = f.attrs.get("channels", [])
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
        keep = (ci == condition) & (st == 0)
        fields = f[:][keep]
        cond = h["conditions"][condition]
    return x, fields, names, cond


def read_observations(path, names):
    rows = []
    with open(path) as fh:
        lines = [l.split("#", 1)[0] for l in fh]
        for r in csv.DictReader(l for l in lines if l.strip()):
            r = {k.strip(): v.strip() for k, v in r.items()}
            ch = r["channel"]
            ch = names.index(ch) if ch in names else int(ch)
            rows.append((ch, float(r["x"]), float(r["value"]), float(r["noise_std"])))
    if not rows:
        raise SystemExit(f"{path}: no observations")
    return rows


def operator(obs, x, C):
    """(m, C*N) dense H: linear interpolation between the two grid points around each probe."""
    N = len(x)
    H = np.zeros((len(obs), C * N))
    for j, (ch, xp, _, _) in enumerate(obs):
        if not (x[0] <= xp <= x[-1]):
            raise SystemExit(f"observation {j}: x = {xp} outside the grid [{x[0]}, {x[-1]}]")
        i = min(max(np.searchsorted(x, xp, side="right") - 1, 0), N - 2)
        t = (xp - x[i]) / (x[i + 1] - x[i])
        H[j, ch * N + i] += 1 - t
        H[j, ch * N + i + 1] += t
    return H


def weights(fields, H, obs):
    y = np.array([o[2] for o in obs])
    s = np.array([o[3] for o in obs])
    r = (fields.reshape(len(fields), -1) @ H.T - y) / s
    logw = -0.5 * np.sum(r * r, axis=1)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return w, 1.0 / np.sum(w * w)


def weighted_quantile(v, w, q):
    """Per column of v (n, P): the weighted q-quantile (inverse of the weighted CDF)."""
    order = np.argsort(v, axis=0)
    vs = np.take_along_axis(v, order, axis=0)
    cw = np.cumsum(w[order], axis=0)
    idx = np.argmax(cw >= q, axis=0)
    return vs[idx, np.arange(v.shape[1])]


def metrics(S, A, wA, C):
    """Per channel: mean error, spread error, coverage of ensemble S (n, C, N) against weighted A, and
    how far S's mean moved from the prior's (A unweighted) toward the posterior's (A weighted)."""
    n, _, N = S.shape
    mA = np.einsum("i,icx->cx", wA, A)
    mP = A.mean(axis=0)
    sA = np.sqrt(np.einsum("i,icx->cx", wA, (A - mA) ** 2))
    mS = S.mean(axis=0)
    sS = S.std(axis=0, ddof=1)
    lo = np.quantile(S, 0.025, axis=0)
    hi = np.quantile(S, 0.975, axis=0)
    inside = np.einsum("i,icx->cx", wA, ((A >= lo) & (A <= hi)).astype(float))
    out = []
    for c in range(C):
        free = sA[c] > 1e-12 * max(np.abs(mA[c]).max(), 1e-300)
        out.append({
            "mean_error": float(np.mean(np.abs(mS[c, free] - mA[c, free]) / sA[c, free])),
            "spread_error": float(np.mean(np.abs(sS[c, free] - sA[c, free]) / sA[c, free])),
            "coverage": float(np.mean(inside[c, free])),
            # The projection of S's mean shift on the posterior's, in posterior spreads: 1 all the way,
            # below 1 under-conditioned, above 1 over-conditioned (docs/posterior.md §5b).
            "moved": float(np.sum((mS[c, free] - mP[c, free]) * (mA[c, free] - mP[c, free]) / sA[c, free] ** 2)
                           / max(np.sum(((mA[c, free] - mP[c, free]) / sA[c, free]) ** 2), 1e-300)),
        })
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", required=True, help="PDE ensemble at the condition (data-set file)")
    ap.add_argument("--observe", required=True, help="observations CSV (channel,x,value,noise_std)")
    ap.add_argument("--condition", type=int, default=0, help="condition index in every file (default 0)")
    ap.add_argument("--min-ess", type=float, default=1000.0, help="refuse a reference half below this ESS")
    ap.add_argument("--floor-draws", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--prior", action="append", default=[],
                    help="a prior ensemble (e.g. unguided model draws) judged through its importance-resampled "
                         "posterior; repeatable")
    ap.add_argument("--prior-n", type=int, default=500, help="fields per resampling of a --prior (default 500)")
    ap.add_argument("--exact-draws", type=int, default=0,
                    help="judge this many ensembles of exact draws to show the per-case bar's chance (0: skip)")
    ap.add_argument("--bar", type=float, default=1.5, help="the ratio to the floor --exact-draws tests (default 1.5)")
    ap.add_argument("samples", nargs="*", help="posterior ensembles (psgm sample --observe)")
    a = ap.parse_args(argv)
    if not a.samples and not a.prior and a.exact_draws <= 0:
        ap.error("nothing to judge: give posterior ensembles and/or --prior files")
    if a.prior_n < 2:
        ap.error(f"--prior-n = {a.prior_n}: need at least 2 fields")

    x, ref, names, cond = read_fields(a.reference, a.condition)
    C = ref.shape[1]
    names = names or [str(c) for c in range(C)]
    obs = read_observations(a.observe, names)
    H = operator(obs, x, C)
    half = len(ref) // 2
    A, B = ref[:half], ref[half:]
    wA, essA = weights(A, H, obs)
    wB, essB = weights(B, H, obs)
    print(f"reference {a.reference}: {len(ref)} PDE fields at condition {list(cond)}; "
          f"ESS {essA:.0f} (half A, the reference) and {essB:.0f} (half B, the floor)")
    if min(essA, essB) < a.min_ess:
        print(f"posterior_check: ESS below --min-ess = {a.min_ess:.0f}: the importance-sampled reference is too "
              f"poor to judge against (more PDE fields, or less informative probes)", file=sys.stderr)
        return 3
    rng = np.random.default_rng(a.seed)
    result = {"reference": a.reference, "ess_reference": essA, "ess_floor": essB, "condition": list(map(float, cond)),
              "observations": obs, "ensembles": {}}
    rows = []
    for path in a.samples:
        _, S, _, scond = read_fields(path, a.condition)
        if not np.allclose(scond, cond, rtol=1e-12, atol=0):
            raise SystemExit(f"{path}: condition {list(scond)} is not the reference's {list(cond)}")
        n = len(S)
        m = metrics(S, A, wA, C)
        floor = [metrics(B[rng.choice(len(B), size=n, p=wB)], A, wA, C) for _ in range(a.floor_draws)]
        fl = [{k: float(np.mean([f[c][k] for f in floor])) for k in m[c]} for c in range(C)]
        result["ensembles"][path] = {"n": n, "metrics": m, "floor": fl}
        for c in range(C):
            rows.append((path, names[c], n, m[c], fl[c]))
    for path in a.prior:
        _, P, _, pcond = read_fields(path, a.condition)
        if not np.allclose(pcond, cond, rtol=1e-12, atol=0):
            raise SystemExit(f"{path}: condition {list(pcond)} is not the reference's {list(cond)}")
        wP, essP = weights(P, H, obs)
        n = a.prior_n
        draws = [metrics(P[rng.choice(len(P), size=n, p=wP)], A, wA, C) for _ in range(a.floor_draws)]
        floor = [metrics(B[rng.choice(len(B), size=n, p=wB)], A, wA, C) for _ in range(a.floor_draws)]
        mm = [{k: float(np.mean([d[c][k] for d in draws])) for k in draws[0][c]} for c in range(C)]
        fl = [{k: float(np.mean([f[c][k] for f in floor])) for k in mm[c]} for c in range(C)]
        label = f"{path} (importance-resampled, {len(P)} fields, ESS {essP:.0f})"
        result["ensembles"][label] = {"n": n, "prior_fields": len(P), "ess": essP, "metrics": mm, "floor": fl}
        for c in range(C):
            rows.append((label, names[c], n, mm[c], fl[c]))
    print("| ensemble | channel | n | mean err | floor | ratio | spread err | floor | ratio | coverage | floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path, ch, n, m, f in rows:
        print(f"| {path} | {ch} | {n} | {m['mean_error']:.3f} | {f['mean_error']:.3f} | "
              f"{m['mean_error'] / f['mean_error']:.2f} | {m['spread_error']:.3f} | {f['spread_error']:.3f} | "
              f"{m['spread_error'] / f['spread_error']:.2f} | {m['coverage']:.3f} | {f['coverage']:.3f} |")
    moved = [(path, ch, m["moved"], f["moved"]) for path, ch, n, m, f in rows]
    if moved:
        print("moved from the prior mean toward the posterior's (1: all the way; the floor's beside):")
        for path, ch, mv, fm in moved:
            print(f"  {path} {ch}: {mv:.3f} (floor {fm:.3f})")
    if a.exact_draws > 0:
        n = a.prior_n
        draws = [metrics(B[rng.choice(len(B), size=n, p=wB)], A, wA, C) for _ in range(max(a.exact_draws, 2))]
        meets = np.ones(len(draws), bool)
        exact = {"n": n, "draws": len(draws), "bar": a.bar, "channels": {}}
        print(f"exact draws ({len(draws)} ensembles of n = {n} from half B): how often one exceeds {a.bar} x the floor")
        for c in range(C):
            for k in ("mean_error", "spread_error"):
                v = np.array([d[c][k] for d in draws])
                r = v / v.mean()
                meets &= r <= a.bar
                lo, hi = np.quantile(r, [0.05, 0.95])
                exact["channels"].setdefault(names[c], {})[k] = {"p_exceeds": float(np.mean(r > a.bar)),
                                                                 "q05": float(lo), "q95": float(hi)}
                print(f"  {names[c]} {k}: {np.mean(r > a.bar):.2f} (90 % of the ratios in {lo:.2f}-{hi:.2f})")
        exact["p_meets_all"] = float(meets.mean())
        print(f"  within {a.bar} x in all of them: {meets.mean():.2f}")
        result["exact_draws"] = exact
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
