"""The reference score network of psgm, in PyTorch (spec sgm.md §4, docs/design.md §5).

This is the Python definition psgm's C++ backends are checked against: the
same architecture, the same parameter names (``state_dict`` keys equal
``psgm::model::parameter_shapes``), the same initialisation. Use it with
``python/psgm/convert.py`` to move weights between PyTorch and psgm model
files.

    from psgm.network import FilmCnn, FilmCnnConfig
    net = FilmCnn(FilmCnnConfig())          # reference: 1 116 626 parameters
    out = net(x, t, cond)                   # x (B, 2, N), t (B,), cond (B, 3), all normalised

Computation (docs/design.md §5, "The network")::

    emb  = [sin(w_0 t) .. sin(w_{F-1} t), cos(w_0 t) .. cos(w_{F-1} t)],  w_k = 2 pi 2^k
    z    = [cond, emb]
    h    = lift(x)                                  1x1 conv, C -> W
    per block b:  (gamma, beta) = split(film_b(z))
                  u = silu(conv1(h) * (1 + gamma) + beta)     conv k, replicate padding
                  u = silu(conv2(u) * (1 + gamma) + beta)
                  h = h + u
    out  = proj(h)                                  1x1 conv, W -> C
    (g, o) = split(out_affine(z));  out = out * (1 + g) + o

The time embedding is computed in float64 and rounded to the network's dtype:
``sin(2 pi 2^15 t)`` in float32 arithmetic would lose about two digits, and
both psgm backends do the same, so outputs agree to round-off. It is computed
on the fly, not stored as a buffer, so it never appears in the state_dict.

Needs only PyTorch (Debian's python3-torch 1.13 works).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Tuple

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "FilmCnnConfig",
    "FilmMlp",
    "ResidualBlock",
    "FilmCnn",
    "time_embedding",
    "parameter_shapes",
    "parameter_count",
    "dsm_loss",
]


@dataclasses.dataclass
class FilmCnnConfig:
    """Architecture; the defaults are the reference (psgm::model::FilmCnnConfig)."""

    channels: int = 2
    num_points: int = 100
    width: int = 64
    num_blocks: int = 10
    kernel_size: int = 7
    num_frequencies: int = 16
    cond_dim: int = 3
    film_hidden: int = 128
    film_layers: int = 4

    @property
    def embedding_dim(self) -> int:
        return 2 * self.num_frequencies

    @property
    def z_dim(self) -> int:
        return self.cond_dim + self.embedding_dim

    def validate(self) -> None:
        if self.channels < 1:
            raise ValueError(f"FilmCnnConfig: channels = {self.channels} must be >= 1")
        if self.num_points < 3:
            raise ValueError(f"FilmCnnConfig: num_points = {self.num_points} must be >= 3")
        if self.width < 1:
            raise ValueError(f"FilmCnnConfig: width = {self.width} must be >= 1")
        if self.num_blocks < 0:
            raise ValueError(f"FilmCnnConfig: num_blocks = {self.num_blocks} must be >= 0")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"FilmCnnConfig: kernel_size = {self.kernel_size} must be odd and >= 1")
        if not 1 <= self.num_frequencies <= 30:
            raise ValueError(f"FilmCnnConfig: num_frequencies = {self.num_frequencies} must be in [1, 30]")
        if self.cond_dim < 0:
            raise ValueError(f"FilmCnnConfig: cond_dim = {self.cond_dim} must be >= 0")
        if self.film_hidden < 1:
            raise ValueError(f"FilmCnnConfig: film_hidden = {self.film_hidden} must be >= 1")
        if self.film_layers < 1:
            raise ValueError(f"FilmCnnConfig: film_layers = {self.film_layers} must be >= 1")

    @classmethod
    def from_dict(cls, d: Dict) -> "FilmCnnConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"FilmCnnConfig: unknown field(s) {sorted(unknown)}; known: {sorted(names)}")
        return cls(**{k: int(v) for k, v in d.items()})

    def to_dict(self) -> Dict[str, int]:
        return dataclasses.asdict(self)


def time_embedding(t: torch.Tensor, num_frequencies: int, dtype: torch.dtype) -> torch.Tensor:
    """[sin(w_k t)]_k ++ [cos(w_k t)]_k with w_k = 2 pi 2^k, evaluated in float64, returned in ``dtype``."""
    k = torch.arange(num_frequencies, dtype=torch.float64, device=t.device)
    omega = 2.0 * math.pi * torch.pow(2.0, k)
    arg = t.to(torch.float64).reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1).to(dtype)


class FilmMlp(nn.Module):
    """FiLM generator: ``film_layers`` linear layers with SiLU between them (none after the last)."""

    def __init__(self, z_dim: int, hidden: int, num_layers: int, out_dim: int):
        super().__init__()
        dims = [z_dim] + [hidden] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(num_layers))
        # Spec §4: the last layer starts near zero, so every block starts as a
        # plain residual block (gamma ~ 0, beta ~ 0).
        nn.init.normal_(self.layers[-1].weight, mean=0.0, std=1e-3)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            z = layer(z)
            if i + 1 < len(self.layers):
                z = F.silu(z)
        return z


class ResidualBlock(nn.Module):
    """h + silu(FiLM(conv2(silu(FiLM(conv1(h)))))), one (gamma, beta) shared by both FiLMs."""

    def __init__(self, config: FilmCnnConfig):
        super().__init__()
        w, k = config.width, config.kernel_size
        self.conv1 = nn.Conv1d(w, w, k, padding=k // 2, padding_mode="replicate")
        self.conv2 = nn.Conv1d(w, w, k, padding=k // 2, padding_mode="replicate")
        self.film = FilmMlp(config.z_dim, config.film_hidden, config.film_layers, 2 * w)
        self.width = w

    def forward(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gb = self.film(z)
        gamma = gb[:, : self.width].unsqueeze(-1)
        beta = gb[:, self.width :].unsqueeze(-1)
        u = F.silu(self.conv1(h) * (1.0 + gamma) + beta)
        u = F.silu(self.conv2(u) * (1.0 + gamma) + beta)
        return h + u


class FilmCnn(nn.Module):
    """The conditional 1-D conv ResNet with FiLM (reference: 1 116 626 parameters)."""

    def __init__(self, config: FilmCnnConfig = FilmCnnConfig()):
        super().__init__()
        config.validate()
        self.config = dataclasses.replace(config)
        c, w, z = config.channels, config.width, config.z_dim
        self.lift = nn.Conv1d(c, w, 1)
        self.blocks = nn.ModuleList(ResidualBlock(config) for _ in range(config.num_blocks))
        self.proj = nn.Conv1d(w, c, 1)
        self.out_affine = nn.Linear(z, 2 * c)
        nn.init.zeros_(self.out_affine.weight)
        nn.init.zeros_(self.out_affine.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """F(x, t, cond) on normalised x (B, C, N), network time t (B,), normalised cond (B, cond_dim)."""
        cfg = self.config
        dtype = self.lift.weight.dtype
        emb = time_embedding(t, cfg.num_frequencies, dtype)
        z = torch.cat([cond.to(dtype), emb], dim=1)
        h = self.lift(x)
        for block in self.blocks:
            h = block(h, z)
        out = self.proj(h)
        go = self.out_affine(z)
        gain = go[:, : cfg.channels].unsqueeze(-1)
        offset = go[:, cfg.channels :].unsqueeze(-1)
        return out * (1.0 + gain) + offset


def parameter_shapes(config: FilmCnnConfig) -> List[Tuple[str, Tuple[int, ...]]]:
    """Names and shapes in canonical order, as psgm::model::parameter_shapes (src/model/film_cnn_config.cpp)."""
    config.validate()
    C, W, K, Z, H = config.channels, config.width, config.kernel_size, config.z_dim, config.film_hidden
    p: List[Tuple[str, Tuple[int, ...]]] = [("lift.weight", (W, C, 1)), ("lift.bias", (W,))]
    for b in range(config.num_blocks):
        pre = f"blocks.{b}."
        p += [(pre + "conv1.weight", (W, W, K)), (pre + "conv1.bias", (W,)),
              (pre + "conv2.weight", (W, W, K)), (pre + "conv2.bias", (W,))]
        for l in range(config.film_layers):
            fan_in = Z if l == 0 else H
            fan_out = 2 * W if l == config.film_layers - 1 else H
            p += [(pre + f"film.layers.{l}.weight", (fan_out, fan_in)), (pre + f"film.layers.{l}.bias", (fan_out,))]
    p += [("proj.weight", (C, W, 1)), ("proj.bias", (C,)), ("out_affine.weight", (2 * C, Z)), ("out_affine.bias", (2 * C,))]
    return p


def parameter_count(config: FilmCnnConfig) -> int:
    return sum(math.prod(s) for _, s in parameter_shapes(config))


def dsm_loss(net: FilmCnn, x_in: torch.Tensor, t_in: torch.Tensor, cond: torch.Tensor,
             a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The denoising-score-matching loss in psgm's unified form (docs/training.md):
    ``mean((a_i F(x_in, t_in, cond) - y)^2)`` over batch, channels and points.

    VP (spec §3): x_in = m(t) x0 + s(t) z, t_in = t, a = s(t), y = -z; this equals
    ``mean(v (s_theta + (x_t - m x0) / v)^2)``. EDM: x_in = c_in (x0 + sigma z),
    t_in = c_noise(sigma), a = 1, y = ((1 - c_skip) x0 - c_skip sigma z) / c_out.
    """
    out = net(x_in, t_in, cond)
    return torch.mean((a.reshape(-1, 1, 1) * out - y) ** 2)


if __name__ == "__main__":
    cfg = FilmCnnConfig()
    net = FilmCnn(cfg)
    n = sum(p.numel() for p in net.parameters())
    print(f"reference FilmCnn: {n} parameters (parameter_shapes: {parameter_count(cfg)})")
