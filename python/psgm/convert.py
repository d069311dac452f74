"""Convert between PyTorch ``state_dict`` files and psgm model files (HDF5).

A psgm model file (docs/design.md §5) holds the weights of the reference
network (``python/psgm/network.py``) under their ``state_dict`` names, plus
the architecture, the normalisation (spec sgm.md §1), the SDE and the
training record. This script moves models between psgm and Python code:

    # psgm -> PyTorch: a dict with "state_dict", "config", "normalization", "sde", "training", "dtype"
    /usr/bin/python3 python/psgm/convert.py to-torch model.h5 model.pt

    # PyTorch -> psgm: such a dict, or a bare state_dict (architecture read off the shapes;
    # give N, the normalisation and the SDE as options)
    /usr/bin/python3 python/psgm/convert.py to-psgm model.pt model.h5 [--num-points 100]
        [--normalization norm.json] [--sde vp --beta-max 20] [--dtype float32]

    # what a model file holds
    /usr/bin/python3 python/psgm/convert.py info model.h5

The round trip psgm -> PyTorch -> psgm reproduces every weight bit for bit
and every attribute of the model (the /checkpoint group of a training
checkpoint, i.e. Adam moments and EMA state, is psgm's own and not carried).

Python API: ``read_model_file(path) -> dict``, ``write_model_file(path, model)``,
``load_network(path) -> (FilmCnn, dict)``, ``save_network(path, net, ...)``.

Needs h5py, numpy and PyTorch (Debian: python3-h5py, python3-numpy, python3-torch).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, Dict, Optional

import h5py
import numpy as np
import torch

if __package__ in (None, ""):  # run as a script: make `psgm` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from psgm.network import FilmCnn, FilmCnnConfig, parameter_shapes  # noqa: E402

FORMAT = "psgm-model"
FORMAT_VERSION = 1

SDE_FIELDS = {
    "vp": ("beta_min", "beta_max", "t_min"),
    "ve": ("sigma_min", "sigma_max", "t_min"),
    "edm": ("sigma_data", "p_mean", "p_std", "sigma_min", "sigma_max", "rho"),
}
SDE_DEFAULTS = {
    "vp": {"beta_min": 1e-3, "beta_max": 20.0, "t_min": 1e-4},
    "ve": {"sigma_min": 0.01, "sigma_max": 50.0, "t_min": 1e-5},
    "edm": {"sigma_data": 1.0, "p_mean": -1.2, "p_std": 1.2, "sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0},
}
NORMALIZATION_DEFAULT = {
    "field_mean": [0.0, 0.0],
    "field_std": [1.0, 1.0],
    "cond_min": [0.0, 0.0, 0.0],
    "cond_max": [1.0, 1.0, 1.0],
    "cond_log": [1, 0, 0],
}
TRAINING_STRINGS = ("dataset_path", "dataset_sha256", "backend", "config_toml")
TRAINING_INTS = ("steps", "epochs", "best_step", "ema_weights")
TRAINING_SERIES = ("train_loss", "validation_loss", "learning_rate")


class ModelFileError(ValueError):
    """A file that is not a usable psgm model."""


def _str(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def vp_signal_at_t1(beta_min: float, beta_max: float) -> float:
    """m(1) = exp(-alpha(1)/2) of the VP schedule (spec sgm.md §2)."""
    return float(np.exp(-0.5 * (beta_min + 0.5 * (beta_max - beta_min))))


def check_sde(sde: Dict[str, Any]) -> None:
    kind = sde.get("type")
    if kind not in SDE_FIELDS:
        raise ModelFileError(f"SDE type {kind!r}: expected 'vp', 've' or 'edm'")
    missing = [f for f in SDE_FIELDS[kind] if f not in sde]
    if missing:
        raise ModelFileError(f"SDE {kind}: missing parameter(s) {missing}")
    if kind == "vp":
        m1 = vp_signal_at_t1(sde["beta_min"], sde["beta_max"])
        if m1 > 1e-2:
            raise ModelFileError(
                f"VP SDE with beta_min = {sde['beta_min']}, beta_max = {sde['beta_max']} leaves m(1) = {m1:.3g} "
                "of the signal at t = 1 (at most 1e-2 is accepted): samplers start from N(0, I) and the "
                "generated mean would be biased. Use beta_max >= 10 (reference: 20).")


# ---------------------------------------------------------------- reading
def read_model_file(path: str) -> Dict[str, Any]:
    """Everything a psgm model file holds, as plain Python / NumPy values.

    Keys: config (FilmCnnConfig), dtype, state_dict (name -> np.ndarray in the
    file's dtype, canonical order), normalization, sde, training (attributes
    and 1-D arrays), psgm_version.
    """
    if not os.path.exists(path):
        raise ModelFileError(f"model file {path!r} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ModelFileError(f"{path!r} is not a readable HDF5 file (truncated or corrupt?): {e}") from e
    with f:
        fmt = _str(f.attrs.get("format", ""))
        if fmt != FORMAT:
            raise ModelFileError(f"{path!r} is not a psgm model file: format = {fmt!r}, expected {FORMAT!r}")
        version = int(f.attrs["format_version"])
        if not 1 <= version <= FORMAT_VERSION:
            raise ModelFileError(f"{path!r}: format_version {version}; this converter reads 1..{FORMAT_VERSION}")
        dtype = _str(f.attrs["dtype"])
        if dtype not in ("float32", "float64"):
            raise ModelFileError(f"{path!r}: dtype = {dtype!r}, expected 'float32' or 'float64'")
        arch = f["architecture"].attrs
        config = FilmCnnConfig(**{k: int(arch[k]) for k in FilmCnnConfig().to_dict()})
        config.validate()
        norm_attrs = f["normalization"].attrs
        normalization = {k: [float(v) for v in norm_attrs[k]] for k in ("field_mean", "field_std", "cond_min", "cond_max")}
        normalization["cond_log"] = [int(v) for v in norm_attrs["cond_log"]]
        sde_attrs = f["sde"].attrs
        sde: Dict[str, Any] = {"type": _str(sde_attrs["type"])}
        if sde["type"] not in SDE_FIELDS:
            raise ModelFileError(f"{path!r}: /sde type {sde['type']!r}")
        for k in SDE_FIELDS[sde["type"]]:
            sde[k] = float(sde_attrs[k])
        check_sde(sde)
        weights = f["weights"]
        state: Dict[str, np.ndarray] = {}
        expected = parameter_shapes(config)
        for name, shape in expected:
            if name not in weights:
                raise ModelFileError(f"{path!r}: missing weight '/weights/{name}' (shape {list(shape)} expected)")
            arr = weights[name][()]
            if tuple(arr.shape) != tuple(shape):
                raise ModelFileError(f"{path!r}: weight '/weights/{name}' has shape {list(arr.shape)}, "
                                     f"the architecture needs {list(shape)}")
            state[name] = arr
        extra = sorted(set(weights.keys()) - {n for n, _ in expected})
        if extra:
            raise ModelFileError(f"{path!r}: unexpected weight(s) {extra} not in the architecture")
        training: Dict[str, Any] = {}
        if "training" in f:
            g = f["training"]
            for k, v in g.attrs.items():
                if k in TRAINING_STRINGS:
                    training[k] = _str(v)
                elif k == "seed":
                    training[k] = int(np.uint64(v))
                elif k in TRAINING_INTS:
                    training[k] = int(v)
                else:
                    training[k] = v.item() if hasattr(v, "item") else v
            for k in g.keys():
                training[k] = g[k][()]
        return {
            "config": config,
            "dtype": dtype,
            "state_dict": state,
            "normalization": normalization,
            "sde": sde,
            "training": training,
            "psgm_version": _str(f.attrs.get("psgm_version", "")),
        }


def load_network(path: str, map_dtype: Optional[torch.dtype] = None):
    """A FilmCnn with the weights of a psgm model file, and the file's contents."""
    model = read_model_file(path)
    net = FilmCnn(model["config"])
    dtype = map_dtype or (torch.float32 if model["dtype"] == "float32" else torch.float64)
    net = net.to(dtype)
    net.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in model["state_dict"].items()},
                        strict=True)
    return net, model


