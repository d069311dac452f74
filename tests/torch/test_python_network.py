"""Tests of python/psgm/network.py and python/psgm/convert.py (run by ctest).

    PYTHONPATH=python /usr/bin/python3 tests/torch/test_python_network.py [SCRATCH_DIR]
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np
import torch

from psgm import convert
from psgm.network import FilmCnn, FilmCnnConfig, dsm_loss, parameter_count, parameter_shapes, time_embedding

SCRATCH = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="psgm-python-")
CONVERT = os.path.join(os.path.dirname(convert.__file__), "convert.py")


def tiny():
    return FilmCnnConfig(num_points=12, width=8, num_blocks=2, kernel_size=3, num_frequencies=4, film_hidden=16,
                         film_layers=3)


def h5_contents(path):
    """Every attribute and data set of an HDF5 file, by path."""
    out = {}

    def visit(name, obj):
        for k, v in obj.attrs.items():
            out[f"{name}@{k}"] = v.tolist() if isinstance(v, np.ndarray) else v
        if isinstance(obj, h5py.Dataset):
            out[name] = (obj.dtype.str, obj[()].tobytes())

    with h5py.File(path, "r") as f:
        for k, v in f.attrs.items():
            out[f"/@{k}"] = v.tolist() if isinstance(v, np.ndarray) else v
        f.visititems(visit)
    return out


class NetworkTest(unittest.TestCase):
    def test_reference_parameter_count(self):
        cfg = FilmCnnConfig()
        net = FilmCnn(cfg)
        self.assertEqual(sum(p.numel() for p in net.parameters()), 1116626)
        self.assertEqual(parameter_count(cfg), 1116626)

    def test_state_dict_is_canonical(self):
        for cfg in (FilmCnnConfig(), tiny()):
            sd = FilmCnn(cfg).state_dict()
            expected = parameter_shapes(cfg)
            self.assertEqual(list(sd.keys()), [n for n, _ in expected])  # no buffers, canonical order
            for name, shape in expected:
                self.assertEqual(tuple(sd[name].shape), shape, name)

    def test_initialisation(self):
        net = FilmCnn(FilmCnnConfig())
        self.assertTrue(torch.all(net.out_affine.weight == 0) and torch.all(net.out_affine.bias == 0))
        last = net.blocks[3].film.layers[-1]
        self.assertTrue(torch.all(last.bias == 0))
        self.assertAlmostEqual(last.weight.std().item(), 1e-3, delta=1e-4)
        # at initialisation out_affine is zero, so out = proj(h)
        x, t, c = torch.randn(2, 2, 100), torch.rand(2), torch.rand(2, 3)
        with torch.no_grad():
            h = net.lift(x)
            z = torch.cat([c, time_embedding(t, 16, torch.float32)], 1)
            for b in net.blocks:
                h = b(h, z)
            self.assertTrue(torch.equal(net(x, t, c), net.proj(h)))

    def test_time_embedding_in_float64(self):
        t = torch.tensor([0.7312345], dtype=torch.float32)
        emb = time_embedding(t, 16, torch.float32)
        w = 2 * math.pi * 2.0 ** 15
        self.assertEqual(emb[0, 15].item(), np.float32(math.sin(w * float(t[0]))))
        self.assertEqual(emb[0, 31].item(), np.float32(math.cos(w * float(t[0]))))

    def test_replicate_padding(self):
        # a constant field stays constant through a block's convolutions (replicate padding)
        cfg = tiny()
        net = FilmCnn(cfg).double()
        x = torch.ones(1, 2, cfg.num_points, dtype=torch.float64) * 0.3
        h = net.lift(x)
        u = net.blocks[0].conv1(h)
        self.assertLess((u - u[..., :1]).abs().max().item(), 1e-14)

    def test_unified_dsm_loss_equals_spec(self):
        """mean((s F + z)^2) == mean(v (F + (x_t - m x0) / v)^2) with x_t = m x0 + s z (spec §3)."""
        torch.manual_seed(1)
        cfg = tiny()
        net = FilmCnn(cfg).double()
        for p in net.parameters():
            torch.nn.init.normal_(p, std=0.1)
        B = 5
        x0 = torch.randn(B, 2, cfg.num_points, dtype=torch.float64)
        z = torch.randn_like(x0)
        t = 1e-4 + (1 - 1e-4) * torch.rand(B, dtype=torch.float64) ** 2
        alpha = 1e-3 * t + 0.5 * (20 - 1e-3) * t ** 2
        m, v = torch.exp(-alpha / 2), -torch.expm1(-alpha)
        s = v.sqrt()
        cond = torch.rand(B, 3, dtype=torch.float64)
        xt = m[:, None, None] * x0 + s[:, None, None] * z
        spec = torch.mean(v[:, None, None] * (net(xt, t, cond) + (xt - m[:, None, None] * x0) / v[:, None, None]) ** 2)
        unified = dsm_loss(net, xt, t, cond, s, -z)
        self.assertAlmostEqual(spec.item(), unified.item(), delta=1e-12 * spec.item())


class ConverterTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(SCRATCH, self.id().split(".")[-1])
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_round_trip_through_torch_file_is_identical(self):
        for dtype in ("float32", "float64"):
            net = FilmCnn(tiny())
            if dtype == "float64":
                net = net.double()
            for p in net.parameters():
                torch.nn.init.normal_(p)
            norm = {"field_mean": [1000.0, 0.01], "field_std": [90.0, 0.03], "cond_min": [-13.0, -0.2, 0.0],
                    "cond_max": [-11.0, 0.2, 50.0], "cond_log": [1, 0, 0]}
            training = {"steps": 10, "seed": 2 ** 63 + 5, "train_loss": np.linspace(1, 0.5, 10),
                        "validation_step": np.array([0, 5, 10]), "validation_loss": np.array([1.0, 0.8, 0.7]),
                        "gradient_norm": np.ones(10), "config_toml": "[training]\nseed = 1\n"}
            a, pt, b = self.path(f"a_{dtype}.h5"), self.path(f"a_{dtype}.pt"), self.path(f"b_{dtype}.h5")
            convert.save_network(a, net, norm, {"type": "edm", "p_mean": -1.0}, training)
            self.assertEqual(convert.main(["to-torch", a, pt]), 0)  # the command line, in process
            self.assertEqual(convert.main(["to-psgm", pt, b]), 0)
            ca, cb = h5_contents(a), h5_contents(b)
            self.assertEqual(sorted(ca), sorted(cb))
            for k in ca:
                self.assertEqual(ca[k], cb[k], k)
            loaded, model = convert.load_network(b)
            for (n, p), q in zip(net.state_dict().items(), loaded.state_dict().values()):
                self.assertTrue(torch.equal(p, q), n)
            self.assertEqual(model["training"]["seed"], 2 ** 63 + 5)
            self.assertEqual(model["sde"]["p_mean"], -1.0)

    def test_bare_state_dict_architecture_is_inferred(self):
        cfg = tiny()
        net = FilmCnn(cfg)
        pt, h5 = self.path("bare.pt"), self.path("bare.h5")
        torch.save(net.state_dict(), pt)
        self.assertEqual(convert.main(["to-psgm", pt, h5, "--num-points", "12", "--sde", "vp", "--beta-max", "19"]), 0)
        model = convert.read_model_file(h5)
        self.assertEqual(model["config"], cfg)
        self.assertEqual(model["sde"]["beta_max"], 19.0)
        self.assertEqual(model["training"]["backend"], "pytorch")

    def test_refusals(self):
        net = FilmCnn(tiny())
        good = self.path("good.h5")
        convert.save_network(good, net)
        with self.assertRaisesRegex(convert.ModelFileError, r"m\(1\) = 0.47"):
            convert.save_network(self.path("bad_sde.h5"), net, sde={"type": "vp", "beta_max": 3.0})
        self.assertFalse(os.path.exists(self.path("bad_sde.h5")))
        broken = self.path("missing.h5")
        shutil.copy(good, broken)
        with h5py.File(broken, "a") as f:
            del f["weights/blocks.1.conv1.bias"]
        with self.assertRaisesRegex(convert.ModelFileError, "missing weight '/weights/blocks.1.conv1.bias'"):
            convert.read_model_file(broken)
        other = self.path("other.h5")
        with h5py.File(other, "w") as f:
            f.attrs["format"] = "psgm-dataset"
        with self.assertRaisesRegex(convert.ModelFileError, "not a psgm model file"):
            convert.read_model_file(other)
        truncated = self.path("truncated.h5")
        with open(good, "rb") as fi, open(truncated, "wb") as fo:
            fo.write(fi.read()[: os.path.getsize(good) // 2])
        with self.assertRaises(convert.ModelFileError):
            convert.read_model_file(truncated)
        r = subprocess.run([sys.executable, CONVERT, "info", truncated], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("convert.py: error:", r.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
