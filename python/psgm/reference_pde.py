"""An independent numpy implementation of the porous-electrode model (spec model.md).

Written from the specification alone (shared/spec/model.md §1, §3–6), not
from psgm's C++ kernels, so that agreement between the two is evidence that
both implement the spec. Used by the test ``cli/generate matches the Python
reference`` (tests/cli), which recomputes every field of a ``psgm generate``
data set from its stored porosity and conditions.

    import numpy as np
    from psgm.reference_pde import Parameters, solve
    p = Parameters()                                  # the reference case
    eps = np.full((1, p.N), 0.35)                     # (B, N) porosity
    c, phi = solve(eps, U0=np.array([0.0]), F_right=np.array([25.0]), params=p)

What is implemented:

* ``mode="transient"`` (the reference): potential eq. §4 with harmonic face
  means, shift ``phi -= phi[0]``, reaction current from the *shifted*
  potential (§5), ``int(T/dt)`` implicit-Euler steps in diffusion with explicit
  source and a Dirichlet last cell (§6).
* ``mode="steady"`` (extension of §6): the steady concentration solved
  directly, with the reaction current from the *unshifted* potential, as the
  spec prescribes for the extensions; the reported phi is shifted.

Linear kinetics only. Tridiagonal systems are solved with the Thomas
algorithm, vectorised over the batch; ``solve_dense`` solves the same discrete
equations with numpy.linalg.solve for checking this module itself.

Needs only numpy.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Parameters", "cell_centres", "assemble_potential", "assemble_concentration", "solve", "solve_dense",
           "thomas"]


@dataclasses.dataclass
class Parameters:
    """Every constant of spec model.md; the defaults are the reference case."""

    L: float = 1e-4            # electrode thickness [m]
    N: int = 100               # cells
    kappa0: float = 1.0        # bulk conductivity [S/m]
    D0: float = 3e-11          # bulk diffusivity [m^2/s]
    bruggeman: float = 1.5     # Bruggeman exponent b
    a0: float = 5e5            # specific surface area scale [1/m]
    k_rn: float = 0.1          # reaction rate
    G: float = 1e3             # solid potential gradient, phi_s = -G x [V/m]
    t_plus: float = 0.4        # transference number
    faraday: float = 96485.33212
    c0: float = 1000.0         # initial concentration [mol/m^3]
    c_right: float = 1000.0    # Dirichlet value on the last cell
    dt: float = 0.1            # time step [s]
    T: float = 100.0           # final time [s]
    mode: str = "transient"    # "transient" (reference) or "steady"

    @property
    def dx(self) -> float:
        return self.L / self.N

    @property
    def num_steps(self) -> int:
        return int(self.T / self.dt)

    @classmethod
    def from_attributes(cls, attrs) -> "Parameters":
        """Parameters from the root attributes of a psgm data set file (h5py ``f.attrs``)."""
        kw = {}
        for field in dataclasses.fields(cls):
            if field.name != "mode" and field.name in attrs:
                kw[field.name] = int(attrs[field.name]) if field.name == "N" else float(attrs[field.name])
        kw["mode"] = str(attrs.get("time_integration", "transient"))
        return cls(**kw)


def cell_centres(L: float, N: int) -> np.ndarray:
    """x_i = (x_f[i] + x_f[i+1]) / 2 with x_f = linspace(0, L, N+1) (spec §1)."""
    xf = np.linspace(0.0, L, N + 1)
    return (xf[:-1] + xf[1:]) / 2


def _harmonic_faces(k: np.ndarray) -> np.ndarray:
    """Interior face values 2 k_i k_{i+1} / (k_i + k_{i+1}), shape (B, N-1) (spec §3)."""
    return 2 * k[:, :-1] * k[:, 1:] / (k[:, :-1] + k[:, 1:])


def thomas(lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solves tridiagonal systems, batched over the first axis.

    Row i reads lower[:, i] x[i-1] + diag[:, i] x[i] + upper[:, i] x[i+1] = rhs[:, i]
    (lower[:, 0] and upper[:, -1] are ignored). No pivoting: the systems of this
    model are diagonally dominant.
    """
    B, N = diag.shape
    cp = np.empty((B, N))
    dp = np.empty((B, N))
    denom = diag[:, 0]
    cp[:, 0] = upper[:, 0] / denom
    dp[:, 0] = rhs[:, 0] / denom
    for i in range(1, N):
        denom = diag[:, i] - lower[:, i] * cp[:, i - 1]
        cp[:, i] = upper[:, i] / denom
        dp[:, i] = (rhs[:, i] - lower[:, i] * dp[:, i - 1]) / denom
    x = np.empty((B, N))
    x[:, -1] = dp[:, -1]
    for i in range(N - 2, -1, -1):
        x[:, i] = dp[:, i] - cp[:, i] * x[:, i + 1]
    return x


