"""Deterministic corpus-mutation fuzzing of every file psgm reads (issue 15).

A corpus of valid files (data set, model, checkpoint, porosity file,
conditions CSV, TOML configuration) is written by psgm itself; each round
mutates one of them (an attribute set to an extreme or mistyped value, a data
set value to NaN/Inf/huge, bytes flipped or the file truncated, a text line
garbled) and runs the command that reads it. Whatever the mutation, psgm must
end with 0 (the mutation was harmless) or 2 (refused with a message):
never a crash (a signal), a sanitizer report (in the PSGM_SANITIZE build of
scripts/test's alt stage a memory error or undefined behaviour stops psgm
even where it would not crash), an "unexpected error" (3) or a hang.
Mutations are drawn from a seeded generator, so a failure is reproducible
from its round number; a failing input is kept under <workdir>/crashes with
a .json corpus entry that reproduces it.

--replay DIR runs the regression corpus instead (tests/cli/fuzz_corpus/:
every input that ever crashed a reader, as a JSON entry of mutations applied
to a fresh corpus file or, for byte-level ones, with the file itself), each
of which must now be handled, with the exit status and message the entry
names when it names them.

Usage: fuzz_readers.py --psgm BIN --workdir DIR [--rounds N] [--seed S] [--seconds T]
       fuzz_readers.py --psgm BIN --workdir DIR --replay tests/cli/fuzz_corpus
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
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


# A mutation is a recipe (a dict, JSON-serialisable): drawn at random by the
# fuzzer, applied by apply_mutation, stored beside a crashing input and, once
# committed to tests/cli/fuzz_corpus/, replayed on a fresh corpus by --replay.

def draw_hdf5_mutation(rng, path):
    kind = rng.choice(["attribute", "attribute", "dataset", "bytes", "truncate"])
    if kind == "attribute" and not attribute_targets(path):
        kind = "dataset"
    if kind == "attribute":
        obj, name = rng.choice(attribute_targets(path))
        with h5py.File(path, "r") as f:
            old = np.asarray((f[obj] if obj != "/" else f).attrs[name])
        choice = rng.random()
        if choice < 0.15:
            return {"op": "delete_attribute", "object": obj, "name": name}
        if choice < 0.3:
            return {"op": "attribute", "object": obj, "name": name, "value": "garbage"}
        if np.issubdtype(old.dtype, np.integer):
            return {"op": "attribute", "object": obj, "name": name, "value": rng.choice(EXTREME_INTS)}
        if np.issubdtype(old.dtype, np.floating):
            v = rng.choice(EXTREME_FLOATS)
            if old.ndim == 0:
                return {"op": "attribute", "object": obj, "name": name, "value": v}
            return {"op": "attribute_element", "object": obj, "name": name, "index": rng.randrange(old.size),
                    "value": v}
        return {"op": "attribute", "object": obj, "name": name, "value": rng.choice(EXTREME_INTS)}
    if kind == "dataset":
        name = rng.choice(dataset_targets(path))
        with h5py.File(path, "r") as f:
            d = f[name]
            size, dtype = d.size, d.dtype
        i = rng.randrange(size)
        if np.issubdtype(dtype, np.floating):
            return {"op": "dataset", "name": name, "index": i, "value": rng.choice(EXTREME_FLOATS)}
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            v = rng.choice([int(info.max), int(info.min), -1, 255])
            return {"op": "dataset", "name": name, "index": i, "value": int(np.clip(v, info.min, info.max))}
        return {"op": "none", "why": "string data set"}
    size = os.path.getsize(path)
    if kind == "truncate":
        return {"op": "truncate", "size": rng.randrange(size)}
    return {"op": "bytes", "writes": [[rng.randrange(size), rng.randrange(256)] for _ in range(rng.randint(1, 16))]}


def draw_text_mutation(rng, path):
    lines = open(path).read().splitlines()
    choice = rng.choice(["nan", "inf", "-1e308", "", "1,2", "a,b,c", "1e-5,0,25,9", "[[", "= 1", "x = \"\\u0000\""])
    return {"op": "line", "index": rng.randrange(len(lines)), "text": choice}


def apply_mutation(path, m):
    """Applies recipe `m` to the file at `path`; returns its description."""
    op = m["op"]
    if op in ("attribute", "attribute_element", "delete_attribute"):
        with h5py.File(path, "r+") as f:
            node = f[m["object"]] if m["object"] != "/" else f
            where = f"{m['object']}:{m['name']}"
            if op == "delete_attribute":
                del node.attrs[m["name"]]
                return f"delete attribute {where}"
            v = m["value"]
            if op == "attribute_element":
                arr = np.array(node.attrs[m["name"]], dtype=float)
                arr.flat[m["index"]] = v
                node.attrs[m["name"]] = arr
                return f"attribute {where}[{m['index']}] <- {v}"
            node.attrs[m["name"]] = np.int64(v) if isinstance(v, int) else v
            return f"attribute {where} = {v!r}"
    if op == "dataset":
        with h5py.File(path, "r+") as f:
            d = f[m["name"]]
            data = d[...]
            with np.errstate(over="ignore", invalid="ignore"):
                data.flat[m["index"]] = m["value"]
            d[...] = data
        return f"data set {m['name']}[{m['index']}] = {m['value']}"
    if op == "truncate":
        with open(path, "r+b") as f:
            f.truncate(m["size"])
        return f"truncated to {m['size']} bytes"
    if op == "bytes":
        with open(path, "r+b") as f:
            for pos, byte in m["writes"]:
                f.seek(pos)
                f.write(bytes([byte]))
        return f"{len(m['writes'])} byte(s) overwritten"
    if op == "line":
        lines = open(path).read().splitlines()
        lines[m["index"]] = m["text"]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return f"line {m['index'] + 1} = {m['text']!r}"
    if op == "none":
        return f"no-op ({m['why']})"
    raise ValueError(f"unknown mutation {op!r}")


# What a sanitizer prints when it stops a process (ASan, UBSan, LeakSanitizer).
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def verdict(code, err, expect=None):
    """None if psgm handled the input (exit 0 or 2, or exactly `expect`),
    else what went wrong."""
    report = next((r for r in SANITIZER_REPORTS if r in err), None)
    if report:
        return f"sanitizer report ({report}), exit {code}"
    if code == "timeout":
        return "no exit within the time limit"
    if "unexpected error" in err:
        return f"unexpected error, exit {code}"
    if expect is not None and code != expect:
        return f"exit {code}, expected {expect}"
    if code not in (0, 2):
        return f"exit {code}" + (" (a signal)" if isinstance(code, int) and code < 0 else "")
    return None


# Crashes inside Debian's libhdf5 1.10.8 on files with overwritten bytes: a
# known risk that psgm cannot fix or avoid (docs/reliability.md §6). A
# sanitizer's SEGV report whose crashing frame is one of these HDF5
# functions, after a byte-level mutation (which only HDF5's parser sees), is
# counted and shown but does not fail the run. Any other crash, a crash in
# another function, and any crash after a mutation of values (which psgm's
# own checks see) still fail it; without a sanitizer a crash has no stack
# and always fails.
KNOWN_HDF5_CRASHES = ("H5A__close", "H5HG_read")
CRASH_FRAME = re.compile(r"ERROR: AddressSanitizer: SEGV on unknown address.*?\n\s*#0 0x[0-9a-f]+ in (\S+) \(([^)+]*)",
                         re.S)


def known_hdf5_crash(err, mutation):
    """The libhdf5 function of a known crash (KNOWN_HDF5_CRASHES), else None."""
    if mutation is None or mutation.get("op") not in ("bytes", "truncate"):
        return None
    m = CRASH_FRAME.search(err)
    if m and m.group(1) in KNOWN_HDF5_CRASHES and "libhdf5" in m.group(2):
        return m.group(1)
    return None


def build_corpus(run, w):
    """Writes the valid corpus with psgm; returns the readers: slug -> (name,
    corpus file, command reading a mutated copy at {f}, mutation drawer)."""
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
    return {
        "dataset-train": ("data set (train)", "data.h5",
                          lambda f: ["train", "--preset", "small", "-q", "--backend", "native", "--set",
                                     "model.width=4", "--set", "model.num_blocks=1", "--set", "training.steps=2",
                                     "--data", f, "-o", w("out_model.h5"), "--overwrite"], draw_hdf5_mutation),
        "dataset-evaluate": ("data set (evaluate)", "data.h5",
                             lambda f: ["evaluate", "--preset", "small", "-q", "-m", f, "-d", w("data.h5"), "-o",
                                        w("out_eval"), "--overwrite", "--set", "evaluate.permutations=5"],
                             draw_hdf5_mutation),
        "model": ("model", "model.h5",
                  lambda f: ["sample", "-q", "-m", f, "-o", w("out_samples.h5"), "--overwrite", "-n", "2",
                             "--sampler", "ode_heun", "--set", "sampler.steps=3"], draw_hdf5_mutation),
        "checkpoint": ("checkpoint", "model.checkpoint.h5",
                       lambda f: ["train", "-q", "--resume", f, "-o", w("out_resumed.h5"), "--overwrite"],
                       draw_hdf5_mutation),
        "porosity": ("porosity file", "porosity.h5",
                     lambda f: ["generate", *small, "-o", w("out_data.h5"), "--overwrite", "--set",
                                "porosity.source=file", "--set", f"porosity.file={f}"], draw_hdf5_mutation),
        "conditions-csv": ("conditions CSV", "conditions.csv",
                           lambda f: ["generate", "--preset", "small", "-q", "-o", w("out_data.h5"), "--overwrite",
                                      "--set", "pde.N=12", "--set", "conditions.realisations=2", "--set",
                                      "conditions.source=file", "--set", f"conditions.file={f}"],
                           draw_text_mutation),
        "toml": ("TOML configuration", "config.toml",
                 lambda f: ["generate", "--preset", "small", "-q", "-c", f, "-o", w("out_data.h5"), "--overwrite"],
                 draw_text_mutation),
    }


def replay(args, run, w, readers):
    """Runs every entry of the regression corpus: NAME.json holds the reader,
    why the entry is there, and either the mutations to apply to a fresh
    corpus file or (for inputs that only reproduce byte for byte) the name of
    a committed file beside it; optionally the exit status and a phrase of
    the message that the input must now give."""
    entries = sorted(e for e in os.listdir(args.replay) if e.endswith(".json"))
    if not entries:
        sys.exit(f"fuzz corpus: no entries (*.json) in {args.replay}")
    failures = []
    for name in entries:
        entry = json.load(open(os.path.join(args.replay, name)))
        label, corpus, command, _ = readers[entry["reader"]]
        target = w("replay_" + os.path.splitext(name)[0] + os.path.splitext(corpus)[1])
        if "file" in entry:
            shutil.copy(os.path.join(args.replay, entry["file"]), target)
            what = f"committed file {entry['file']}"
        else:
            shutil.copy(w(corpus), target)
            what = "; ".join(apply_mutation(target, m) for m in entry["mutations"])
        try:
            r = run(*command(target))
            code, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        problem = verdict(code, err, entry.get("expect_exit"))
        if problem is None and entry.get("expect_message", "") not in err:
            problem = f"the message lacks {entry['expect_message']!r}"
        print(f"{'FAIL' if problem else 'ok  '} {name} ({label}: {what}) -> {code}")
        if problem:
            failures.append(f"{name} ({label}: {what}): {problem}\n  {err.strip()[-600:]}")
    if failures:
        sys.exit("\n".join([f"FAILED ({len(failures)} of {len(entries)} corpus entries):"] + failures))
    print(f"fuzz corpus: {len(entries)} entries, each handled")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=240.0, help="stop after this long (the CI bound)")
    ap.add_argument("--replay", metavar="DIR", help="run the regression corpus in DIR instead of fuzzing")
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(os.path.join(args.workdir, "crashes"))
    w = lambda name: os.path.join(args.workdir, name)  # noqa: E731

    def run(*a, timeout=120):
        return subprocess.run([args.psgm, *a], capture_output=True, text=True, env=ENV, timeout=timeout)

    readers = build_corpus(run, w)
    if args.replay:
        replay(args, run, w, readers)
        return

    slugs = sorted(readers)
    rng = random.Random(args.seed)
    failures = []
    known = []
    start = time.time()
    done = 0
    for k in range(args.rounds):
        if time.time() - start > args.seconds:
            break
        slug = slugs[k % len(slugs)]
        name, corpus, command, draw = readers[slug]
        ext = os.path.splitext(corpus)[1]
        target = w(f"mutant_{k}{ext}")
        shutil.copy(w(corpus), target)
        mutation = None
        try:
            mutation = draw(rng, target)
            what = apply_mutation(target, mutation)
        except Exception as e:  # h5py refuses some mutations; a harmless round
            what = f"mutation failed ({e})"
        try:
            r = run(*command(target))
            code, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        done += 1
        problem = verdict(code, err)
        hdf5 = known_hdf5_crash(err, mutation) if problem else None
        if hdf5:
            known.append(k)
            print(f"known round {k} {name}: {what} -> {code}: crash in libhdf5's {hdf5} (docs/reliability.md §6)")
            os.remove(target)
        elif problem:
            # The input, and a corpus entry that reproduces it: copy the .json
            # (and, for byte-level mutations, the input named in it) into
            # tests/cli/fuzz_corpus/ once the bug is fixed.
            kept = os.path.join(args.workdir, "crashes", os.path.basename(target))
            shutil.copy(target, kept)
            entry = {"reader": slug, "why": f"fuzz_readers.py --seed {args.seed}, round {k}: {what}: {problem}"}
            if mutation is not None and mutation["op"] not in ("bytes", "truncate"):
                entry["mutations"] = [mutation]
            else:
                entry["file"] = os.path.basename(target)
            with open(os.path.splitext(kept)[0] + ".json", "w") as f:
                json.dump(entry, f, indent=1)
            failures.append(f"round {k} ({name}: {what}): {problem}\n  {err.strip()[-600:]}\n  input kept: {kept}")
            print(f"FAIL round {k} {name}: {what} -> {code}")
        else:
            print(f"ok   round {k} {name}: {what} -> {code}")
            os.remove(target)
    if failures:
        sys.exit("\n".join([f"FAILED ({len(failures)} of {done} rounds):"] + failures))
    extra = f" ({len(known)} known crashes inside libhdf5, rounds {known})" if known else ""
    print(f"fuzz: {done} rounds, no crash of psgm's{extra}")


if __name__ == "__main__":
    main()
