"""Benchmark of the maestro cost model (plain script; prints figures).

1. all XRBench zoo layer rows on one 4096-PE accelerator (NoC 256) for each of WS/OS/RS, through
   the vectorised core directly (cold: no cache involved);
2. the cost tables of all 26 XRBench systems (all zoo models), cold (caches cleared) and cached;
3. the same for the ``native`` analysis (zoo layers per preset, all systems cold);
4. ``native`` vs ``maestro`` time per layer on the same layer batch and accelerators (the
   target: native at most 2x maestro). ``--compare-only`` runs just this part.

Run: ``python benchmarks/bench_costmodel.py [--repeat N] [--compare-only]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel import cache
from costmodel.maestro import analyse
from costmodel.table import system_cost_table
from hardware_db.dataflow import PRESETS
from hardware_db.library import get_system, list_systems

SHARED_LAYERS = Path(__file__).resolve().parents[2] / "shared" / "data" / "xrbench_model_layers.csv"


def zoo_dims() -> tuple[np.ndarray, list]:
    """(rows, 7) dims of every zoo layer row, from the package's zoo (else the shared table)."""
    try:
        from workloads import zoo

        models = [zoo.load(name) for name in zoo.names()]
        dims = np.array([layer.dims for m in models for layer in m.layers], dtype=np.int64)
        return dims, models
    except Exception:  # pragma: no cover - fallback when the zoo is unavailable
        frame = pd.read_csv(SHARED_LAYERS)
        return frame[list("NKCYXRS")].to_numpy(np.int64), []


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--compare-only", action="store_true", help="only part 4")
    args = parser.parse_args()
    dims, models = zoo_dims()
    if args.compare_only:
        native_vs_maestro(models, args.repeat)
        return
    print(f"zoo layer rows: {len(dims)} ({len(np.unique(dims, axis=0))} distinct)")

    def all_dataflows() -> None:
        for df in ("WS", "OS", "RS"):
            analyse(dims, PRESETS[df], 4096, 256, 256)

    best, median = timed(all_dataflows, args.repeat)
    print(
        f"core, {len(dims)} rows x 3 dataflows, 4096 PEs: best {best:.4f} s, median {median:.4f} s"
    )
    for df in ("WS", "OS", "RS"):
        b, m = timed(lambda df=df: analyse(dims, PRESETS[df], 4096, 256, 256), args.repeat)
        print(f"  {df}: best {b * 1e3:.1f} ms, median {m * 1e3:.1f} ms")

    if SHARED_LAYERS.is_file():
        shared = pd.read_csv(SHARED_LAYERS)[list("NKCYXRS")].to_numpy(np.int64)

        def shared_all() -> None:
            for df in ("WS", "OS", "RS"):
                analyse(shared, PRESETS[df], 4096, 256, 256)

        best, median = timed(shared_all, args.repeat)
        print(
            f"core, shared XRBench table {len(shared)} rows x 3 dataflows: "
            f"best {best:.4f} s, median {median:.4f} s"
        )

    systems = [get_system(name) for name in list_systems()]
    names = [m.name for m in models] or None
    if names is None:
        print("zoo unavailable: skipping system cost tables")
        return

    def cold() -> None:
        cache.clear()
        for system in systems:
            system_cost_table(models, system)

    def cached() -> None:
        for system in systems:
            system_cost_table(models, system)

    best, median = timed(cold, args.repeat)
    rows = sum(len(system_cost_table(models, s)) for s in systems)
    print(
        f"{len(systems)} systems x {len(models)} models ({rows} cost rows), cold: "
        f"best {best:.3f} s, median {median:.3f} s"
    )
    best, median = timed(cached, args.repeat)
    print(f"same, cached: best {best * 1e3:.1f} ms, median {median * 1e3:.1f} ms")
    print(f"cache: {cache.stats()}")
    native_section(models, systems, args.repeat)
    native_vs_maestro(models, args.repeat)


def native_section(models: list, systems: list, repeat: int) -> None:
    """The native analysis: all zoo layers per XRBench preset, and all systems' tables cold."""
    from costmodel.batch import LayerBatch
    from costmodel.native import analyse_native

    batch = LayerBatch.from_layers([layer for m in models for layer in m.layers])
    for name in ("xrbench-4k-A", "xrbench-4k-B", "xrbench-4k-C"):
        acc = get_system(name).accelerators[0]
        b, m = timed(lambda acc=acc: analyse_native(batch, acc), repeat)
        what = f"native, {len(batch)} zoo layers on {name}"
        print(f"{what}: best {b * 1e3:.1f} ms, median {m * 1e3:.1f} ms")

    def cold() -> None:
        cache.clear()
        for system in systems:
            system_cost_table(models, system, analysis="native")

    best, median = timed(cold, repeat)
    what = f"native, {len(systems)} systems x {len(models)} models, cold"
    print(f"{what}: best {best:.3f} s, median {median:.3f} s")


def native_vs_maestro(models: list, repeat: int) -> None:
    """Time per layer of ``analyse_native`` and ``maestro.analyse_layers`` on every zoo layer
    (all rows, duplicates included, as a cost table sees them), per accelerator."""
    from costmodel.batch import LayerBatch
    from costmodel.maestro import analyse_layers
    from costmodel.native import analyse_native
    from hardware_db.library import get_accelerator

    batch = LayerBatch.from_layers([layer for m in models for layer in m.layers])
    ratios = []
    for name in ("xrbench-4k-A/0", "xrbench-4k-B/0", "xrbench-4k-C/0", "eyeriss-v1"):
        acc = get_accelerator(name)
        _, t_maestro = timed(lambda acc=acc: analyse_layers(batch, acc), repeat)
        _, t_native = timed(lambda acc=acc: analyse_native(batch, acc), repeat)
        ratios.append(t_native / t_maestro)
        print(
            f"{name}, {len(batch)} layers: maestro {t_maestro / len(batch) * 1e6:.1f} us/layer, "
            f"native {t_native / len(batch) * 1e6:.1f} us/layer, ratio {t_native / t_maestro:.2f}"
        )
    print(f"native / maestro time, median over accelerators: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
