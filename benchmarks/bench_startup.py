"""CLI start-up cost: CPU seconds of whole ``rtmm`` processes.

    python benchmarks/bench_startup.py [--repeat 5] [--bytecode]

Targets (issue 14): ``rtmm --help`` <= 0.3 s of CPU; costing one zoo model through the CLI
(``rtmm cost --model ES_RITNet --accelerator xrbench-4k-J/0``, 42 layers) no slower than
MAESTRO's whole process (~0.2 s). Each command runs ``--repeat`` times in a fresh interpreter
(``python -m dse.cli``, what the ``rtmm`` script runs, with this checkout first on the path);
the CPU time (user + system) of each child is read from ``resource.getrusage`` and the median is
printed, beside the same figure for a bare interpreter and for importing numpy (the floor of the
cost path), numpy + PyYAML (every dependency the cost path loads) and pandas alone, so the floor
set by Python and by the dependencies is visible. The ``warm cache`` row runs with
``RTMM_COST_CACHE`` set to a fresh folder, filled by the warm-up run, so it measures a second
run that reads the cost table from disk instead of costing.

Children inherit the environment; where ``PYTHONDONTWRITEBYTECODE`` is set (as on the project's
shared machine) every run compiles the project's modules from source. ``--bytecode`` lets the
children cache bytecode under a temporary ``PYTHONPYCACHEPREFIX`` (what an installed package
has), so both figures can be reported.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

RTMM = [sys.executable, "-m", "dse.cli"]
COST = [*RTMM, "cost", "--model", "ES_RITNet", "--accelerator", "xrbench-4k-J/0"]
#: 226 layers x 4 accelerators under the slower analysis: where the disk cache can show.
BIG = [*RTMM, "cost", "--model", "HT_hand_graph_cnn_half", "--system", "xrbench-4k-M",
       "--analysis", "native"]  # fmt: skip
#: label -> (argv, run with a disk cost cache).
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "python -c pass (interpreter floor)": ([sys.executable, "-c", "pass"], False),
    "python -c 'import numpy' (cost path's floor)": ([sys.executable, "-c", "import numpy"], False),
    "python -c 'import numpy, yaml' (all its dependencies)": (
        [sys.executable, "-c", "import numpy, yaml"],
        False,
    ),
    "python -c 'import pandas'": ([sys.executable, "-c", "import pandas"], False),
    "rtmm --help": ([*RTMM, "--help"], False),
    "rtmm models list": ([*RTMM, "models", "list"], False),
    "rtmm cost --model ES_RITNet --accelerator xrbench-4k-J/0": (COST, False),
    "  same, second run with RTMM_COST_CACHE (warm disk cache)": (COST, True),
    "  same, --out CSV": ([*COST, "--out", "{tmp}/es.csv"], False),
    "rtmm cost --model HT_hand_graph_cnn_half --system xrbench-4k-M --analysis native": (
        BIG,
        False,
    ),
    "  same, second run with RTMM_COST_CACHE (warm disk cache), 904 rows": (BIG, True),
}


def child_cpu_s(argv: list[str], env: dict[str, str]) -> float:
    """CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--bytecode", action="store_true", help="let the children cache bytecode (temporary)"
    )
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        base = {**os.environ, "PYTHONPATH": str(REPO)}
        base.pop("RTMM_COST_CACHE", None)
        if args.bytecode:
            base.pop("PYTHONDONTWRITEBYTECODE", None)
            base["PYTHONPYCACHEPREFIX"] = f"{tmp}/pycache"
        print(f"bytecode cached: {'PYTHONDONTWRITEBYTECODE' not in base}")
        for label, (argv, warm_cache) in COMMANDS.items():
            env = {**base, "RTMM_COST_CACHE": f"{tmp}/costs"} if warm_cache else base
            argv = [a.replace("{tmp}", tmp) for a in argv]
            _measure(label, argv, env, args.repeat)


def _measure(label: str, argv: list[str], env: dict[str, str], repeat: int) -> None:
    """Print the median, min and max CPU seconds of ``repeat`` runs after one warm-up run."""
    child_cpu_s(argv, env)  # warm the file cache (and fill the cost cache, the bytecode cache)
    times = [child_cpu_s(argv, env) for _ in range(repeat)]
    print(f"{label:84s} median {statistics.median(times):.3f} s CPU"
          f"  (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})")  # fmt: skip


if __name__ == "__main__":
    main()
