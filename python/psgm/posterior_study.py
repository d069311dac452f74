"""The posterior measurement of docs/posterior.md §4: score model and
Gaussian emulator against an importance-sampled PDE posterior.

At the first --conditions conditions of a held-out data set and for three
probe layouts (one phi probe; three c probes; two c probes and one phi
probe), each a twin experiment (the truth is realisation 0 of a separate
2000-field PDE ensemble at that condition; the probes read it with noise
--noise times that ensemble's spread there, psgm.make_probes): a PDE
ensemble of --reference
fields per condition (psgm generate), n posterior draws from the score model
(psgm sample --observe, EDM Heun) and from the emulator's exact posterior,
judged by psgm.posterior_check (its noise floor at the same n).

    PYTHONPATH=python python3 -m psgm.posterior_study --psgm build/bin/psgm \\
        --model run/data/model.h5 --emulator run/data/emulator.h5 \\
        --heldout run/data/heldout.h5 --workdir /tmp/post --json post.json

Prints a row per case and the averages; --json keeps every number.

With --prior-fields N (e.g. 100000) it also draws N unguided samples of the
score model per condition and judges their importance-resampled posterior
(posterior_check --prior): the model's own exact posterior, which separates
the error of the model's prior from the error of the guidance (row "model-IS").
"""
import argparse
import json
import os
import subprocess
import sys

import h5py

from psgm import make_probes, posterior_check

