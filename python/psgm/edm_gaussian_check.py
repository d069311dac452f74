"""What EDM's Heun sampler does to a Gaussian: the spread it gives N(0, sigma_data^2).

A whitened residual model's latent coordinates are N(0, 1) where its network
adds nothing (docs/training.md), and the probability-flow ODE of that
Gaussian is linear, dx/dsigma = x sigma / (sigma^2 + sigma_data^2), with the
exact solution x(0) = x(sigma_max) sigma_data / sqrt(sigma_max^2 + sigma_data^2).
This integrates it the way psgm's `edm_heun` does (N levels on the Karras
grid, Heun steps, the last step Euler to sigma = 0; sde/samplers/EdmHeun.hpp)
and prints the factor by which the sampler's output spread differs from the
exact one, i.e. the discretisation error every sample of the model carries
in its spread (docs/results.md §2e):

    python3 -m psgm.edm_gaussian_check --levels 18 25 50
"""
import argparse
import math


def karras_grid(levels, sigma_min=0.002, sigma_max=80.0, rho=7.0):
    a, b = sigma_max ** (1 / rho), sigma_min ** (1 / rho)
    return [(a + i / (levels - 1) * (b - a)) ** rho for i in range(levels)] + [0.0]


def heun_spread(levels, sigma_data=1.0, **grid):
    """sigma of the output over its exact value, for x(sigma_max) of the exact marginal's spread."""
    s = karras_grid(levels, **grid)
    d = lambda x, sig: x * sig / (sig * sig + sigma_data * sigma_data)  # noqa: E731  (x - D) / sigma
    x = math.sqrt(s[0] ** 2 + sigma_data ** 2)
    for a, b in zip(s[:-1], s[1:]):
        k1 = d(x, a)
        if b == 0.0:
            x += (b - a) * k1
            break
        k2 = d(x + (b - a) * k1, b)
        x += (b - a) * 0.5 * (k1 + k2)
    return x / sigma_data


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--levels", type=int, nargs="+", default=[18, 25, 50], help="sigma levels N (NFE = 2N - 1)")
    p.add_argument("--sigma-min", type=float, default=0.002)
    p.add_argument("--sigma-max", type=float, default=80.0)
    p.add_argument("--rho", type=float, default=7.0)
    a = p.parse_args()
    print("| levels | NFE | output spread / exact | log of it |")
    print("|---|---|---|---|")
    for n in a.levels:
        r = heun_spread(n, sigma_min=a.sigma_min, sigma_max=a.sigma_max, rho=a.rho)
        print(f"| {n} | {2 * n - 1} | {r:.5f} | {math.log(r):+.5f} |")


if __name__ == "__main__":
    main()
