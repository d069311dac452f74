#!/usr/bin/python3
"""The reference case as a careful numpy user would write it: psgm's peer.

Issue 17 asks how psgm's ensemble solver compares, per core, with the same
computation written well in Python. This is that program, from the
specification (shared/spec/model.md §3-6) alone:

* arrays are cell-major, (N, B): row i holds cell i of every realisation, so
  that each per-cell operation is one numpy call over a contiguous batch;
* the implicit-Euler matrix is the same at every step, so its elimination is
  done once (docs/model.md eq. 12) and every step only does the two sweeps,
  with the algebra psgm's host kernels use (docs/model.md §6.1): the steady
  state c_s is the fixed point of every step, so c = c_s + E^{-1/2} y with
  y <- M~^{-1} y for the symmetric M~ = L D L^T; per step
  ``y[i] -= LL[i] y[i-1]`` forward, ``y *= 1/D`` (one whole-array call) and
  ``y[i] -= LL[i+1] y[i+1]`` backward (two calls per cell each, into
  preallocated buffers: no temporaries). What psgm does beyond this, fusing
  the back substitution of one step with the elimination of the next (it
  alternates two factorisations), saves memory passes in compiled code and
  nothing in numpy, where every call is a pass;
* everything else (Bruggeman coefficients, harmonic means, the potential's
  Thomas solve, the shift, the source) is vectorised over the batch too.

The loop over cells and steps stays in Python: a tridiagonal sweep is a
recurrence along the cells, and numpy has no batched tridiagonal solver
(scipy.linalg.solve_banded solves one system at a time). What a careful user
controls is the batch size, which amortises the interpreter's per-call cost;
``--batches`` times several and the benchmark driver
(perf/bench_ensemble_peers.sh) keeps the fastest.

    /usr/bin/python3 perf/numpy_peer.py --batches 256,1024,4096 [--check]

prints one line per batch,

    numpy_peer batch=<B> setup_s=<s> loop_s=<s> per_s=<realisations/s> loop_per_s=<...>

and with ``--check`` first compares a small batch with the independent
reference python/psgm/reference_pde.py (relative error <= 1e-12).
Single-threaded by construction (element-wise numpy calls use one core).
"""

import argparse
import os
import sys
import time

import numpy as np

L, N = 1e-4, 100
KAPPA0, D0, BRUGGEMAN, A0, K_RN, G = 1.0, 3e-11, 1.5, 5e5, 0.1, 1e3
T_PLUS, FARADAY, C0, C_RIGHT, DT, T_END = 0.4, 96485.33212, 1000.0, 1000.0, 0.1, 100.0


def thomas(diag, west, east, rhs):
    """x with diag_i x_i - west_i x_{i-1} - east_i x_{i+1} = rhs_i, every (n, B) column at once (Thomas)."""
    n, B = rhs.shape
    cp = np.empty((n, B))
    x = np.empty((n, B))
    den = diag[0]
    cp[0] = -east[0] / den
    x[0] = rhs[0] / den
    for i in range(1, n):
        den = diag[i] + west[i] * cp[i - 1]
        cp[i] = -east[i] / den
        x[i] = (rhs[i] + west[i] * x[i - 1]) / den
    for i in range(n - 2, -1, -1):
        x[i] -= cp[i] * x[i + 1]
    return x


def setup(eps, U0, F_right):
    """Factors of eq. 12 and the shifted potential; eps is (B, N), returned arrays (N, B)."""
    e = np.ascontiguousarray(eps.T)  # (N, B)
    n, B = e.shape
    dx = L / n
    dx2 = dx * dx
    xf = np.linspace(0.0, L, n + 1)
    phis = -G * (xf[:-1] + xf[1:]) / 2
    pe = e ** BRUGGEMAN
    kap = KAPPA0 * pe
    dif = D0 * pe
    a_s = A0 * (1 - e)
    kf = 2 * kap[:-1] * kap[1:] / (kap[:-1] + kap[1:])  # kappa_{i+1/2}, (N-1, B)
    df = 2 * dif[:-1] * dif[1:] / (dif[:-1] + dif[1:])
    # Potential (spec §4): Thomas, vectorised over the batch.
    zero = np.zeros((1, B))
    kw = np.concatenate([zero, kf])
    ke = np.concatenate([kf, zero])
    r = a_s * (K_RN * dx2)
    diag = kw + ke + r
    rhs = r * (phis[:, None] - U0[None, :])
    rhs[-1] += dx * F_right
    phi = thomas(diag, kw, ke, rhs)
    phi -= phi[0]
    # Source from the shifted potential (spec §5-6), then the factors of eq. 12.
    S = (1 - T_PLUS) / FARADAY * a_s * K_RN * (phis[:, None] - phi - U0[None, :])
    m = n - 1  # unknowns c_0 .. c_{N-2}
    dw = np.concatenate([zero, df[:-1]]) / dx2  # D_{i-1/2}/dx², rows 0..N-2
    de = df / dx2
    w = e[:m] / DT
    S = S[:m].copy()
    S[-1] += de[-1] * C_RIGHT
    # The steady state of the same source (eq. 13), the fixed point of every step.
    kd = dw + de  # diagonal of the diffusion matrix K
    cs = thomas(kd, dw, de, S)
    # psgm's algebra (docs/model.md §6.1): c = c_s + E^{-1/2} y, y <- M~^{-1} y,
    # M~ = I + E^{-1/2} K E^{-1/2} = L D L^T factored once: l_i into LL, 1/D_i into IP.
    s = np.sqrt(w)
    dg = 1.0 + kd / w
    f = -de[:-1] / (s[:-1] * s[1:])  # M~_{i,i+1}
    LL = np.zeros((m + 1, B))  # LL[0] = LL[m] = 0
    IP = np.empty((m, B))
    p = dg[0]
    IP[0] = 1.0 / p
    for i in range(1, m):
        LL[i] = f[i - 1] / p
        p = dg[i] - LL[i] * f[i - 1]
        IP[i] = 1.0 / p
    return cs, s, LL, IP, phi


