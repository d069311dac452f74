#!/usr/bin/python3
"""Scalar pure-Python baseline of the reference case (spec model.md §3-6).

One realisation at a time, plain Python floats and loops, no numpy in the
solver: Bruggeman coefficients and harmonic face means, the potential
tridiagonal solve by the Thomas algorithm, the shift to the first cell, the
reaction source from the shifted potential, and int(T/dt) implicit-Euler steps
each solved by a full Thomas sweep (forward elimination and back
substitution), as a straightforward scalar implementation does. It is the
baseline of docs/performance.md ("Ensemble solver"):

    /usr/bin/python3 python/psgm/baseline_thomas.py --realisations 3

prints the seconds per realisation and the realisations per second. The
porosity fields are drawn with the standard library (their sampling is not
timed); the solve itself is what psgm's EnsembleSolver batches.
"""

import argparse
import math
import random
import time

L, N = 1e-4, 100
KAPPA0, D0, BRUGGEMAN, A0, K_RN, G = 1.0, 3e-11, 1.5, 5e5, 0.1, 1e3
T_PLUS, FARADAY, C0, C_RIGHT, DT, T_END = 0.4, 96485.33212, 1000.0, 1000.0, 0.1, 100.0


def thomas(a, b, c, d):
    """Solves the tridiagonal system (sub a, diagonal b, super c) x = d."""
    n = len(d)
    cp = [0.0] * n
    dp = [0.0] * n
    cp[0] = c[0] / b[0]
    dp[0] = d[0] / b[0]
    for i in range(1, n):
        den = b[i] - a[i] * cp[i - 1]
        cp[i] = c[i] / den
        dp[i] = (d[i] - a[i] * dp[i - 1]) / den
    x = [0.0] * n
    x[n - 1] = dp[n - 1]
    for i in range(n - 2, -1, -1):
        x[i] = dp[i] - cp[i] * x[i + 1]
    return x


def solve(eps, U0, F_right, n=N):
    dx = L / n
    faces = [i * (L / n) for i in range(n)] + [L]
    x = [(faces[i] + faces[i + 1]) / 2 for i in range(n)]
    kappa = [KAPPA0 * e ** BRUGGEMAN for e in eps]
    dif = [D0 * e ** BRUGGEMAN for e in eps]
    a_s = [A0 * (1 - e) for e in eps]
    kf = [0.0] + [2 * kappa[i] * kappa[i + 1] / (kappa[i] + kappa[i + 1]) for i in range(n - 1)] + [0.0]
    df = [0.0] + [2 * dif[i] * dif[i + 1] / (dif[i] + dif[i + 1]) for i in range(n - 1)] + [0.0]
    # potential (spec §4)
    kdx2 = K_RN * dx * dx
    a = [-kf[i] for i in range(n)]
    b = [kf[i] + kf[i + 1] + a_s[i] * kdx2 for i in range(n)]
    c = [-kf[i + 1] for i in range(n)]
    d = [a_s[i] * kdx2 * (-G * x[i] - U0) for i in range(n)]
    d[n - 1] += dx * F_right
    phi = thomas(a, b, c, d)
    phi0 = phi[0]
    phi = [p - phi0 for p in phi]
    # source from the shifted potential (spec §5-6)
    S = [(1 - T_PLUS) / FARADAY * a_s[i] * K_RN * (-G * x[i] - phi[i] - U0) for i in range(n)]
    # implicit Euler, Dirichlet last cell (spec §6)
    dx2 = dx * dx
    a = [-df[i] / dx2 for i in range(n - 1)] + [0.0]
    b = [eps[i] / DT + (df[i] + df[i + 1]) / dx2 for i in range(n - 1)] + [1.0]
    c = [-df[i + 1] / dx2 for i in range(n - 1)] + [0.0]
    conc = [C0] * n
    for _ in range(int(T_END / DT)):
        rhs = [eps[i] / DT * conc[i] + S[i] for i in range(n - 1)] + [C_RIGHT]
        conc = thomas(a, b, c, rhs)
    return conc, phi


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--realisations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fields = [[0.2 + 0.3 * rng.random() for _ in range(N)] for _ in range(args.realisations)]
    t0 = time.perf_counter()
    for eps in fields:
        conc, phi = solve(eps, 0.0, 25.0)
    elapsed = time.perf_counter() - t0
    per = elapsed / args.realisations
    print(f"pure-Python Thomas baseline, reference case N = {N}, {int(T_END / DT)} steps: "
          f"{per:.3f} s per realisation, {1 / per:.3f} realisations/s (one core); "
          f"c[0] = {conc[0]:.6f}, phi[-1] = {phi[-1]:.6e}")


if __name__ == "__main__":
    main()
