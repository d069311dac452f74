"""The Python side of the LibTorch backend's comparisons (tests/torch).

Driven by tests/torch/test_torch_network.cpp, which writes a psgm model file
and raw little-endian arrays, runs this script, and compares its results:

  forward MODEL PREFIX B
      reads PREFIX.x (B, C, N), PREFIX.t (B), PREFIX.cond (B, cond_dim) in the
      model's dtype, evaluates python/psgm/network.py on the model's weights
      (loaded through python/psgm/convert.py) and writes PREFIX.out.
  adam-step MODEL PREFIX B LR CLIP OUT_MODEL
      reads a float64 DSM batch PREFIX.{x,t,cond,a,y}, takes one training step
      as PyTorch code would (dsm_loss, backward, clip_grad_norm_ if CLIP > 0,
      torch.optim.Adam), writes the new weights as OUT_MODEL and the loss and
      gradient norm to PREFIX.loss and the gradient (before clipping, canonical
      order, float64) to PREFIX.grad.
"""

import sys

import numpy as np
import torch

from psgm.convert import load_network, save_network
from psgm.network import dsm_loss


def read(prefix, name, dtype, shape):
    return torch.from_numpy(np.fromfile(f"{prefix}.{name}", dtype=dtype).reshape(shape))


def main(argv):
    torch.manual_seed(0)
    cmd, model_path, prefix, B = argv[0], argv[1], argv[2], int(argv[3])
    net, model = load_network(model_path)
    cfg = model["config"]
    C, N, K = cfg.channels, cfg.num_points, cfg.cond_dim
    if cmd == "forward":
        dt = np.float32 if model["dtype"] == "float32" else np.float64
        x, t, cond = read(prefix, "x", dt, (B, C, N)), read(prefix, "t", dt, (B,)), read(prefix, "cond", dt, (B, K))
        with torch.no_grad():
            out = net(x, t, cond)
        out.numpy().astype(dt).tofile(f"{prefix}.out")
        return 0
    if cmd == "adam-step":
        lr, clip, out_model = float(argv[4]), float(argv[5]), argv[6]
        dt = net.lift.weight.dtype
        x = read(prefix, "x", np.float64, (B, C, N)).to(dt)
        t = read(prefix, "t", np.float64, (B,)).to(dt)
        cond = read(prefix, "cond", np.float64, (B, K)).to(dt)
        a = read(prefix, "a", np.float64, (B,)).to(dt)
        y = read(prefix, "y", np.float64, (B, C, N)).to(dt)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        opt.zero_grad()
        loss = dsm_loss(net, x, t, cond, a, y)
        loss.backward()
        torch.cat([p.grad.reshape(-1) for p in net.parameters()]).to(torch.float64).numpy().tofile(f"{prefix}.grad")
        if clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        else:
            norm = torch.norm(torch.stack([torch.norm(p.grad, 2.0) for p in net.parameters()]), 2.0)
        opt.step()
        np.array([loss.item(), float(norm)], dtype=np.float64).tofile(f"{prefix}.loss")
        save_network(out_model, net, model["normalization"], model["sde"])
        return 0
    print(f"torch_reference.py: unknown command {cmd!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
