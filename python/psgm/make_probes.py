"""Synthetic probe observations of one PDE realisation (a twin experiment).

Reads field `--realisation` of condition `--condition` of a data-set file as
the truth, and writes a CSV of docs/posterior.md (channel,x,value,noise_std)
with one probe per `--probe CHANNEL:FRACTION` (position FRACTION of the way
from the first to the last grid point). Each probe's noise standard deviation
is `--noise` times the ensemble's spread at that position (the file's fields
at the same condition), and its value the truth's plus a noise draw:

    python3 -m psgm.make_probes truth.h5 --probe c:0.25 --probe c:0.5 --probe phi:0.9 \\
        --noise 0.5 --seed 1 -o probes.csv
"""
import argparse
import sys

import h5py
import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("--condition", type=int, default=0)
    ap.add_argument("--realisation", type=int, default=0, help="which field of the condition is the truth")
    ap.add_argument("--probe", action="append", required=True, help="CHANNEL:FRACTION, e.g. c:0.5")
    ap.add_argument("--noise", type=float, default=0.5, help="noise std in units of the ensemble spread there")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args(argv)
    with h5py.File(a.data, "r") as h:
        x = h["grid/x"][:]
        ci = h["samples/condition_index"][:]
        f = h["samples/fields"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f.attrs.get("channels", [])]
        fields = f[:][ci == a.condition]
    if a.realisation >= len(fields):
        sys.exit(f"{a.data}: condition {a.condition} has {len(fields)} fields")
    truth = fields[a.realisation]
    others = np.delete(fields, a.realisation, axis=0)
    rng = np.random.default_rng(a.seed)
    rows = []
    for p in a.probe:
        ch, frac = p.split(":")
        c = names.index(ch) if ch in names else int(ch)
        xp = x[0] + float(frac) * (x[-1] - x[0])
        i = min(max(np.searchsorted(x, xp, side="right") - 1, 0), len(x) - 2)
        t = (xp - x[i]) / (x[i + 1] - x[i])
        h_truth = (1 - t) * truth[c, i] + t * truth[c, i + 1]
        h_ens = (1 - t) * others[:, c, i] + t * others[:, c, i + 1]
        s = a.noise * h_ens.std(ddof=1)
        if not s > 0:
            sys.exit(f"probe {p}: the ensemble has no spread there (a pinned point); choose another position")
        rows.append((names[c] if names else str(c), xp, h_truth + s * rng.standard_normal(), s))
    with open(a.output, "w") as fh:
        fh.write("channel,x,value,noise_std\n")
        for r in rows:
            # float(): numpy >= 2 writes its scalars as np.float64(...) under repr
            fh.write(f"{r[0]},{float(r[1])!r},{float(r[2])!r},{float(r[3])!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