class _FactoredThomas:
    """Thomas algorithm with the elimination of a constant matrix done once."""

    def __init__(self, lower, diag, upper):
        B, N = diag.shape
        self.lower = lower
        self.cp = np.empty((B, N))
        self.inv = np.empty((B, N))
        self.inv[:, 0] = 1.0 / diag[:, 0]
        self.cp[:, 0] = upper[:, 0] * self.inv[:, 0]
        for i in range(1, N):
            self.inv[:, i] = 1.0 / (diag[:, i] - lower[:, i] * self.cp[:, i - 1])
            self.cp[:, i] = upper[:, i] * self.inv[:, i]

    def solve(self, rhs):
        B, N = rhs.shape
        dp = np.empty((B, N))
        dp[:, 0] = rhs[:, 0] * self.inv[:, 0]
        for i in range(1, N):
            dp[:, i] = (rhs[:, i] - self.lower[:, i] * dp[:, i - 1]) * self.inv[:, i]
        x = np.empty((B, N))
        x[:, -1] = dp[:, -1]
        for i in range(N - 2, -1, -1):
            x[:, i] = dp[:, i] - self.cp[:, i] * x[:, i + 1]
        return x


def _as_batch(eps, U0, F_right, params: Parameters):
    eps = np.atleast_2d(np.asarray(eps, dtype=np.float64))
    B, N = eps.shape
    if N != params.N:
        raise ValueError(f"porosity has {N} cells; expected N = {params.N}")
    if N < 3:
        raise ValueError(f"N = {N} must be >= 3")
    U0 = np.broadcast_to(np.asarray(U0, dtype=np.float64), (B,))
    F_right = np.broadcast_to(np.asarray(F_right, dtype=np.float64), (B,))
    return eps, U0, F_right


def assemble_potential(eps, U0, F_right, params: Parameters):
    """The tridiagonal potential system of spec §4: (lower, diag, upper, rhs), each (B, N)."""
    eps, U0, F_right = _as_batch(eps, U0, F_right, params)
    B, N = eps.shape
    dx = params.dx
    kappa = params.kappa0 * eps ** params.bruggeman
    kf = _harmonic_faces(kappa)
    zeros = np.zeros((B, 1))
    kw = np.concatenate([zeros, kf], axis=1)  # kappa_{i-1/2}, 0 at x = 0
    ke = np.concatenate([kf, zeros], axis=1)  # kappa_{i+1/2}, 0 at x = L
    a_s = params.a0 * (1 - eps)
    r = a_s * params.k_rn * dx ** 2
    phi_s = -params.G * cell_centres(params.L, N)
    diag = kw + ke + r
    lower = -kw
    upper = -ke
    rhs = r * (phi_s[None, :] - U0[:, None])
    rhs[:, -1] += dx * F_right
    return lower, diag, upper, rhs


