"""What the pydantic spec models cost at start-up: CPU seconds of fresh interpreters.

    python benchmarks/bench_spec_models.py [--repeat 9] [--base PATH_TO_OTHER_CHECKOUT]

Each snippet runs ``--repeat`` times in a fresh ``python -c`` with this checkout (or ``--base``)
first on the path; the child's CPU time (user + system) is read from ``resource.getrusage`` and
the median is printed. With ``--base`` (e.g. an export of a commit before the models), the
hardware rows are repeated for that checkout, so the difference is what the models add.
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

FLOOR = "import hardware_db.dataflow, hardware_db.energy, hardware_db.directives, rtmm.names"
SNIPPETS = {
    "floor: the schema's own imports without pydantic": FLOOR,
    "import pydantic": "from pydantic import BaseModel, Field, TypeAdapter",
    "import hardware_db.schema": "import hardware_db.schema",
    "library.get_accelerator('xrbench-4k-J/0')": "from hardware_db import library; "
    "library.get_accelerator('xrbench-4k-J/0')",
}  # fmt: skip
COMPARED = ("import hardware_db.schema", "library.get_accelerator('xrbench-4k-J/0')")


def child_cpu_s(code: str, repo: Path) -> float:
    """CPU seconds (user + system) of one ``python -c code`` with ``repo`` on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=repo)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--base", type=Path, default=None, help="another checkout to compare")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    runs = [(label, code, REPO, "") for label, code in SNIPPETS.items()]
    if args.base is not None:
        runs += [(label, SNIPPETS[label], args.base, " (base)") for label in COMPARED]
    for label, code, repo, tag in runs:
        child_cpu_s(code, repo)  # warm the file cache
        times = [child_cpu_s(code, repo) for _ in range(args.repeat)]
        print(
            f"{label + tag:60s} median {statistics.median(times):.3f} s CPU  "
            f"(min {min(times):.3f}, max {max(times):.3f}, n={len(times)})"
        )


if __name__ == "__main__":
    main()
