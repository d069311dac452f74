"""Reading psgm data set files with h5py, without psgm (docs/data.md).

    from psgm.dataset import load, content_sha256
    ds = load("reference.h5")            # every data set in memory (fine up to a few GB)
    ds.fields.shape                      # (n, 2, N): channel 0 = c, 1 = phi
    ds.conditions[ds.condition_index]    # (n, 3): the (l, U0, F_right) of each sample
    ok = ds.status == 0                  # psgm::SolveStatus: 0 ok, 1 non_finite, 2 depleted, 3 not_converged
    content_sha256("reference.h5")       # == DatasetReader::content_sha256() in C++

Needs h5py and numpy.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Optional

import h5py
import numpy as np

__all__ = ["Dataset", "load", "content_sha256", "STATUS_NAMES", "write_porosity"]

FORMAT = "psgm-dataset"
FORMAT_VERSION = 1
STATUS_NAMES = ("ok", "non_finite", "depleted", "not_converged")


@dataclasses.dataclass
class Dataset:
    x: np.ndarray                    # (N,) cell centres [m]
    conditions: np.ndarray           # (M, 3) l, U0, F_right
    fields: np.ndarray               # (n, 2, N)
    porosity: Optional[np.ndarray]   # (n, N), None in files of `psgm sample`
    condition_index: np.ndarray      # (n,) int64
    status: np.ndarray               # (n,) uint8
    attrs: dict                      # root attributes


def _check_format(f: h5py.File, path: str) -> None:
    fmt = f.attrs.get("format")
    if fmt != FORMAT:
        raise ValueError(f"{path}: not a psgm data set (format = {fmt!r}, expected {FORMAT!r})")
    version = int(f.attrs.get("format_version", -1))
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version}, expected {FORMAT_VERSION}")


def load(path: str) -> Dataset:
    """Reads a whole data set file into numpy arrays."""
    with h5py.File(path, "r") as f:
        _check_format(f, path)
        return Dataset(
            x=f["grid/x"][...],
            conditions=f["conditions"][...],
            fields=f["samples/fields"][...],
            porosity=f["samples/porosity"][...] if "samples/porosity" in f else None,
            condition_index=f["samples/condition_index"][...],
            status=f["samples/status"][...],
            attrs=dict(f.attrs),
        )


def content_sha256(path: str, block_bytes: int = 4 << 20) -> str:
    """SHA-256 of a data set's data, exactly as psgm::io::DatasetReader::content_sha256.

    For each data set in the order below: the line "<path> <dtype> <d0>x<d1>...\\n",
    then its elements in row-major order as little-endian bytes. Attributes
    (creation time, versions) are not part of it.
    """
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        _check_format(f, path)
        order = [("/grid/x", "<f8", "float64"), ("/conditions", "<f8", "float64"),
                 ("/samples/fields", "<f8", "float64"), ("/samples/porosity", "<f8", "float64"),
                 ("/samples/condition_index", "<i8", "int64"), ("/samples/status", "u1", "uint8")]
        for name, dtype, label in order:
            if name not in f:
                if name == "/samples/porosity":
                    continue
                raise ValueError(f"{path}: data set {name} is missing")
            d = f[name]
            h.update(f"{name} {label} {'x'.join(str(s) for s in d.shape)}\n".encode())
            row_bytes = max(1, int(np.prod(d.shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize)
            block = max(1, block_bytes // row_bytes)
            for r in range(0, d.shape[0], block):
                h.update(np.ascontiguousarray(d[r:r + block], dtype=dtype).tobytes())
    return h.hexdigest()


def write_porosity(path: str, fields: np.ndarray, dataset: str = "/porosity") -> None:
    """Writes porosity fields (N,) or (count, N) for ``psgm generate`` with porosity.source = "file"."""
    fields = np.asarray(fields, dtype=np.float64)
    with h5py.File(path, "w-") as f:
        f.create_dataset(dataset, data=fields)
