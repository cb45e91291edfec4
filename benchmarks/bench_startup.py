"""CLI start-up cost: CPU seconds of whole ``rtmm`` processes.

    python benchmarks/bench_startup.py [--repeat 5]

Targets (issue 14): ``rtmm --help`` <= 0.3 s of CPU; costing one zoo model through the CLI
(``rtmm cost --model ES_RITNet --accelerator xrbench-4k-J/0``, 42 layers) no slower than
MAESTRO's whole process (~0.2 s). Each command runs ``--repeat`` times in a fresh interpreter
(``python -m dse.cli``, what the ``rtmm`` script runs, with this checkout first on the path);
the CPU time (user + system) of each child is read from ``resource.getrusage`` and the median is
printed, beside the same figure for a bare interpreter and for importing pandas alone, so the
floor set by Python and by the dependencies is visible.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS = {
    "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
    "python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
    "rtmm --help": [sys.executable, "-m", "dse.cli", "--help"],
    "rtmm models list": [sys.executable, "-m", "dse.cli", "models", "list"],
    "rtmm cost --model ES_RITNet --accelerator xrbench-4k-J/0": [
        sys.executable,
        "-m",
        "dse.cli",
        "cost",
        "--model",
        "ES_RITNet",
        "--accelerator",
        "xrbench-4k-J/0",
    ],  # fmt: skip
}


def child_cpu_s(argv: list[str]) -> float:
    """CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for label, argv in COMMANDS.items():
        child_cpu_s(argv)  # warm the file cache
        times = [child_cpu_s(argv) for _ in range(args.repeat)]
        print(f"{label:60s} median {statistics.median(times):.3f} s CPU"
              f"  (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})")  # fmt: skip


if __name__ == "__main__":
    main()