# ---------------------------------------------------------------- writing
def write_model_file(path: str, model: Dict[str, Any]) -> None:
    """Writes a psgm model file atomically (temporary file in the same directory, then rename).

    `model` has the keys of read_model_file(); state_dict values may be
    tensors or arrays; missing normalization / sde / training take defaults
    (identity normalisation, the reference VP SDE, an empty record).
    """
    config: FilmCnnConfig = model["config"]
    config.validate()
    dtype = model.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ModelFileError(f"dtype {dtype!r}: expected 'float32' or 'float64'")
    np_dtype = np.float32 if dtype == "float32" else np.float64
    state = model["state_dict"]
    expected = parameter_shapes(config)
    names = [n for n, _ in expected]
    missing = [n for n in names if n not in state]
    if missing:
        raise ModelFileError(f"state_dict lacks weight(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} "
                             "of the architecture")
    extra = sorted(set(state) - set(names))
    if extra:
        raise ModelFileError(f"state_dict has weight(s) {extra[:5]} that the architecture does not have")
    normalization = dict(NORMALIZATION_DEFAULT, **(model.get("normalization") or {}))
    sde = dict(model.get("sde") or {"type": "vp"})
    sde = dict(SDE_DEFAULTS[sde.get("type", "vp")], **sde)
    check_sde(sde)
    training = dict(model.get("training") or {})
    training.setdefault("backend", "pytorch")

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp-", dir=directory)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            f.attrs["psgm_version"] = model.get("psgm_version") or "python-convert"
            f.attrs["dtype"] = dtype
            g = f.create_group("architecture")
            for k, v in config.to_dict().items():
                g.attrs[k] = np.int64(v)
            g = f.create_group("normalization")
            for k in ("field_mean", "field_std", "cond_min", "cond_max"):
                g.attrs[k] = np.asarray(normalization[k], dtype=np.float64)
            g.attrs["cond_log"] = np.asarray(normalization["cond_log"], dtype=np.int64)
            g = f.create_group("sde")
            g.attrs["type"] = sde["type"]
            for k in SDE_FIELDS[sde["type"]]:
                g.attrs[k] = np.float64(sde[k])
            g = f.create_group("weights")
            for name, shape in expected:
                v = state[name]
                arr = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
                if tuple(arr.shape) != tuple(shape):
                    raise ModelFileError(f"weight {name!r} has shape {list(arr.shape)}, the architecture needs "
                                         f"{list(shape)}")
                g.create_dataset(name, data=arr.astype(np_dtype, copy=False))
            g = f.create_group("training")
            for k in TRAINING_STRINGS:
                g.attrs[k] = str(training.get(k, ""))
            for k in TRAINING_INTS:
                g.attrs[k] = np.int64(training.get(k, 0))
            g.attrs["seed"] = np.uint64(training.get("seed", 0))
            g.attrs["best_validation_loss"] = np.float64(training.get("best_validation_loss", 0.0))
            for k in TRAINING_SERIES:
                g.create_dataset(k, data=np.asarray(training.get(k, []), dtype=np.float64).reshape(-1))
            g.create_dataset("validation_step",
                             data=np.asarray(training.get("validation_step", []), dtype=np.int64).reshape(-1))
            known = set(TRAINING_STRINGS + TRAINING_INTS + TRAINING_SERIES) | {
                "seed", "best_validation_loss", "validation_step", "backend"}
            for k, v in training.items():  # extra curves (gradient_norm, validation_loss_raw, ...)
                if k not in known and isinstance(v, (np.ndarray, list)):
                    g.create_dataset(k, data=np.asarray(v, dtype=np.float64).reshape(-1))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_network(path: str, net: FilmCnn, normalization: Optional[Dict] = None, sde: Optional[Dict] = None,
                 training: Optional[Dict] = None, dtype: Optional[str] = None) -> None:
    """Writes a FilmCnn (its state_dict and config) as a psgm model file."""
    if dtype is None:
        dtype = "float64" if net.lift.weight.dtype == torch.float64 else "float32"
    write_model_file(path, {"config": net.config, "dtype": dtype, "state_dict": net.state_dict(),
                            "normalization": normalization, "sde": sde, "training": training})


