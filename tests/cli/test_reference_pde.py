"""Checks of the numpy reference of the spec itself (python/psgm/reference_pde.py).

The Thomas solves agree with dense LU solves of the same discrete equations,
the grid is the spec's, bad input is refused, and the reference case lands in
the ranges spec model.md §7 states for the reference data (c ≈ 998.5 ± 5,
phi ≈ 2e-3 ± 3e-3).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from psgm import reference_pde as rp  # noqa: E402


def main():
    failures, passed = [], []

    def check(ok, message):
        print(("ok     " if ok else "FAILED ") + message, flush=True)
        (passed if ok else failures).append(message)

    rng = np.random.default_rng(3)
    # Thomas against dense LU on random diagonally dominant systems.
    B, N = 4, 9
    lower, upper = rng.uniform(-1, 0, (B, N)), rng.uniform(-1, 0, (B, N))
    diag = 2.5 + rng.uniform(0, 1, (B, N))
    rhs = rng.normal(size=(B, N))
    x = rp.thomas(lower, diag, upper, rhs)
    A = rp._dense(lower, diag, upper)
    check(np.abs(np.einsum("bij,bj->bi", A, x) - rhs).max() < 1e-14, "thomas solves tridiagonal systems")

    # The model: Thomas/factored Thomas against dense solves (short transient: dense solves are slow).
    for mode in ("transient", "steady"):
        p = rp.Parameters(N=30, T=0.5, mode=mode)
        eps = 0.2 + 0.3 * rng.random((3, p.N))
        U0, F = np.array([-0.2, 0.0, 0.15]), np.array([0.0, 25.0, 50.0])
        c, phi = rp.solve(eps, U0, F, p)
        cd, phid = rp.solve_dense(eps, U0, F, p)
        scale = np.maximum(np.abs(phid).max(1), np.abs(U0) + p.G * p.L)
        e_phi = (np.abs(phi - phid).max(1) / scale).max()
        e_c = (np.abs(c - cd).max(1) / np.abs(cd).max(1)).max()
        # The steady c is driven by the unshifted phi, whose round-off (condition
        # number ~1e6 here) it inherits: 1e-10 there, 1e-12 for the transient c.
        c_tol = 1e-12 if mode == "transient" else 1e-10
        check(e_phi < 1e-12 and e_c < c_tol, f"{mode}: Thomas vs dense LU: phi {e_phi:.2e}, c {e_c:.2e}")
        check(np.all(phi[:, 0] == 0), f"{mode}: phi is shifted to phi_0 = 0")
        check(np.all(c[:, -1] == p.c_right), f"{mode}: Dirichlet value on the last cell")

    # Grid of spec §1.
    x = rp.cell_centres(1e-4, 100)
    check(x.size == 100 and abs(x[0] - 0.5e-6) < 1e-20 and abs(x[-1] - (1e-4 - 0.5e-6)) < 1e-18, "cell centres")

    # The reference case, on GP-like smooth porosity: orders of magnitude of spec §7.
    p = rp.Parameters()
    xs = rp.cell_centres(p.L, p.N)
    l = 1e-5
    K = np.exp(-(xs[:, None] - xs[None, :]) ** 2 / (2 * l * l)) + 1e-4 * np.eye(p.N)
    g = rng.normal(size=(25, p.N)) @ np.linalg.cholesky(K).T
    eps = 0.2 + 0.3 / (1 + np.exp(-g))
    U0 = rng.uniform(-0.2, 0.2, 25)
    F = rng.uniform(0, 50, 25)
    c, phi = rp.solve(eps, U0, F, p)
    check(990 < c.mean() < 1005 and 1 < c.std() < 15, f"reference c = {c.mean():.1f} ± {c.std():.2f} (spec: 998.5 ± 5)")
    check(abs(phi.mean()) < 1e-2 and 1e-3 < phi.std() < 1e-2,
          f"reference phi = {phi.mean():.2e} ± {phi.std():.2e} (spec: 2e-3 ± 3e-3)")

    # Bad input.
    for bad, what in (((np.full((1, 2), 0.3), rp.Parameters(N=2)), "N < 3"),
                      ((np.full((1, 5), 0.3), rp.Parameters(N=6)), "N mismatch")):
        try:
            rp.solve(bad[0], 0.0, 0.0, bad[1])
            check(False, f"{what} refused")
        except ValueError as e:
            check(True, f"{what} refused: {e}")

    print(f"{len(passed)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
