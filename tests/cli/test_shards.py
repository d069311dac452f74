"""`psgm generate --shard i/n`, `psgm sample --shard i/n` and `psgm merge`.

The 3 shards of a run, each batched differently, merge into a file whose
content sha256 equals the one-process run's, for a PDE data set and for model
samples; merge refuses missing, overlapping, mismatched, incomplete and
whole-run inputs and follows the output policy; bad shard specs are refused.
Usage: test_shards.py --psgm BIN --workdir DIR
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import h5py

from psgm.clitest import Checks, Cli, content_sha, ok, setup

check = Checks()


def main():
    args, env, w = setup(mpirun=False)

    run = Cli(args.psgm, env).run

    def digest(path: str) -> str:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    def refused(name: str, r: subprocess.CompletedProcess, phrases, untouched=()):
        text = r.stdout + r.stderr
        missing = [p for p in phrases if p not in text]
        check(name, r.returncode == 2 and not missing,
              f"exit {r.returncode}, missing {missing}:\n{r.stderr.strip()}")
        for path, before in untouched:
            check(f"  ... {os.path.basename(path)} untouched",
                  (before is None and not os.path.exists(path)) or (before is not None and digest(path) == before))

    # ---- psgm generate: 6 conditions x 5 realisations = 30 samples
    data = ["--preset", "small", "-q", "--set", "conditions.count=6", "--set", "conditions.realisations=5",
            "--set", "pde.N=20"]
    whole = content_sha(ok(run("generate", *data, "-o", w("whole.h5")), "generate"))
    parts = []
    for i in range(3):
        parts.append(w(f"part{i}.h5"))
        ok(run("generate", *data, "--set", "run.batch_size=4", "--shard", f"{i}/3", "-o", parts[-1]),
           f"generate --shard {i}/3")
        check(f"generate --shard {i}/3 writes its 10 samples", h5py.File(parts[-1])["samples/status"].shape == (10,))
    merged = content_sha(ok(run("merge", *reversed(parts), "-o", w("merged.h5")), "merge"))
    check("generate: 3 shards merged == one run (content sha256)", merged == whole, f"{merged} vs {whole}")
    with h5py.File(w("merged.h5")) as f:
        check("  ... the merged file is no shard", "shard" not in f.attrs and int(f.attrs["merged_shards"]) == 3)
        check("  ... with porosity", f["samples/porosity"].shape == (30, 20))

    # ---- merge refuses what is not one complete run
    refused("merge refuses a missing shard", run("merge", parts[0], parts[1], "-o", w("m1.h5")),
            ["1 of the 3 shards are missing: 2/3"], [(w("m1.h5"), None)])
    shutil.copy(parts[1], w("part1_copy.h5"))
    refused("merge refuses overlapping shards", run("merge", *parts, w("part1_copy.h5"), "-o", w("m2.h5")),
            ["are both shard 1/3", "overlapping"], [(w("m2.h5"), None)])
    ok(run("generate", *data, "--set", "porosity.sigma=0.5", "--shard", "2/3", "-o", w("other2.h5")), "generate sigma")
    refused("merge refuses a shard of a run with other physics",
            run("merge", parts[0], parts[1], w("other2.h5"), "-o", w("m3.h5")),
            ["other2.h5", "differs from that of", "not the same run"], [(w("m3.h5"), None)])
    ok(run("generate", *data, "--seed", "99", "--shard", "2/3", "-o", w("seed2.h5")), "generate --seed 99")
    refused("merge refuses a shard of a run with other conditions",
            run("merge", parts[0], parts[1], w("seed2.h5"), "-o", w("m3.h5")),
            ["seed2.h5", "its conditions differ"], [(w("m3.h5"), None)])
    ok(run("generate", *data, "--shard", "1/2", "-o", w("half1.h5")), "generate --shard 1/2")
    refused("merge refuses shards of different splits", run("merge", parts[0], w("half1.h5"), "-o", w("m4.h5")),
            ["shards of different splits"])
    refused("merge refuses a whole run", run("merge", w("whole.h5"), parts[1], "-o", w("m5.h5")),
            ["is not a shard", "whole run"])
    shutil.copy(parts[1], w("short1.h5"))
    with h5py.File(w("short1.h5"), "a") as f:
        for name in ("fields", "porosity", "condition_index", "status"):
            f["samples/" + name].resize(9, axis=0)
    refused("merge refuses an incomplete shard", run("merge", parts[0], w("short1.h5"), parts[2], "-o", w("m6.h5")),
            ["holds 9 samples", "has 10", "incomplete"], [(w("m6.h5"), None)])
    before = digest(parts[0])
    refused("merge refuses an output that is an input", run("merge", *parts, "-o", parts[0], "--overwrite"),
            ["is also an input"], [(parts[0], before)])
    before = digest(w("merged.h5"))
    refused("merge does not overwrite without --overwrite", run("merge", *parts, "-o", w("merged.h5")),
            ["already exists; pass --overwrite"], [(w("merged.h5"), before)])
    check("merge --overwrite replaces its own output",
          content_sha(ok(run("merge", *parts, "-o", w("merged.h5"), "--overwrite"), "merge --overwrite")) == whole)

    # ---- bad shard specs
    refused("--shard 3/3 is refused", run("generate", *data, "--shard", "3/3", "-o", w("bad.h5")),
            ["--shard: shard 3/3: the index i must lie in 0 ... 2"], [(w("bad.h5"), None)])
    refused("--shard 1 is refused", run("generate", *data, "--shard", "1", "-o", w("bad.h5")),
            ["shard '1': expected i/n"], [(w("bad.h5"), None)])
    refused("more shards than samples are refused", run("generate", *data, "--shard", "0/31", "-o", w("bad.h5")),
            ["31 shards for 30 samples"], [(w("bad.h5"), None)])

    # ---- psgm sample: a tiny model, 2 conditions x 7 samples = 14, shards of 5, 5, 4
    ok(run("train", "--preset", "small", "-q", "--backend", "native", "--set", "model.width=8", "--set",
           "model.num_blocks=1", "--set", "training.steps=12", "--data", w("whole.h5"), "-o", w("model.h5")), "train")
    sample = ["-m", w("model.h5"), "-q", "-n", "7", "--sampler", "dpm_solver_2m", "--set", "sampler.steps=4",
              "--set", "conditions.source=list", "--set", "conditions.list=[[1e-5, 0.0, 25.0], [2e-5, 0.1, 10.0]]"]
    whole_samples = content_sha(ok(run("sample", *sample, "-o", w("samples.h5")), "sample"))
    sample_parts = []
    for i in range(3):
        sample_parts.append(w(f"samples{i}.h5"))
        ok(run("sample", *sample, "--set", "sample.batch_size=3", "--shard", f"{i}/3", "-o", sample_parts[-1]),
           f"sample --shard {i}/3")
    merged_samples = content_sha(ok(run("merge", *sample_parts, "-o", w("samples_merged.h5")), "merge samples"))
    check("sample: 3 shards merged == one run (content sha256)", merged_samples == whole_samples,
          f"{merged_samples} vs {whole_samples}")
    with h5py.File(w("samples_merged.h5")) as f, h5py.File(w("samples.h5")) as g:
        check("  ... the merged record: failures summed, the NFE of one run",
              int(f.attrs["num_failed"]) == int(g.attrs["num_failed"]) and int(f.attrs["nfe"]) == int(g.attrs["nfe"]))
    refused("merge refuses samples and data shards together", run("merge", sample_parts[0], parts[1], parts[2],
                                                                   "-o", w("m7.h5")), ["is a shard of a run of 30 samples"])

    sys.exit(check.exit_status())


if __name__ == "__main__":
    main()