def assemble_concentration(eps, params: Parameters, steady: bool = False):
    """The matrix of spec §6 (lower, diag, upper), each (B, N); the last row is the Dirichlet row."""
    eps = np.atleast_2d(np.asarray(eps, dtype=np.float64))
    B, N = eps.shape
    dx2 = params.dx ** 2
    D = params.D0 * eps ** params.bruggeman
    Df = _harmonic_faces(D)
    zeros = np.zeros((B, 1))
    Dw = np.concatenate([zeros, Df], axis=1)  # D_{i-1/2}, 0 at x = 0
    De = np.concatenate([Df, zeros], axis=1)  # D_{i+1/2}
    diag = (Dw + De) / dx2
    if not steady:
        diag = eps / params.dt + diag
    lower = -Dw / dx2
    upper = -De / dx2
    diag[:, -1] = 1.0
    lower[:, -1] = 0.0
    upper[:, -1] = 0.0
    return lower, diag, upper


def _source(eps, phi_for_j, U0, params: Parameters):
    """S_i = (1 - t+) / F a_s,i j_i with j = k_rn (phi_s - phi - U0) (spec §5–6)."""
    N = eps.shape[1]
    phi_s = -params.G * cell_centres(params.L, N)
    j = params.k_rn * (phi_s[None, :] - phi_for_j - U0[:, None])
    a_s = params.a0 * (1 - eps)
    return (1 - params.t_plus) / params.faraday * a_s * j


def solve(eps, U0, F_right, params: Parameters = None):
    """(c, phi) of shape (B, N) each, for porosity eps (B, N) and conditions U0, F_right (B)."""
    params = params or Parameters()
    eps, U0, F_right = _as_batch(eps, U0, F_right, params)
    lower, diag, upper, rhs = assemble_potential(eps, U0, F_right, params)
    phi_raw = thomas(lower, diag, upper, rhs)
    phi = phi_raw - phi_raw[:, :1]
    if params.mode == "transient":
        S = _source(eps, phi, U0, params)           # the reference: j from the shifted potential
        cl, cd, cu = assemble_concentration(eps, params)
        solver = _FactoredThomas(cl, cd, cu)
        c = np.full(eps.shape, params.c0)
        a = eps / params.dt
        for _ in range(params.num_steps):
            rhs_c = a * c + S
            rhs_c[:, -1] = params.c_right
            c = solver.solve(rhs_c)
    elif params.mode == "steady":
        S = _source(eps, phi_raw, U0, params)       # extensions: j from the potential that solves §4
        cl, cd, cu = assemble_concentration(eps, params, steady=True)
        rhs_c = S.copy()
        rhs_c[:, -1] = params.c_right
        c = thomas(cl, cd, cu, rhs_c)
    else:
        raise ValueError(f"mode '{params.mode}': expected 'transient' or 'steady'")
    return c, phi


def _dense(lower, diag, upper):
    B, N = diag.shape
    A = np.zeros((B, N, N))
    idx = np.arange(N)
    A[:, idx, idx] = diag
    A[:, idx[1:], idx[:-1]] = lower[:, 1:]
    A[:, idx[:-1], idx[1:]] = upper[:, :-1]
    return A


def solve_dense(eps, U0, F_right, params: Parameters = None):
    """The same discrete equations as solve(), with dense LU solves (numpy.linalg.solve).

    Slow (a dense solve per time step); for checking solve() on tiny cases.
    """
    params = params or Parameters()
    eps, U0, F_right = _as_batch(eps, U0, F_right, params)
    lower, diag, upper, rhs = assemble_potential(eps, U0, F_right, params)
    phi_raw = np.linalg.solve(_dense(lower, diag, upper), rhs[..., None])[..., 0]
    phi = phi_raw - phi_raw[:, :1]
    steady = params.mode == "steady"
    A = _dense(*assemble_concentration(eps, params, steady=steady))
    if steady:
        rhs_c = _source(eps, phi_raw, U0, params)
        rhs_c[:, -1] = params.c_right
        c = np.linalg.solve(A, rhs_c[..., None])[..., 0]
    else:
        S = _source(eps, phi, U0, params)
        c = np.full(eps.shape, params.c0)
        for _ in range(params.num_steps):
            rhs_c = eps / params.dt * c + S
            rhs_c[:, -1] = params.c_right
            c = np.linalg.solve(A, rhs_c[..., None])[..., 0]
    return c, phi
