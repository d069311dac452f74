"""Deterministic corpus-mutation fuzzing of every file psgm reads (issue 15).

A corpus of valid files (data set, model, checkpoint, porosity file,
conditions CSV, TOML configuration) is written by psgm itself; each round
mutates one of them (an attribute set to an extreme or mistyped value, a data
set value to NaN/Inf/huge, bytes flipped or the file truncated, a text line
garbled) and runs the command that reads it. Whatever the mutation, psgm must
end with 0 (the mutation was harmless) or 2 (refused with a message):
never a crash (a signal), an "unexpected error" (3) or a hang. Mutations are
drawn from a seeded generator, so a failure is reproducible from its round
number; crashing inputs are kept under <workdir>/crashes.

Usage: fuzz_readers.py --psgm BIN --workdir DIR [--rounds N] [--seed S] [--seconds T]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

ENV = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")


def attribute_targets(path):
    """(object path, attribute name) of every attribute in an HDF5 file."""
    out = []
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            for a in obj.attrs:
                out.append((name, a))
        for a in f.attrs:
            out.append(("/", a))
        f.visititems(visit)
    return out


def dataset_targets(path):
    out = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.append(name) if isinstance(obj, h5py.Dataset) and obj.size > 0 else None)
    return out


EXTREME_INTS = [-2, -1, 0, 1, 2**31, 2**53, -(2**62), 10**12]
EXTREME_FLOATS = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e300, -1e-300]


def mutate_hdf5(rng, path):
    """One mutation of an HDF5 file; returns its description."""
    kind = rng.choice(["attribute", "attribute", "dataset", "bytes", "truncate"])
    if kind == "attribute" and not attribute_targets(path):
        kind = "dataset"
    if kind in ("attribute", "dataset"):
        with h5py.File(path, "r+") as f:
            if kind == "attribute":
                targets = attribute_targets(path)
                obj, name = rng.choice(targets)
                node = f[obj] if obj != "/" else f
                old = node.attrs[name]
                choice = rng.random()
                if choice < 0.15:
                    del node.attrs[name]
                    return f"delete attribute {obj}:{name}"
                if choice < 0.3:
                    node.attrs[name] = "garbage"
                    return f"attribute {obj}:{name} = 'garbage'"
                if np.issubdtype(np.asarray(old).dtype, np.integer):
                    v = rng.choice(EXTREME_INTS)
                    node.attrs[name] = np.int64(v)
                    return f"attribute {obj}:{name} = {v}"
                if np.issubdtype(np.asarray(old).dtype, np.floating):
                    v = rng.choice(EXTREME_FLOATS)
                    arr = np.array(old, dtype=float)
                    if arr.ndim == 0:
                        node.attrs[name] = v
                    else:
                        arr.flat[rng.randrange(arr.size)] = v
                        node.attrs[name] = arr
                    return f"attribute {obj}:{name} <- {v}"
                node.attrs[name] = np.int64(rng.choice(EXTREME_INTS))
                return f"attribute {obj}:{name} (a string) = an integer"
            name = rng.choice(dataset_targets(path))
            d = f[name]
            data = d[...]
            i = rng.randrange(data.size)
            if np.issubdtype(data.dtype, np.floating):
                v = rng.choice(EXTREME_FLOATS)
            elif np.issubdtype(data.dtype, np.integer):
                info = np.iinfo(data.dtype)
                v = rng.choice([int(info.max), int(info.min), -1, 255])
                v = int(np.clip(v, info.min, info.max))
            else:
                return "no-op (string data set)"
            with np.errstate(over="ignore", invalid="ignore"):
                data.flat[i] = v
            d[...] = data
            return f"data set {name}[{i}] = {v}"
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if kind == "truncate":
            n = rng.randrange(size)
            f.truncate(n)
            return f"truncated to {n} bytes"
        for _ in range(rng.randint(1, 16)):
            pos = rng.randrange(size)
            f.seek(pos)
            f.write(bytes([rng.randrange(256)]))
        return "bytes flipped"


def mutate_text(rng, path):
    lines = open(path).read().splitlines()
    k = rng.randrange(len(lines))
    choice = rng.choice(["nan", "inf", "-1e308", "", "1,2", "a,b,c", "1e-5,0,25,9", "[[", "= 1", "x = \"\\u0000\""])
    lines[k] = choice
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return f"line {k + 1} = {choice!r}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=240.0, help="stop after this long (the CI bound)")
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(os.path.join(args.workdir, "crashes"))
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731
    psgm = args.psgm

    def run(*a, timeout=120):
        return subprocess.run([psgm, *a], capture_output=True, text=True, env=ENV, timeout=timeout)

    # ---- the corpus, written by psgm
    small = ["--preset", "small", "-q", "--set", "conditions.count=4", "--set", "conditions.realisations=4",
             "--set", "pde.N=12"]
    r = run("generate", *small, "-o", w("data.h5"))
    assert r.returncode == 0, r.stderr
    r = run("train", "--preset", "small", "-q", "--backend", "native", "--set", "model.width=4", "--set",
            "model.num_blocks=1", "--set", "training.steps=4", "--data", w("data.h5"), "-o", w("model.h5"))
    assert r.returncode == 0, r.stderr
    with h5py.File(w("porosity.h5"), "w") as f:
        f["porosity"] = np.full((2, 12), 0.3)
    with open(w("conditions.csv"), "w") as f:
        f.write("l,U0,F_right\n1e-5,0,25\n2e-5,0.1,10\n")
    with open(w("config.toml"), "w") as f:
        f.write("[run]\nseed = 3\n[conditions]\ncount = 2\nrealisations = 2\n[pde]\nN = 12\n")

    readers = {
        # name: (corpus file, command reading the mutated copy at {f}, mutator)
        "data set (train)": ("data.h5", lambda f: ["train", "--preset", "small", "-q", "--backend", "native",
                                                   "--set", "model.width=4", "--set", "model.num_blocks=1",
                                                   "--set", "training.steps=2", "--data", f, "-o",
                                                   w("out_model.h5"), "--overwrite"], mutate_hdf5),
        "data set (evaluate)": ("data.h5", lambda f: ["evaluate", "--preset", "small", "-q", "-m", f, "-d",
                                                      w("data.h5"), "-o", w("out_eval"), "--overwrite", "--set",
                                                      "evaluate.permutations=5"], mutate_hdf5),
        "model": ("model.h5", lambda f: ["sample", "-q", "-m", f, "-o", w("out_samples.h5"), "--overwrite", "-n",
                                         "2", "--sampler", "ode_heun", "--set", "sampler.steps=3"], mutate_hdf5),
        "checkpoint": ("model.checkpoint.h5", lambda f: ["train", "-q", "--resume", f, "-o", w("out_resumed.h5"),
                                                         "--overwrite"], mutate_hdf5),
        "porosity file": ("porosity.h5", lambda f: ["generate", *small, "-o", w("out_data.h5"), "--overwrite",
                                                    "--set", "porosity.source=file", "--set",
                                                    f"porosity.file={f}"], mutate_hdf5),
        "conditions CSV": ("conditions.csv", lambda f: ["generate", "--preset", "small", "-q", "-o",
                                                        w("out_data.h5"), "--overwrite", "--set", "pde.N=12",
                                                        "--set", "conditions.realisations=2", "--set",
                                                        "conditions.source=file", "--set", f"conditions.file={f}"],
                           mutate_text),
        "TOML configuration": ("config.toml", lambda f: ["generate", "--preset", "small", "-q", "-c", f, "-o",
                                                         w("out_data.h5"), "--overwrite"], mutate_text),
    }
    names = sorted(readers)
    rng = random.Random(args.seed)
    failures = []
    start = time.time()
    done = 0
    for k in range(args.rounds):
        if time.time() - start > args.seconds:
            break
        name = names[k % len(names)]
        corpus, command, mutator = readers[name]
        ext = os.path.splitext(corpus)[1]
        target = w(f"mutant_{k}{ext}")
        shutil.copy(w(corpus), target)
        try:
            what = mutator(rng, target)
        except Exception as e:  # h5py refuses some mutations; a harmless round
            what = f"mutation failed ({e})"
        try:
            r = run(*command(target))
            code, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        done += 1
        if code not in (0, 2) or "unexpected error" in err:
            kept = os.path.join(args.workdir, "crashes", os.path.basename(target))
            shutil.copy(target, kept)
            failures.append(f"round {k} ({name}: {what}): exit {code}\n  {err.strip()[-400:]}\n  input kept: {kept}")
            print(f"FAIL round {k} {name}: {what} -> {code}")
        else:
            print(f"ok   round {k} {name}: {what} -> {code}")
        os.remove(target) if os.path.exists(target) and code in (0, 2) else None
    if failures:
        sys.exit("\n".join([f"FAILED ({len(failures)} of {done} rounds):"] + failures))
    print(f"fuzz: {done} rounds, no crash")


if __name__ == "__main__":
    main()