def infer_config(state: Dict[str, Any], num_points: int, cond_dim: int = 3) -> FilmCnnConfig:
    """The architecture of a bare state_dict, read off its weight shapes."""
    try:
        width, channels, _ = state["lift.weight"].shape
        num_blocks = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
        kernel = state["blocks.0.conv1.weight"].shape[2] if num_blocks else 1
        film_layers = len({k.split(".")[4] for k in state if k.startswith("blocks.0.film.layers.")}) if num_blocks else 1
        z_dim = state["out_affine.weight"].shape[1]
        film_hidden = state["blocks.0.film.layers.0.weight"].shape[0] if num_blocks and film_layers > 1 else 1
    except KeyError as e:
        raise ModelFileError(f"state_dict is not a FilmCnn (missing {e})") from e
    if (z_dim - cond_dim) % 2:
        raise ModelFileError(f"out_affine takes z of {z_dim} values; with cond_dim = {cond_dim} the time "
                             "embedding would have an odd size")
    return FilmCnnConfig(channels=int(channels), num_points=int(num_points), width=int(width),
                         num_blocks=int(num_blocks), kernel_size=int(kernel),
                         num_frequencies=int((z_dim - cond_dim) // 2), cond_dim=int(cond_dim),
                         film_hidden=int(film_hidden), film_layers=int(film_layers))


# ---------------------------------------------------------------- torch files
def to_torch(h5_path: str, pt_path: str) -> None:
    model = read_model_file(h5_path)
    torch_dtype = torch.float32 if model["dtype"] == "float32" else torch.float64
    out = {
        "format": "psgm-torch",
        "config": model["config"].to_dict(),
        "dtype": model["dtype"],
        "state_dict": {k: torch.from_numpy(np.ascontiguousarray(v)).to(torch_dtype)
                       for k, v in model["state_dict"].items()},
        "normalization": model["normalization"],
        "sde": model["sde"],
        "training": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in model["training"].items()},
        "psgm_version": model["psgm_version"],
    }
    torch.save(out, pt_path)


