"""Training-step time of the Python definition (python/psgm/network.py) with
PyTorch, the baseline of perf/bench_train_torch.cpp (docs/performance.md,
"LibTorch training"). One step: dsm_loss, backward, clip_grad_norm_(1.0),
torch.optim.Adam (lr 2e-4) on the reference network (N = 100), a VP batch.

    OMP_NUM_THREADS=2 PYTHONPATH=python /usr/bin/python3 perf/bench_train_torch.py --batch 128 --steps 5

Prints one line per batch size in the format of bench_train_torch.cpp.
"""

import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from psgm.network import FilmCnn, FilmCnnConfig, dsm_loss  # noqa: E402


def make_batch(cfg, B, gen):
    t = 1e-4 + (1 - 1e-4) * torch.rand(B, generator=gen, dtype=torch.float64) ** 2
    alpha = 1e-3 * t + 0.5 * (20 - 1e-3) * t ** 2
    m, s = torch.exp(-alpha / 2), torch.sqrt(-torch.expm1(-alpha))
    x0 = torch.randn(B, cfg.channels, cfg.num_points, generator=gen, dtype=torch.float64)
    z = torch.randn(B, cfg.channels, cfg.num_points, generator=gen, dtype=torch.float64)
    x = (m[:, None, None] * x0 + s[:, None, None] * z).float()
    cond = torch.rand(B, 3, generator=gen).float()
    return x, t.float(), cond, s.float(), (-z).float()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, action="append")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", "0")) or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = FilmCnnConfig()
    net = FilmCnn(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    gen = torch.Generator().manual_seed(1)
    for B in args.batch or [128, 1024]:
        batch = make_batch(cfg, B, gen)
        ms, cpu = [], 0.0
        for k in range(args.warmup + args.steps):
            c0, t0 = time.process_time(), time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = dsm_loss(net, *batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            t1 = time.perf_counter()
            if k >= args.warmup:
                ms.append(1000 * (t1 - t0))
                cpu += time.process_time() - c0
        ms.sort()
        med = ms[len(ms) // 2]
        print(f"python B={B} steps={args.steps} threads={torch.get_num_threads()} min_ms={ms[0]:.1f} "
              f"median_ms={med:.1f} samples_per_s={B / (med / 1000):.1f} cpu_ms={1000 * cpu / args.steps:.1f}",
              flush=True)


if __name__ == "__main__":
    main()