def time_loop(cs, s, LL, IP, steps):
    """int(T/dt) implicit-Euler steps (eq. 12) with the factors reused; returns c (N-1, B)."""
    m, B = cs.shape
    y = s * (C0 - cs)
    tmp = np.empty(B)
    mul, sub = np.multiply, np.subtract
    for _ in range(steps):
        for i in range(1, m):  # forward: d_i = y_i - l_i d_{i-1}
            mul(LL[i], y[i - 1], out=tmp)
            sub(y[i], tmp, out=y[i])
        y *= IP  # one whole-array call
        for i in range(m - 2, -1, -1):  # backward: y_i = d_i / D_i - l_{i+1} y_{i+1}
            mul(LL[i + 1], y[i + 1], out=tmp)
            sub(y[i], tmp, out=y[i])
    return cs + y / s


def solve(eps, U0, F_right):
    """(c, phi), each (B, N), and the seconds spent in setup and in the time loop.

    Seconds of CPU time of this thread (time.thread_time): a descheduled
    process does not accumulate it, as in bench_ensemble's per-core figures.
    """
    t0 = time.thread_time()
    cs, sq, LL, IP, phi = setup(eps, U0, F_right)
    t1 = time.thread_time()
    c = time_loop(cs, sq, LL, IP, int(T_END / DT))
    t2 = time.thread_time()
    out_c = np.empty((eps.shape[0], eps.shape[1]))
    out_c[:, :-1] = c.T
    out_c[:, -1] = C_RIGHT
    return out_c, np.ascontiguousarray(phi.T), t1 - t0, t2 - t1


def porosity(B, seed):
    rng = np.random.default_rng(seed)
    return 0.2 + 0.3 * rng.random((B, N))


def check():
    """The peer against the independent reference implementation (python/psgm/reference_pde.py)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    from psgm.reference_pde import Parameters, solve as reference_solve

    eps = porosity(5, 7)
    U0 = np.array([0.0, 0.2, -0.2, 0.1, -0.05])
    F = np.array([25.0, 50.0, 0.0, 10.0, 40.0])
    c, phi, _, _ = solve(eps, U0, F)
    c_ref, phi_ref = reference_solve(eps, U0=U0, F_right=F, params=Parameters())
    err_c = np.max(np.abs(c - c_ref)) / np.max(np.abs(c_ref))
    err_dc = np.max(np.abs((c - C0) - (c_ref - C0))) / np.max(np.abs(c_ref - C0))
    scale = np.maximum(np.max(np.abs(phi_ref), axis=1), np.abs(U0) + G * L)
    err_phi = np.max(np.max(np.abs(phi - phi_ref), axis=1) / scale)
    print(f"numpy_peer check: c {err_c:.3g}, c - c0 {err_dc:.3g}, phi {err_phi:.3g} (relative to the reference)")
    if not (err_c <= 1e-12 and err_phi <= 1e-12 and err_dc <= 1e-8):
        raise SystemExit("numpy_peer: does not match python/psgm/reference_pde.py")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", default="1024", help="comma-separated batch sizes to time")
    parser.add_argument("--repeats", type=int, default=1, help="solves per batch size (the fastest is printed)")
    parser.add_argument("--check", action="store_true", help="compare with python/psgm/reference_pde.py first")
    args = parser.parse_args()
    if args.check:
        check()
    for B in (int(b) for b in args.batches.split(",")):
        eps = porosity(B, 1)
        U0 = np.zeros(B)
        F = np.full(B, 25.0)
        best = None
        for _ in range(args.repeats):
            _, _, ts, tl = solve(eps, U0, F)
            if best is None or ts + tl < best[0] + best[1]:
                best = (ts, tl)
        ts, tl = best
        print(f"numpy_peer batch={B} setup_s={ts:.4f} loop_s={tl:.4f} per_s={B / (ts + tl):.1f} "
              f"loop_per_s={B / tl:.1f}", flush=True)


if __name__ == "__main__":
    main()
