"""Reliability of the psgm executable (issue 15, docs/reliability.md).

Each probe of the issue is a case here: the output policy (an existing output
is never replaced without --overwrite, an input never, --overwrite replaces
only what psgm wrote, the pipeline removes only what its manifest lists and
only after every step's configuration passed), checkpoints and other files
as untrusted input, interrupts that end with 130/143 and say how to resume,
conditions whose model samples all failed reported, and sizes that cannot fit
refused before allocating. Usage: test_reliability.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

FAILURES: list[str] = []
PSGM = ""
WORK = ""
ENV = dict(os.environ, OMP_NUM_THREADS="2", OMP_WAIT_POLICY="passive")


def w(name: str) -> str:
    return os.path.join(WORK, name)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PSGM, *args], capture_output=True, text=True, env=ENV)


def digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def expect(name: str, r: subprocess.CompletedProcess, code: int, phrases=(), unchanged=()):
    """r exits with `code`, its stderr holds every phrase, the files in
    `unchanged` ((path, digest) pairs) are as they were."""
    problems = []
    if r.returncode != code:
        problems.append(f"exit code {r.returncode}, expected {code}")
    for p in phrases:
        if p not in r.stderr + r.stdout:
            problems.append(f"missing {p!r}")
    for path, d in unchanged:
        if not os.path.exists(path) or digest(path) != d:
            problems.append(f"{path} was replaced or removed")
    if problems:
        FAILURES.append(f"{name}: {'; '.join(problems)}\n  stdout: {r.stdout.strip()}\n  stderr: {r.stderr.strip()}")
    print(f"{'FAIL' if problems else 'ok  '} {name}")


def check(name: str, ok: bool, detail: str = ""):
    if not ok:
        FAILURES.append(f"{name}: {detail}")
    print(f"{'FAIL' if not ok else 'ok  '} {name}")


SMALL_DATA = ["--preset", "small", "-q", "--set", "conditions.count=6", "--set", "conditions.realisations=5",
              "--set", "pde.N=20"]
TINY_TRAIN = ["--preset", "small", "-q", "--backend", "native", "--set", "model.width=8", "--set",
              "model.num_blocks=1", "--set", "training.steps=12"]


def output_policy():
    r = run("generate", *SMALL_DATA, "-o", w("d.h5"))
    assert r.returncode == 0, r.stderr
    d = digest(w("d.h5"))
    r = run("train", *TINY_TRAIN, "--data", w("d.h5"), "-o", w("m.h5"))
    assert r.returncode == 0, r.stderr
    ck = w("m.checkpoint.h5")

    # Issue finding 1: resuming into an existing data set replaced it.
    expect("train --resume CK -o DATA (the run's own training data) is refused as an input",
           run("train", "--resume", ck, "-o", w("d.h5"), "-q", "--overwrite"), 2,
           ["is also an input", "training data set"], [(w("d.h5"), d)])
    shutil.copy(w("d.h5"), w("d_copy.h5"))
    expect("train --resume CK -o EXISTING is refused without --overwrite",
           run("train", "--resume", ck, "-o", w("d_copy.h5"), "-q"), 2, ["already exists", "--overwrite"],
           [(w("d_copy.h5"), d)])
    expect("--overwrite does not replace a data set with a model",
           run("train", "--resume", ck, "-o", w("d_copy.h5"), "-q", "--overwrite"), 2,
           ["is a psgm-dataset file, not a psgm-model file", "only files psgm wrote"], [(w("d_copy.h5"), d)])
    expect("train --data d.h5 -o d.h5 is refused even with --overwrite",
           run("train", *TINY_TRAIN, "--data", w("d.h5"), "-o", w("d.h5"), "--overwrite"), 2,
           ["is also an input", "training data set"], [(w("d.h5"), d)])
    # ... and `train -o foo.h5` silently replaced foo.checkpoint.h5.
    shutil.copy(ck, w("other.checkpoint.h5"))
    c = digest(w("other.checkpoint.h5"))
    expect("train -o foo.h5 does not replace an existing foo.checkpoint.h5",
           run("train", *TINY_TRAIN, "--data", w("d.h5"), "-o", w("other.h5")), 2,
           ["checkpoint", "other.checkpoint.h5' already exists", "--overwrite"], [(w("other.checkpoint.h5"), c)])
    check("... and leaves no model file behind", not os.path.exists(w("other.h5")))
    expect("resuming a run's own checkpoint updates its model without --overwrite",
           run("train", "--resume", ck, "-q"), 0)
    m = digest(w("m.h5"))
    expect("sample -m m.h5 -o m.h5 is refused even with --overwrite",
           run("sample", "-m", w("m.h5"), "-o", w("m.h5"), "--overwrite", "-q", "-n", "2"), 2,
           ["is also an input", "model file"], [(w("m.h5"), m)])
    with open(w("notes.h5"), "w") as f:
        f.write("precious")
    n = digest(w("notes.h5"))
    expect("--overwrite never replaces a file psgm did not write",
           run("generate", *SMALL_DATA, "-o", w("notes.h5"), "--overwrite"), 2,
           ["is not a file psgm wrote", "only files psgm wrote"], [(w("notes.h5"), n)])
    expect("--overwrite replaces a file psgm wrote as such",
           run("generate", *SMALL_DATA, "-o", w("d2.h5")), 0)
    expect("  (the second time, with --overwrite)", run("generate", *SMALL_DATA, "-o", w("d2.h5"), "--overwrite"), 0)


def evaluate_outputs():
    # psgm evaluate: the tables are psgm's only when its manifest lists them.
    os.makedirs(w("eval"), exist_ok=True)
    with open(w("eval/metrics.md"), "w") as f:
        f.write("my notes")
    n = digest(w("eval/metrics.md"))
    expect("evaluate --overwrite keeps a metrics.md psgm did not write",
           run("evaluate", "--preset", "small", "-m", w("d.h5"), "-d", w("d.h5"), "-o", w("eval"), "--overwrite",
               "-q", "--set", "evaluate.permutations=9"), 2,
           ["is not listed in", ".psgm-manifest"], [(w("eval/metrics.md"), n)])


def untrusted_files():
    ck = w("m.checkpoint.h5")

    def crafted(name, edit):
        path = w(name)
        shutil.copy(ck, path)
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    def set_attr(key, value):
        return lambda f: f["checkpoint"].attrs.__setitem__(key, np.int64(value))

    p = crafted("neg.checkpoint.h5", set_attr("batch_in_epoch", -2))
    expect("a checkpoint with batch_in_epoch = -2 is refused (it crashed resume)",
           run("train", "--resume", p, "-o", w("neg.h5"), "-q"), 2, ["batch_in_epoch = -2 is out of range"])
    p = crafted("far.checkpoint.h5", set_attr("step", 100000))
    expect("a checkpoint with step > total_steps is refused",
           run("train", "--resume", p, "-o", w("far.h5"), "-q"), 2,
           ["step = 100000 is out of range", "step <= total_steps = 12"])
    check("  ... and writes no model", not os.path.exists(w("far.h5")))

    def nan_moment(f):
        g = f["checkpoint/adam_m"]
        name = sorted(g.keys())[0]
        v = g[name][...]
        v.flat[0] = np.nan
        g[name][...] = v

    p = crafted("nan.checkpoint.h5", nan_moment)
    r = run("train", "--resume", p, "-o", w("nan.h5"), "-q")
    expect("NaN Adam moments are named, not blamed on the learning rate", r, 2,
           ["/checkpoint/adam_m", "nan", "must be finite"])
    check("  ... no mention of the learning rate", "learning_rate" not in r.stderr, r.stderr)

    # Data sets: the grid and the condition table are checked when the file is opened.
    shutil.copy(w("d.h5"), w("badgrid.h5"))
    with h5py.File(w("badgrid.h5"), "r+") as f:
        x = f["grid/x"][...]
        x[3] = np.nan
        f["grid/x"][...] = x
    expect("a data set with a non-finite grid is refused",
           run("train", *TINY_TRAIN, "--data", w("badgrid.h5"), "-o", w("bg.h5")), 2, ["'/grid/x'[3] = nan"])
    shutil.copy(w("d.h5"), w("badcond.h5"))
    with h5py.File(w("badcond.h5"), "r+") as f:
        c = f["conditions"][...]
        c[2, 0] = -1.0
        f["conditions"][...] = c
    expect("a data set with a condition l <= 0 is refused",
           run("evaluate", "--preset", "small", "-m", w("d.h5"), "-d", w("badcond.h5"), "-o", w("eval_bad"), "-q"),
           2, ["'/conditions' row 2", "l > 0"])

    # Physics attributes of ensembles compared with each other must match.
    r = run("generate", *SMALL_DATA, "-o", w("floor_other.h5"), "--seed", "7", "--set", "pde.k_rn=0.2")
    assert r.returncode == 0, r.stderr
    expect("a noise floor of other physics is refused, naming the attribute",
           run("evaluate", "--preset", "small", "-m", w("d.h5"), "-d", w("d.h5"), "--floor", w("floor_other.h5"),
               "-o", w("eval_physics"), "-q", "--set", "evaluate.permutations=9"), 2,
           ["the physics differ", "k_rn = 0.10000000000000001", "k_rn = 0.20000000000000001"])
    check("  ... and writes nothing", not os.path.exists(w("eval_physics/metrics.md")))


def failed_samples():
    # Model samples whose every sample at condition 0 failed: reported with counts.
    shutil.copy(w("d.h5"), w("failed0.h5"))
    with h5py.File(w("failed0.h5"), "r+") as f:
        ci = f["samples/condition_index"][:]
        st = f["samples/status"][:]
        st[ci == 0] = 1
        st[np.flatnonzero(ci == 1)[:2]] = 1
        f["samples/status"][...] = st
    r = run("evaluate", "--preset", "small", "-m", w("failed0.h5"), "-d", w("d.h5"), "-o", w("eval_failed"), "-q",
            "--set", "evaluate.permutations=9")
    expect("a condition whose model samples all failed is reported", r, 0,
           ["model condition 0", "5 of 5 model samples failed", "not evaluated",
            "model condition 1", "2 of 5 model samples failed"])
    md = open(w("eval_failed/metrics.md")).read() if os.path.exists(w("eval_failed/metrics.md")) else ""
    check("  ... in metrics.md too", "5 of 5 model samples failed" in md, md[:400])
    shutil.copy(w("d.h5"), w("failed_all.h5"))
    with h5py.File(w("failed_all.h5"), "r+") as f:
        f["samples/status"][...] = np.full(f["samples/status"].shape, 3, dtype=np.uint8)
    expect("a run whose every model sample failed says so",
           run("evaluate", "--preset", "small", "-m", w("failed_all.h5"), "-d", w("d.h5"), "-o", w("eval_all"), "-q",
               "--set", "evaluate.permutations=9"), 2, ["every model sample in", "failed (30 samples at 6 conditions"])


def non_finite_samples():
    # A sample finite in the model's normalised space but not in physical
    # units (a field scale that overflows doubles) is not stored as ok.
    r = run("train", *TINY_TRAIN, "--set", "model.whiten=false", "--data", w("d.h5"), "-o", w("plain.h5"))
    assert r.returncode == 0, r.stderr
    with h5py.File(w("plain.h5"), "r+") as f:
        f["normalization"].attrs["field_mean"] = np.array([1e308, 0.0])
        f["normalization"].attrs["field_std"] = np.array([1e308, 1.0])
    out = w("overflow_samples.h5")
    r = run("sample", "-q", "-m", w("plain.h5"), "-o", out, "-n", "6", "--sampler", "ode_heun", "--set",
            "sampler.steps=3")
    expect("sample stores non-finite samples as failed and says so", r, 0, ["are not finite or did not converge"])
    if os.path.exists(out):
        with h5py.File(out, "r") as f:
            status = f["samples/status"][:]
            fields = f["samples/fields"][:]
            num_failed = int(f["samples"].attrs.get("num_failed", f.attrs.get("num_failed", -1)))
        finite = np.isfinite(fields.reshape(len(status), -1)).all(axis=1)
        check("  ... no sample with a NaN or Inf is ok", finite[status == 0].all(),
              f"statuses {status.tolist()}, finite {finite.tolist()}")
        check("  ... they are non_finite (1), and some are", (status[~finite] == 1).all() and (~finite).any(),
              f"statuses {status.tolist()}")
        check("  ... num_failed counts them", num_failed == int((status != 0).sum()),
              f"num_failed {num_failed}, statuses {status.tolist()}")


def sizes():
    expect("conditions.count = 10^12 is refused before allocating",
           run("generate", "--preset", "small", "-q", "-o", w("huge.h5"), "--set", "conditions.count=1000000000000"),
           2, ["conditions.count = 1000000000000 needs", "run.memory_budget_mb"])
    expect("conditions.count = 1e12 is refused before allocating",
           run("generate", "--preset", "small", "-q", "-o", w("huge.h5"), "--set", "conditions.count=1e12"),
           2, ["conditions.count = 1000000000000 needs", "at most 16777216 conditions fit"])
    expect("conditions.count = 1.5 is refused as not an integer",
           run("generate", "--preset", "small", "-q", "-o", w("huge.h5"), "--set", "conditions.count=1.5"),
           2, ["'conditions.count' = 1.5 must be an integer"])
    expect("a realisation count beyond run.memory_budget_mb is refused with the size it needs",
           run("generate", "--preset", "small", "-q", "-o", w("huge.h5"), "--set", "conditions.count=2",
               "--set", "conditions.realisations=100000000"),
           2, ["realisations = 100000000 needs", "for one condition's batch", "realisations per condition fit"])
    expect("an integer beyond its type is refused",
           run("generate", "--preset", "small", "-q", "-o", w("huge.h5"), "--set", "pde.N=10000000000"),
           2, ["'pde.N' = 10000000000 is out of range", "2147483647"])
    expect("model.width = 100000 is refused before allocating",
           run("train", *TINY_TRAIN, "--data", w("d.h5"), "-o", w("wide.h5"), "--set", "model.width=100000"),
           2, ["width = 100000", "parameters", "of memory"])
    check("  ... no output", not os.path.exists(w("huge.h5")) and not os.path.exists(w("wide.h5")))
    expect("--threads beyond the machine is clamped with a note", run("--threads", "100000", "info"), 0,
           ["exceeds the", "hardware threads"])


def signalled(args, header: str, sig) -> subprocess.CompletedProcess:
    """Runs psgm with `args`, waits until its stderr shows `header` (the line a
    command prints as it starts its work: the signal must find the command
    running, not still loading, on a busy machine), then sends `sig`."""
    p = subprocess.Popen([PSGM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = []
    for line in p.stderr:
        seen.append(line)
        if line.startswith(header):
            break
    time.sleep(1.0)
    p.send_signal(sig)
    stdout, stderr = p.communicate(timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, stdout, "".join(seen) + stderr)


def interrupts():
    # SIGINT/SIGTERM during train: the checkpoint is written, the exit status is 128 + signal.
    loud_train = [a for a in TINY_TRAIN if a != "-q"]
    for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
        out = w(f"long_{code}.h5")
        r = signalled(["train", *loud_train, "--data", w("d.h5"), "-o", out, "--set", "training.steps=100000000"],
                      "psgm train:", sig)
        expect(f"train ends with {code} on {sig.name}, checkpoint written, resume command shown", r, code,
               ["interrupted at step", "resume with: psgm train --resume"])
        check(f"  ... the checkpoint exists ({sig.name})", os.path.exists(w(f"long_{code}.checkpoint.h5")))

    # SIGTERM during sample: stops at the next batch, no output file, 143.
    out = w("big_samples.h5")
    r = signalled(["sample", "-m", w("m.h5"), "-o", out, "-n", "10000000", "--sampler", "ode_heun", "--set",
                   "sampler.steps=20", "--set", "sample.batch_size=500"], "psgm sample:", signal.SIGTERM)
    expect("sample ends with 143 on SIGTERM and leaves no file", r, 143,
           ["psgm sample stopped after", "no file was written"])
    check("  ... no output, no temporary file", not os.path.exists(out)
          and not any(n.startswith(".big_samples") for n in os.listdir(WORK)), str(os.listdir(WORK)))

    # Ctrl-C inside one long batch (20 000 samples x 10^5 Heun steps, hours of
    # work): stops after the network evaluation in progress, not at the batch's end.
    out = w("one_batch.h5")
    t0 = time.monotonic()
    r = signalled(["sample", "-m", w("m.h5"), "-o", out, "-n", "20000", "--sampler", "ode_heun", "--set",
                   "sampler.steps=100000", "--set", "sample.batch_size=20000"], "psgm sample:", signal.SIGINT)
    expect("sample ends with 130 on SIGINT inside a batch and leaves no file", r, 130,
           ["psgm sample stopped after 0 of 20000 samples, in a batch after", "no file was written"])
    check("  ... long before the batch could end, no output, no temporary file", time.monotonic() - t0 < 120 and not os.path.exists(out)
          and not any(n.startswith(".one_batch") for n in os.listdir(WORK)),
          f"{time.monotonic() - t0:.1f} s, {os.listdir(WORK)}")

    # Ctrl-C during generate: stops at the next batch, no output, no temporary file, 130.
    out = w("big_data.h5")
    r = signalled(["generate", "--preset", "small", "-o", out, "--set", "conditions.count=1000000", "--set",
                   "conditions.realisations=5", "--set", "pde.N=20"], "psgm generate: 1000000 conditions",
                  signal.SIGINT)
    expect("generate ends with 130 on SIGINT and leaves no file", r, 130,
           ["psgm generate stopped after", "no file was written"])
    check("  ... no output, no temporary file", not os.path.exists(out)
          and not any(n.startswith(".big_data") for n in os.listdir(WORK)), str(os.listdir(WORK)))

    # SIGTERM and SIGINT during evaluate: stop at the next condition or inside
    # the energy test of the one running, nothing written. Many conditions and
    # 2*10^6 relabellings per energy test: far more than any machine finishes
    # in the second before the signal (with 2*10^4, an H200 with 16 cores
    # finished all 300 conditions first and was then killed in its teardown:
    # docs/portability.md §5); a command that heeds the signal stops at once.
    r = run("generate", "--preset", "small", "-q", "--set", "conditions.count=300", "--set",
            "conditions.realisations=20", "--set", "pde.N=20", "-o", w("many.h5"))
    assert r.returncode == 0, r.stderr
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        out = w(f"eval_int_{code}")
        r = signalled(["evaluate", "--preset", "small", "-m", w("many.h5"), "-d", w("many.h5"), "-o", out,
                       "--set", "evaluate.permutations=2000000"], "psgm evaluate:", sig)
        expect(f"evaluate ends with {code} on {sig.name} and writes nothing", r, code,
               ["psgm evaluate stopped", "no output was written"])
        left = os.listdir(out) if os.path.isdir(out) else []
        check(f"  ... no output, no temporary file ({sig.name})", left == [], str(left))

    # Ctrl-C inside one condition's energy test: 2*10^7 relabellings per test,
    # four tests per condition (seconds to minutes each), are checked for a
    # signal between batches of relabellings, not only between conditions.
    # (Sized for CPUs: an H200 finished all six conditions within the 3 s
    # below; more relabellings would need P + 1 doubles of memory each, as the
    # test keeps every statistic: docs/portability.md §5.)
    out = w("eval_int_perm")
    p = subprocess.Popen([PSGM, "evaluate", "--preset", "small", "-m", w("d.h5"), "-d", w("d.h5"), "-o", out,
                          "--set", "evaluate.permutations=20000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = []
    for line in p.stderr:
        seen.append(line)
        if line.startswith("psgm evaluate:"):
            break
    time.sleep(3.0)
    p.send_signal(signal.SIGINT)
    signalled_at = time.time()
    stdout, stderr = p.communicate(timeout=300)
    waited = time.time() - signalled_at
    r = subprocess.CompletedProcess(p.args, p.returncode, stdout, "".join(seen) + stderr)
    expect("Ctrl-C during evaluate's permutation test ends it with 130 inside the condition", r, 130,
           ["psgm evaluate stopped in the energy test's permutations of condition 1 of 6", "no output was written"])
    left = os.listdir(out) if os.path.isdir(out) else []
    check("  ... no output, no temporary file", left == [], str(left))
    check(f"  ... promptly ({waited:.1f} s after the signal)", waited < 60, f"{waited:.1f} s")

    # Ctrl-C during the pipeline's training step stops the pipeline there.
    out = w("pipe_int")
    p = subprocess.Popen([PSGM, "pipeline", "-o", out, "-q", *PIPELINE, "--set", "train.steps=100000000"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + 60
    while time.time() < deadline and not os.path.exists(os.path.join(out, "data", "train.h5")):
        time.sleep(0.2)
    time.sleep(2.0)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=120)
    r = subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)
    expect("Ctrl-C during pipeline training stops the pipeline with 130", r, 130,
           ["interrupted in step 2 of", "train", "no report was written"])
    check("  ... no samples, no summary", not os.path.exists(os.path.join(out, "data", "samples.h5"))
          and not os.path.exists(os.path.join(out, "summary.md")))


PIPELINE = ["--set", "pipeline.figures=false", "--set", "emulator.enabled=false",
            "--set", "train.whitening_from_emulator=false",
            "--set", "train_data.conditions=6", "--set", "train_data.realisations=5",
            "--set", 'train_data.set=["pde.N=20"]',
            "--set", "train.steps=5", "--set", 'train.set=["model.width=8", "model.components=4", '
                                               '"training.validate_every=5"]',
            "--set", "heldout.conditions=2", "--set", "heldout.realisations=10",
            "--set", "sample.steps=3", "--set", 'evaluate.set=["evaluate.permutations=9"]']


def pipeline_manifest():
    out = w("pipe")
    r = run("pipeline", "-o", out, "-q", *PIPELINE)
    expect("a tiny pipeline runs", r, 0)
    manifest = open(os.path.join(out, ".psgm-manifest")).read()
    check("its manifest lists what it wrote", "data/model.h5" in manifest and "summary.md" in manifest, manifest)
    # The user's own files in the report folder.
    with open(os.path.join(out, "data", "mine.txt"), "w") as f:
        f.write("mine")
    os.makedirs(os.path.join(out, "figures"), exist_ok=True)
    with open(os.path.join(out, "figures", "my_plot.png"), "wb") as f:
        f.write(b"png")
    summary = digest(os.path.join(out, "summary.md"))
    mine = [(os.path.join(out, "data", "mine.txt"), digest(os.path.join(out, "data", "mine.txt"))),
            (os.path.join(out, "figures", "my_plot.png"), digest(os.path.join(out, "figures", "my_plot.png")))]
    # Issue finding 2: a bad key in a later step deleted data/ and figures/ first.
    expect("pipeline --overwrite with a bad key in a step removes nothing",
           run("pipeline", "-o", out, "-q", "--overwrite", *PIPELINE, "--set", 'sample.set=["sampler.bogus=1"]'), 2,
           ["sample step's configuration is refused", "sampler.bogus"],
           mine + [(os.path.join(out, "summary.md"), summary)])
    r = run("pipeline", "-o", out, "-q", "--overwrite", *PIPELINE)
    expect("pipeline --overwrite reruns and keeps the user's files", r, 0, [], mine)
    check("  ... and writes a fresh summary", os.path.exists(os.path.join(out, "summary.md")))
    # An output the run would write that psgm did not write is refused.
    os.remove(os.path.join(out, ".psgm-manifest"))
    expect("pipeline --overwrite refuses outputs its manifest does not list",
           run("pipeline", "-o", out, "-q", "--overwrite", *PIPELINE), 2,
           ["was not written by psgm", ".psgm-manifest"], mine)


def partial_files():
    d = w("partial")
    os.makedirs(d, exist_ok=True)
    for name in (".x.h5.partial-123-0", ".m.h5.tmp-9-1", "keep.h5"):
        with open(os.path.join(d, name), "w") as f:
            f.write("x")
    r = run("info", "--partial", d)
    expect("psgm info --partial lists leftover temporary files", r, 0, [".x.h5.partial-123-0", ".m.h5.tmp-9-1"])
    check("  ... not the others", "keep.h5" not in r.stdout, r.stdout)
    r = run("generate", *SMALL_DATA, "-o", os.path.join(d, "new.h5"))
    expect("a command writing next to leftover temporary files mentions them", r, 0,
           ["2 temporary file(s)", "psgm info --partial"])
    r = run("info", "--partial", d, "--remove-partial")
    expect("psgm info --partial DIR --remove-partial removes them", r, 0, ["removed"])
    check("  ... and only them", sorted(os.listdir(d)) == ["keep.h5", "new.h5"], str(os.listdir(d)))


def main():
    global PSGM, WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--psgm", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    PSGM, WORK = args.psgm, args.workdir
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    output_policy()  # also makes the data set and model the other groups use
    for g in (evaluate_outputs, untrusted_files, failed_samples, non_finite_samples, sizes, partial_files,
              pipeline_manifest, interrupts):
        if not args.only or g.__name__ in args.only.split(","):
            g()
    if FAILURES:
        sys.exit("\n".join(["FAILED:"] + FAILURES))
    print("reliability: ok")


if __name__ == "__main__":
    main()
