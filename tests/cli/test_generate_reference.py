"""`psgm generate` end to end, checked without psgm code.

Runs the psgm executable on tiny configurations, reads the files with h5py
only, and checks them against the specification (shared/spec/model.md):

* the layout of docs/design.md §4 (data sets, shapes, dtypes, attributes);
* every field against python/psgm/reference_pde.py (numpy, written from the
  spec), recomputed from the stored porosity and conditions;
* the porosity fields against the GP of spec §2 (whitened by the spec's
  covariance they must be i.i.d. N(0, 1));
* the content hash printed by psgm against hashlib (python/psgm/dataset.py);
* reproducibility: same seed -> same data whatever the batch size and thread
  count; another seed -> other data;
* user inputs: the stored porosity and conditions fed back as files give the
  same fields bit for bit.

Usage: test_generate_reference.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from psgm import reference_pde  # noqa: E402
from psgm.dataset import content_sha256, load, write_porosity  # noqa: E402

U = np.finfo(np.float64).eps / 2  # unit round-off
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print("FAILED:", message, flush=True)


def run(psgm, *args, env=None, expect_ok=True):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([psgm, "generate", *args], capture_output=True, text=True, env=e)
    if expect_ok and p.returncode != 0:
        raise SystemExit(f"psgm generate {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def printed_sha(stdout):
    m = re.search(r"content sha256: ([0-9a-f]{64})", stdout)
    if not m:
        raise SystemExit("no content sha256 in the summary:\n" + stdout)
    return m.group(1)


# ---------------------------------------------------------------- checks
def check_layout(path, M, R, N, seed):
    with h5py.File(path, "r") as f:
        n = M * R
        expected = {"grid/x": ((N,), "<f8"), "conditions": ((M, 3), "<f8"), "samples/fields": ((n, 2, N), "<f8"),
                    "samples/porosity": ((n, N), "<f8"), "samples/condition_index": ((n,), "<i8"),
                    "samples/status": ((n,), "|u1")}
        for name, (shape, dtype) in expected.items():
            check(name in f, f"{path}: data set {name} missing")
            if name in f:
                check(f[name].shape == shape, f"{name}: shape {f[name].shape}, expected {shape}")
                check(f[name].dtype.str == dtype, f"{name}: dtype {f[name].dtype.str}, expected {dtype}")
        check(list(f["conditions"].attrs["columns"]) == ["l", "U0", "F_right"], "conditions.columns")
        check(list(f["samples/status"].attrs["names"]) == ["ok", "non_finite", "depleted", "not_converged"],
              "status.names")
        a = f.attrs
        check(a["format"] == "psgm-dataset" and int(a["format_version"]) == 1, "format attributes")
        for key in ["psgm_version", "kokkos_backend", "created", "config_toml", "L", "N", "kappa0", "D0", "bruggeman",
                    "a0", "k_rn", "G", "t_plus", "faraday", "c0", "c_right", "dt", "T", "epsilon_min", "epsilon_max",
                    "gp_sigma", "gp_nugget", "gp_kernel", "porosity_map", "kinetics", "time_integration", "seed"]:
            check(key in a, f"root attribute {key} missing")
        check(int(a["seed"]) == seed, f"seed attribute {a['seed']} != {seed}")
        cfg = tomllib.loads(a["config_toml"])  # the effective configuration is valid TOML
        check(cfg["run"]["seed"] == seed and cfg["pde"]["N"] == N, "config_toml does not match the run")
        check(np.array_equal(f["samples/condition_index"][...], np.repeat(np.arange(M), R)),
              "condition_index is not condition-major")


def check_fields(path, tag):
    """Every field against the numpy reference; returns the measured errors."""
    d = load(path)
    p = reference_pde.Parameters.from_attributes(d.attrs)
    check(np.array_equal(d.x, reference_pde.cell_centres(p.L, p.N)), f"{tag}: /grid/x is not the spec's grid")
    check(np.all(d.status == 0), f"{tag}: statuses {np.bincount(d.status)}")
    cond = d.conditions[d.condition_index]
    U0, F = cond[:, 1], cond[:, 2]
    c, phi = reference_pde.solve(d.porosity, U0, F, p)
    got_c, got_phi = d.fields[:, 0], d.fields[:, 1]

    # c: relative to its magnitude, and its deviation from c0 (the physics is
    # in c - c0 ~ 1e-3 c, which the first measure alone would not resolve).
    err_c = np.max(np.abs(got_c - c), axis=1) / np.max(np.abs(c), axis=1)
    dc = c - p.c0
    err_dc = np.max(np.abs((got_c - p.c0) - dc), axis=1) / np.max(np.abs(dc), axis=1)
    # The steady c is a pure-diffusion solve driven by j(phi_raw): it inherits
    # the conditioning of phi (below), so it gets a forward tolerance of 1e-10
    # and a backward-error check instead; the transient reference is held to 1e-12.
    c_tol = 1e-12 if p.mode == "transient" else 1e-10
    check(err_c.max() <= c_tol, f"{tag}: c differs from the reference by {err_c.max():.3g} (rel.) > {c_tol}")

    # phi solves a nearly singular system (pure-Neumann Laplacian + a reaction
    # term ~1e-7 of it: condition number ~1e7 at N = 100), and is then shifted
    # by phi_0, which cancels digits. Two correct double-precision solvers
    # therefore differ by up to ~cond(A) u |phi_raw| in phi. Checked three ways:
    #  (1) backward error: the stored phi (plus the best constant, which the
    #      shift removed) satisfies the spec's discrete equations to round-off;
    #  (2) forward error, relative to the magnitude of the unshifted solution;
    #  (3) forward error within the conditioning bound 4 cond(A) u |phi_raw|.
    lower, diag, upper, rhs = reference_pde.assemble_potential(d.porosity, U0, F, p)

    def matvec(v):
        y = diag * v
        y[:, 1:] += lower[:, 1:] * v[:, :-1]
        y[:, :-1] += upper[:, :-1] * v[:, 1:]
        return y

    r0 = matvec(got_phi) - rhs
    a1 = matvec(np.ones_like(got_phi))
    phi0 = -np.sum(r0 * a1, axis=1) / np.sum(a1 * a1, axis=1)
    raw = got_phi + phi0[:, None]
    norm_a = np.abs(diag).max(1) + np.abs(lower).max(1) + np.abs(upper).max(1)
    backward = np.max(np.abs(r0 + phi0[:, None] * a1), axis=1) / (norm_a * np.abs(raw).max(1) + np.abs(rhs).max(1))
    check(backward.max() <= 64 * U, f"{tag}: backward error of phi {backward.max():.3g} > 64 u")
    scale = np.maximum(np.abs(raw).max(1), np.abs(U0) + abs(p.G) * p.L)
    err_phi = np.max(np.abs(got_phi - phi), axis=1) / scale
    check(err_phi.max() <= 1e-12, f"{tag}: phi differs by {err_phi.max():.3g} of the unshifted magnitude")
    B, N = diag.shape
    cond_a = np.empty(B)
    for b in range(B):
        A = np.diag(diag[b]) + np.diag(lower[b, 1:], -1) + np.diag(upper[b, :-1], 1)
        cond_a[b] = np.linalg.cond(A, np.inf)
    bound = 4 * cond_a * U * np.abs(raw).max(1)
    check(np.all(np.max(np.abs(got_phi - phi), axis=1) <= bound), f"{tag}: phi outside the conditioning bound")
    check(err_dc.max() <= 1e-8, f"{tag}: c - c0 differs by {err_dc.max():.3g} (rel.)")
    if p.mode == "steady":
        # The stored c solves the steady equations of spec §6 with the source
        # from the stored (unshifted) phi to round-off.
        lc, dgc, uc = reference_pde.assemble_concentration(d.porosity, p, steady=True)
        rhs_c = reference_pde._source(d.porosity, raw, U0, p)
        rhs_c[:, -1] = p.c_right
        y = dgc * got_c
        y[:, 1:] += lc[:, 1:] * got_c[:, :-1]
        y[:, :-1] += uc[:, :-1] * got_c[:, 1:]
        norm_c = np.abs(dgc).max(1) + np.abs(lc).max(1) + np.abs(uc).max(1)
        back_c = np.max(np.abs(y - rhs_c), axis=1) / (norm_c * np.abs(got_c).max(1) + np.abs(rhs_c).max(1))
        check(back_c.max() <= 64 * U, f"{tag}: backward error of the steady c {back_c.max():.3g} > 64 u")
    rel_phi = np.max(np.abs(got_phi - phi), axis=1) / np.max(np.abs(phi), axis=1)
    print(f"{tag}: {B} realisations, N = {N}, mode {p.mode}: max rel. error c {err_c.max():.2e}, "
          f"c - c0 {err_dc.max():.2e}, phi {rel_phi.max():.2e} (of |phi|), {err_phi.max():.2e} (of the unshifted "
          f"|phi|), backward error of phi {backward.max():.2e}, cond(A_phi) up to {cond_a.max():.2e}", flush=True)
    return d


def check_gp(d, tag):
    """Porosity of spec §2: g = logit((eps - eps_min) / (eps_max - eps_min)) ~ N(0, K) per condition."""
    a = d.attrs
    lo, hi = float(a["epsilon_min"]), float(a["epsilon_max"])
    sigma, nugget = float(a["gp_sigma"]), float(a["gp_nugget"])
    check(np.all((d.porosity > lo) & (d.porosity < hi)), f"{tag}: porosity outside ({lo}, {hi})")
    x = d.x

    def whiten(l):
        zs = []
        for m in range(d.conditions.shape[0]):
            K = sigma ** 2 * np.exp(-(x[:, None] - x[None, :]) ** 2 / (2 * l[m] ** 2)) + nugget * np.eye(x.size)
            s = (d.porosity[d.condition_index == m] - lo) / (hi - lo)
            g = np.log(s / (1 - s))
            zs.append(np.linalg.solve(np.linalg.cholesky(K), g.T).ravel())
        return np.concatenate(zs)

    z = whiten(d.conditions[:, 0])
    n = z.size
    check(abs(z.mean()) < 5 / np.sqrt(n), f"{tag}: whitened GP draws have mean {z.mean():.3g}")
    check(abs(z.var() - 1) < 5 * np.sqrt(2 / n), f"{tag}: whitened GP draws have variance {z.var():.3g}")
    # The test has power: the same fields whitened with 2 l are far from N(0, 1).
    z_wrong = whiten(d.conditions[:, 0] * 2)
    check(abs(z_wrong.var() - 1) > 10 * np.sqrt(2 / n), "GP check cannot tell l from 2 l")
    print(f"{tag}: whitened porosity: {n} values, mean {z.mean():+.3f}, variance {z.var():.3f} "
          f"(with 2 l: variance {z_wrong.var():.3g})", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    M, R, seed = 3, 4, 11

    def tiny_args(s):
        return ["--preset", "small", "-q", "--seed", str(s), "--set", f"conditions.count={M}",
                "--set", f"conditions.realisations={R}"]

    tiny = tiny_args(seed)

    # 1. The reference case (N = 100, 1000 implicit-Euler steps, linear kinetics).
    out = run(args.psgm, *tiny, "-o", w("ref.h5"))
    sha = printed_sha(out.stdout)
    check(sha == content_sha256(w("ref.h5")), "printed content sha256 differs from hashlib's")
    check_layout(w("ref.h5"), M, R, 100, seed)
    d = check_fields(w("ref.h5"), "reference")
    check_gp(d, "reference")
    a = d.attrs
    ranges_ok = np.all((d.conditions[:, 0] >= 1e-4 / 50) & (d.conditions[:, 0] <= 1e-4 / 5)
                       & (np.abs(d.conditions[:, 1]) <= 0.2) & (d.conditions[:, 2] >= 0) & (d.conditions[:, 2] <= 50))
    check(ranges_ok, "conditions outside the reference ranges")
    check(int(a["num_steps"]) == 1000 and a["kinetics"] == "linear" and a["time_integration"] == "transient",
          "reference attributes")

    # 2. Reproducible: the same data whatever the batching and thread count; other data for another seed.
    sha_b = printed_sha(run(args.psgm, *tiny, "--set", "run.batch_size=1", "-o", w("batch1.h5"),
                            env={"OMP_NUM_THREADS": "1"}).stdout)
    check(sha_b == sha, "batch size 1 / one thread gives other data than the default batching")
    sha_s = printed_sha(run(args.psgm, *tiny_args(seed + 1), "-o", w("seed.h5")).stdout)
    check(sha_s != sha, "another seed gives the same data")

    # 3. Never overwrites unless asked.
    again = run(args.psgm, *tiny, "-o", w("ref.h5"), expect_ok=False)
    check(again.returncode == 2 and "already exists" in again.stderr, "an existing output was not protected")
    check(content_sha256(w("ref.h5")) == sha, "the protected file changed")
    check(run(args.psgm, *tiny, "-o", w("ref.h5"), "--overwrite").returncode == 0, "--overwrite failed")

    # 4. User inputs: the stored porosity and conditions as files reproduce the fields exactly.
    write_porosity(w("eps.h5"), d.porosity[d.condition_index == 1], "/inputs/eps")  # R fields of condition 1
    with open(w("conditions.csv"), "w") as f:
        f.write("l,U0,F_right\n")
        for row in d.conditions:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    run(args.psgm, "--preset", "small", "-q", "--set", "porosity.source=file", "--set", f"porosity.file={w('eps.h5')}",
        "--set", "porosity.dataset=/inputs/eps", "--set", "conditions.source=file",
        "--set", f"conditions.file={w('conditions.csv')}", "--set", f"conditions.realisations={R}", "-o", w("user.h5"))
    u = load(w("user.h5"))
    check(np.array_equal(u.conditions, d.conditions), "conditions read from CSV differ")
    same = d.condition_index == 1
    check(np.array_equal(u.fields[same], d.fields[same]), "user porosity + conditions do not reproduce the fields")
    check(np.array_equal(u.porosity[u.condition_index == 0], d.porosity[same]), "user porosity not used as given")
    run(args.psgm, "--preset", "small", "-q", "--set", "conditions.source=file", "--set", f"conditions.file={w('ref.h5')}",
        "--set", f"conditions.realisations={R}", "--seed", str(seed), "-o", w("h5cond.h5"))
    check(content_sha256(w("h5cond.h5")) == sha, "conditions from the data set's HDF5 table give other data")

    # 5. The steady-state extension on another grid (j from the unshifted potential, spec §6).
    run(args.psgm, *tiny, "--set", "pde.time_integration=steady", "--set", "pde.N=37",
        "--set", "conditions.U0_min=-0.02", "--set", "conditions.U0_max=0.02", "--set", "conditions.F_right_max=5",
        "-o", w("steady.h5"))
    check_layout(w("steady.h5"), M, R, 37, seed)
    check_fields(w("steady.h5"), "steady")

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
