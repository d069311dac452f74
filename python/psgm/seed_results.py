"""Write the original work's published ensembles at its judged condition
(shared/seed-results/reference_condition.h5: /pde/fields and /sgm/fields,
500 x 2 x 100 each) as psgm data sets, so that `psgm evaluate` judges them
like any model's samples (docs/results.md, "The original work, side by side").

    /usr/bin/python3 python/psgm/seed_results.py SEED.h5 LIKE.h5 OUTDIR

LIKE.h5 is any psgm data set or samples file on the same grid (its root
attributes, grid and status names are copied); OUTDIR receives
orig_pde32.h5 and orig_sgm.h5. Values are not changed (float32 -> float64).
"""

from __future__ import annotations

import os
import sys

import h5py
import numpy as np


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    seed_path, like_path, outdir = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    with h5py.File(seed_path, "r") as seed, h5py.File(like_path, "r") as like:
        condition = np.asarray(seed.attrs["condition"], dtype=np.float64).reshape(1, 3)
        for key, name in (("pde", "orig_pde32.h5"), ("sgm", "orig_sgm.h5")):
            fields = seed[f"{key}/fields"][:].astype(np.float64)
            if fields.shape[1:] != like["samples/fields"].shape[1:]:
                sys.exit(f"{seed_path}: /{key}/fields has shape {fields.shape}, "
                         f"{like_path} has fields of {like['samples/fields'].shape[1:]}")
            with h5py.File(os.path.join(outdir, name), "w") as f:
                for k, v in like.attrs.items():
                    f.attrs[k] = v
                f.attrs["generator"] = (f"converted from {os.path.basename(seed_path)} /{key}/fields "
                                        "(the original research code, float32)")
                f.create_dataset("grid/x", data=like["grid/x"][:])
                c = f.create_dataset("conditions", data=condition)
                for k, v in like["conditions"].attrs.items():
                    c.attrs[k] = v
                n = len(fields)
                f.create_dataset("samples/fields", data=fields, maxshape=(None,) + fields.shape[1:],
                                 chunks=(64,) + fields.shape[1:])
                f.create_dataset("samples/condition_index", data=np.zeros(n, dtype=np.int64), maxshape=(None,),
                                 chunks=(64,))
                st = f.create_dataset("samples/status", data=np.zeros(n, dtype=np.uint8), maxshape=(None,),
                                      chunks=(64,))
                for k, v in like["samples/status"].attrs.items():
                    st.attrs[k] = v
    print(f"wrote {outdir}/orig_pde32.h5 and {outdir}/orig_sgm.h5")


if __name__ == "__main__":
    main()