LAYOUTS = {
    "one phi probe": ["phi:0.9"],
    "three c probes": ["c:0.25", "c:0.5", "c:0.75"],
    "c and phi probes": ["c:0.3", "c:0.7", "phi:0.9"],
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--heldout", required=True, help="data set whose conditions --first .. --first + --conditions - 1 are used")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--conditions", type=int, default=5)
    ap.add_argument("--first", type=int, default=0,
                    help="index of the first condition used (e.g. 5 for validation conditions beside the reported 0-4)")
    ap.add_argument("--reference", type=int, default=100000, help="PDE fields per condition")
    ap.add_argument("-n", type=int, default=500, help="posterior draws per case")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--steps", type=int, default=25, help="EDM Heun levels (2 steps - 1 evaluations)")
    ap.add_argument("--backend", default="native")
    ap.add_argument("--sampler-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a further sampler option for the score model's draws, guided and unguided "
                         "(e.g. exact_gaussian=true: sampler.exact_gaussian=true); repeatable")
    ap.add_argument("--sample-set", action="append", default=[], metavar="KEY=VALUE",
                    help="a further sample option for the score model's guided draws only (e.g. refine_steps=100: "
                         "sample.refine_steps=100); repeatable")
    ap.add_argument("--models-only", action="store_true",
                    help="skip the Gaussian emulator's draws where its file exists already (a second study in the "
                         "same workdir, e.g. another refinement)")
    ap.add_argument("--prior-fields", type=int, default=0,
                    help="unguided model draws per condition for the model-IS row (0: none)")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    os.makedirs(a.workdir, exist_ok=True)
    w = lambda name: os.path.join(a.workdir, name)  # noqa: E731
    sampler_sets = sum((["--set", "sampler." + kv] for kv in a.sampler_set), [])
    sample_sets = sum((["--set", "sample." + kv] for kv in a.sample_set), [])
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"), OMP_WAIT_POLICY="passive")

    def run(*args):
        r = subprocess.run([a.psgm, *args], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit(f"psgm {' '.join(args)} failed ({r.returncode}):\n{r.stderr}")
        return r.stdout + r.stderr

    with h5py.File(a.heldout, "r") as h:
        available = h["conditions"].shape[0]
        if a.first < 0 or a.conditions < 1 or a.first + a.conditions > available:
            sys.exit(f"--first {a.first} --conditions {a.conditions}: {a.heldout} has conditions 0-{available - 1}; "
                     "expected 0 <= --first and --first + --conditions <= that count")
        conditions = h["conditions"][a.first: a.first + a.conditions]
    cases = []
    for m, cond in enumerate(conditions, start=a.first):
        clist = "conditions.list=[[" + ", ".join(repr(float(v)) for v in cond) + "]]"
        ref = w(f"reference{m}.h5")
        if not os.path.exists(ref):
            run("generate", "--preset", "small", "-q", "-o", ref, "--seed", str(1000 + m), "--set",
                "conditions.source=list", "--set", clist, "--set", f"conditions.realisations={a.reference}",
                "--set", "run.memory_budget_mb=8192")
        truth = w(f"truth{m}.h5")
        if not os.path.exists(truth):  # realisation 0 of the held-out file at this condition, alone
            run("generate", "--preset", "small", "-q", "-o", truth, "--seed", str(2000 + m), "--set",
                "conditions.source=list", "--set", clist, "--set", "conditions.realisations=2000")
        prior = []
        if a.prior_fields > 0:
            prior = ["--prior", w(f"prior{m}.h5")]
            if not os.path.exists(prior[1]):
                run("sample", "-m", a.model, "-o", prior[1], "--sampler", "edm_heun", "--set",
                    f"sampler.steps={a.steps}", *sampler_sets, "--backend", a.backend, "--set",
                    "conditions.source=list", "--set", clist, "--set", f"sample.grid_from={ref}",
                    "-n", str(a.prior_fields), "--seed", str(300 + m), "-q")
        for k, (layout, probes) in enumerate(LAYOUTS.items()):
            obs = w(f"probes{m}_{k}.csv")
            make_probes.main([truth, "--noise", str(a.noise), "--seed", str(10 * m + k), "-o", obs] +
                             sum((["--probe", p] for p in probes), []))
            where = ["--set", "conditions.source=list", "--set", clist, "--set", f"sample.grid_from={ref}",
                     "-n", str(a.n), "--seed", str(7 + m), "--observe", obs, "--overwrite", "-q"]
            run("sample", "-m", a.model, "-o", w(f"model{m}_{k}.h5"), "--sampler", "edm_heun", "--set",
                      f"sampler.steps={a.steps}", *sampler_sets, *sample_sets, "--backend", a.backend, *where)
            wall_model = None
            with h5py.File(w(f"model{m}_{k}.h5"), "r") as h:
                wall_model = float(h.attrs["wall_time_s"])
                nfe = int(h.attrs["nfe"])
            if not (a.models_only and os.path.exists(w(f"emulator{m}_{k}.h5"))):
                run("sample", "-m", a.emulator, "-o", w(f"emulator{m}_{k}.h5"), *where)
            with h5py.File(w(f"emulator{m}_{k}.h5"), "r") as h:
                wall_emu = float(h.attrs["wall_time_s"])
            js = w(f"check{m}_{k}.json")
            rc = posterior_check.main(["--reference", ref, "--observe", obs, "--json", js, "--seed", str(m), "--prior-n",
                                       str(a.n), *prior, w(f"model{m}_{k}.h5"), w(f"emulator{m}_{k}.h5")])
            if rc != 0:
                print(f"condition {m}, {layout}: reference refused (ESS), not judged")
                continue
            with open(js) as fh:
                res = json.load(fh)
            cases.append({"condition": m, "layout": layout, "result": res, "nfe": nfe,
                          "wall_s_model": wall_model, "wall_s_emulator": wall_emu})
    keys = ("mean_error", "spread_error")
    print("\n| condition | layout | ESS | who | c mean | c spread | c cov − floor | phi mean | phi spread | phi cov − floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for c in cases:
        whos = [("model", "model"), ("emulator", "emulator")] + ([("model-IS", "prior")] if a.prior_fields > 0 else [])
        for who, path in whos:
            e = next(v for p, v in c["result"]["ensembles"].items() if os.path.basename(p).startswith(path))
            cells = []
            for ch in range(2):
                m, f = e["metrics"][ch], e["floor"][ch]
                ratios = [m[k] / f[k] for k in keys]
                cells += [f"{ratios[0]:.2f}", f"{ratios[1]:.2f}", f"{m['coverage'] - f['coverage']:+.3f}"]
                s = summary.setdefault((who, ch), {"mean": [], "spread": [], "cov": [], "moved": []})
                if "moved" in m:
                    s["moved"].append(m["moved"])
                s["mean"].append(ratios[0])
                s["spread"].append(ratios[1])
                s["cov"].append(m["coverage"] - f["coverage"])
            print(f"| {c['condition']} | {c['layout']} | {c['result']['ess_reference']:.0f} | {who} | " + " | ".join(cells) + " |")
    print("\nAverages over the cases (ratios to the floor; coverage minus the floor's):")
    for (who, ch), s in sorted(summary.items()):
        n = len(s["mean"])
        print(f"  {who:8s} {['c', 'phi'][ch]:3s}: mean {sum(s['mean']) / n:.2f}x  spread {sum(s['spread']) / n:.2f}x  "
              f"coverage {sum(s['cov']) / n:+.3f}  (worst: mean {max(s['mean']):.2f}x, spread {max(s['spread']):.2f}x, "
              f"coverage {max(s['cov'], key=abs):+.3f})"
              + (f"  moved {sum(s['moved']) / len(s['moved']):.2f} (least {min(s['moved']):.2f})" if s["moved"] else ""))
    if cases:
        nfes = sorted({c["nfe"] for c in cases})
        print(f"  network evaluations per sample {nfes[0]}-{nfes[-1]} (by the number of probes); wall per case: model "
              f"{sum(c['wall_s_model'] for c in cases) / len(cases):.2f} s, emulator "
              f"{sum(c['wall_s_emulator'] for c in cases) / len(cases):.3f} s for {a.n} draws")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(cases, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
