"""``rtmm compare`` wall time on defaults, and the one-at-a-time sweep behind SDRM3's default theta.

    python benchmarks/bench_compare.py            # time the default comparison (target < 120 s)
    python benchmarks/bench_compare.py --sweep    # geomean UXCost of sdrm3_static per theta

The sweep varies one parameter of theta = (alpha, beta, gamma, delta) at a time around the
defaults on the default scenarios, systems and seeds (2000 ms) and prints the geomean UXCost and
mean XRBench score per system. Measured on the 2-core dev machine around the first defaults
(0.5, 1.0, 0.2, 1.0) — geomean UXCost 4K, 8K; mean score 4K, 8K:

    defaults     0.1159  0.009053  0.550  0.808
    alpha=0      0.1177  0.01045   0.551  0.797
    alpha=1      0.1159  0.009474  0.550  0.806
    beta=0.5     0.1133  0.009017  0.552  0.808
    beta=2       0.1116  0.01001   0.596  0.799
    gamma=0      0.1158  0.00921   0.551  0.807
    gamma=1      0.1136  0.007886  0.561  0.812   <- better on both systems: gamma default is 1.0
    delta=1.5    0.1847  0.009053  0.499  0.808
    delta=2      0.1968  0.009053  0.454  0.808
    defer        0.133   0.008154  0.529  0.813   (energy-aware deferral; off by default)

A neighbour replaced a default only if it was better on both systems (gamma); the sweep's own
defaults row now reflects gamma = 1.0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

import numpy as np

from dse.compare import CompareConfig, run_compare

NEIGHBOURS = {
    "defaults": {},
    "alpha=0": {"alpha": 0.0},
    "alpha=1": {"alpha": 1.0},
    "beta=0.5": {"beta": 0.5},
    "beta=2": {"beta": 2.0},
    "gamma=0": {"gamma": 0.0},
    "gamma=0.2": {"gamma": 0.2},
    "delta=1.5": {"delta": 1.5},
    "delta=2": {"delta": 2.0},
    "defer": {"defer": True},
}


def time_default() -> None:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "dse.cli", "compare", "--quiet", "--out", out],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"rtmm compare (defaults): {time.perf_counter() - t0:.1f} s wall")


def sweep() -> None:
    print(f"{'theta':12s} {'ux 4K':>9s} {'ux 8K':>9s} {'score 4K':>9s} {'score 8K':>9s}")
    for label, params in NEIGHBOURS.items():
        cfg = CompareConfig(
            policies=("sdrm3_static",), policy_params=(("sdrm3_static", tuple(params.items())),)
        )
        runs = run_compare(cfg, progress=False).runs
        g = runs.groupby("system")
        ux = g["uxcost"].apply(lambda s: float(np.exp(np.log(s).mean())))
        sc = g["score"].mean()
        systems = list(ux.index)
        cells = [f"{ux[s]:9.4g}" for s in systems] + [f"{sc[s]:9.3f}" for s in systems]
        print(f"{label:12s} " + " ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="run the theta sweep instead")
    args = ap.parse_args()
    sweep() if args.sweep else time_default()


if __name__ == "__main__":
    main()