def from_torch(pt_path: str, h5_path: str, args: argparse.Namespace) -> None:
    obj = torch.load(pt_path, map_location="cpu")
    if isinstance(obj, dict) and "state_dict" in obj:
        state = obj["state_dict"]
        config = FilmCnnConfig.from_dict(obj["config"]) if "config" in obj else infer_config(state, args.num_points)
        normalization = obj.get("normalization")
        sde = obj.get("sde")
        training = obj.get("training")
        dtype = obj.get("dtype")
        version = obj.get("psgm_version")
    else:
        state, normalization, sde, training, dtype, version = obj, None, None, None, None, None
        config = infer_config(state, args.num_points)
    if args.normalization:
        with open(args.normalization) as fh:
            normalization = json.load(fh)
    if args.sde:
        sde = {"type": args.sde}
    if sde is not None:
        sde = dict(SDE_DEFAULTS[sde["type"]], **sde)
        for k in SDE_FIELDS[sde["type"]]:
            v = getattr(args, k, None)
            if v is not None:
                sde[k] = v
    if dtype is None or args.dtype:
        first = next(iter(state.values()))
        dtype = args.dtype or ("float64" if first.dtype == torch.float64 else "float32")
    if training is not None:
        training = {k: (np.asarray(v) if isinstance(v, list) else v) for k, v in training.items()}
    write_model_file(h5_path, {"config": config, "dtype": dtype, "state_dict": state, "normalization": normalization,
                               "sde": sde, "training": training, "psgm_version": version})


def info(h5_path: str) -> None:
    model = read_model_file(h5_path)
    cfg = model["config"]
    n = sum(int(np.prod(v.shape)) for v in model["state_dict"].values())
    print(f"{h5_path}: psgm model ({model['dtype']}, {n} weights), written by psgm {model['psgm_version']}")
    print(f"  architecture: {cfg.to_dict()}")
    print(f"  normalization: {model['normalization']}")
    print(f"  sde: {model['sde']}")
    t = model["training"]
    if t:
        print(f"  training: backend {t.get('backend', '')!r}, {t.get('steps', 0)} steps, {t.get('epochs', 0)} epochs,"
              f" best validation loss {t.get('best_validation_loss', 0):.6g} at step {t.get('best_step', 0)}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring (python/psgm/convert.py) and docs/training.md.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("to-torch", help="psgm model file (.h5) -> PyTorch file (.pt)")
    a.add_argument("model")
    a.add_argument("output")
    b = sub.add_parser("to-psgm", help="PyTorch file (.pt) -> psgm model file (.h5)")
    b.add_argument("input")
    b.add_argument("output")
    b.add_argument("--num-points", type=int, default=100, help="N, for a bare state_dict (default 100)")
    b.add_argument("--normalization", help="JSON file with field_mean, field_std, cond_min, cond_max, cond_log")
    b.add_argument("--sde", choices=sorted(SDE_FIELDS), help="SDE type (default: the file's, else vp)")
    for k in sorted({f for fs in SDE_FIELDS.values() for f in fs}):
        b.add_argument("--" + k.replace("_", "-"), dest=k, type=float, help=f"SDE parameter {k}")
    b.add_argument("--dtype", choices=("float32", "float64"), help="weight precision in the file")
    c = sub.add_parser("info", help="summarise a psgm model file")
    c.add_argument("model")
    args = p.parse_args(argv)
    try:
        if args.command == "to-torch":
            to_torch(args.model, args.output)
        elif args.command == "to-psgm":
            from_torch(args.input, args.output, args)
        else:
            info(args.model)
    except ModelFileError as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
