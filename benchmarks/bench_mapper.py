"""Benchmark of the mapper (issue 16 targets); prints figures for benchmarks/RESULTS.md.

Sections (``--only NAME`` runs one):

- ``exhaustive``: small layers on a 16-PE accelerator, the heuristic (exhaustive phase off)
  against full enumeration of the same space, per objective;
- ``budget``: the zoo's distinct layers and ResNet-50 on xrbench-4k-A/0, a budget (default: the
  search's) against the same search with 10x the budget (EDP per layer);
- ``quality``: the zoo's distinct layers on every single-accelerator XRBench system, mapper EDP
  against the best of the WS/OS/RS presets (same ``native`` analysis); also timed (cold cache);
- ``eyeriss``: AlexNet (batch 4, the JSSC 2017 shapes) on the silicon validation's Eyeriss v1,
  mapper latency (unseeded, and seeded with the chip's mapping) against the chip's published
  row-stationary mapping per layer, same analysis and capacity check;
- ``orientation``: the issue's GEMM in both orientations;
- ``speed``: the whole zoo on xrbench-4k-A/0, cold, wall and CPU time;
- ``single``: one layer mapped alone, cold.

``--budget N --variant NAME[,NAME...]`` choose the budget section's budget (expansions per
layer; 10x is the same variant at 10N) and search variants (:data:`VARIANTS`); every run is also
compared with the best known (per layer, the best any run of the invocation found).

Run: ``python benchmarks/bench_mapper.py [--only SECTION]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from costmodel import silicon
from costmodel.batch import LayerBatch
from costmodel.mapper import OBJECTIVES, Space, analyse_mapping, cache, search_mappings
from costmodel.mapper.capacity import footprint_words
from costmodel.mapper.evaluate import bounds, feasible
from costmodel.mapper.search import DEFAULT_BUDGET
from costmodel.mapper.space import FULL
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import PRESETS
from hardware_db.library import get_accelerator
from workloads import zoo
from workloads.layer import Layer

SILICON = Path(__file__).resolve().parents[1] / "tests" / "data" / "silicon"
SINGLE = ["xrbench-4k-A", "xrbench-4k-B", "xrbench-4k-C",
          "xrbench-8k-A", "xrbench-8k-B", "xrbench-8k-C"]  # fmt: skip


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (no tabulate dependency)."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]  # fmt: skip
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def zoo_distinct() -> LayerBatch:
    """The zoo's distinct layers (by content key), in first-appearance order."""
    layers = [layer for name in zoo.names() for layer in zoo.load(name).layers]
    batch = LayerBatch.from_layers(layers)
    _, first = np.unique(batch.key_matrix(), axis=0, return_index=True)
    return batch.take(np.sort(first))


def resnet50() -> LayerBatch:
    """ResNet-50's convolutions and classifier (224x224 input, torchvision shapes)."""
    out = [Layer("conv1", "CONV", 1, 64, 3, 224, 224, 7, 7, stride=(2, 2), padding=(3, 3))]
    size, cin = 56, 64
    for stage, (width, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
        for block in range(blocks):
            stride = 2 if (block == 0 and stage > 0) else 1
            name = f"s{stage + 1}b{block}"
            out.append(Layer(f"{name}a", "CONV", 1, width, cin, size, size, 1, 1))
            out.append(Layer(f"{name}b", "CONV", 1, width, width, size, size, 3, 3,
                             stride=(stride, stride), padding=(1, 1)))  # fmt: skip
            small = size // stride
            out.append(Layer(f"{name}c", "CONV", 1, 4 * width, width, small, small, 1, 1))
            if block == 0:
                out.append(Layer(f"{name}d", "CONV", 1, 4 * width, cin, size, size, 1, 1,
                                 stride=(stride, stride), padding=(0, 0)))  # fmt: skip
            cin, size = 4 * width, small
    out.append(Layer("fc", "CONV", 1, 1000, 2048, 1, 1, 1, 1))
    batch = LayerBatch.from_layers(out)
    _, first = np.unique(batch.key_matrix(), axis=0, return_index=True)
    return batch.take(np.sort(first))


def preset_objective(batch: LayerBatch, acc: Accelerator, objective: str) -> np.ndarray:
    """(3, n) objective of each preset per layer."""
    return np.stack(
        [OBJECTIVES[objective](analyse_mapping(batch, acc, p)) for p in PRESETS.values()]
    )


def section_exhaustive() -> None:
    acc = dataclasses.replace(get_accelerator("xrbench-4k-A/0"), name="pe16", num_pes=16,
                              array_shape=(4, 4))  # fmt: skip
    space = Space(
        structures=((4,), (2, 2)),
        sizes=(1, 4, FULL),
        orders=("ws", "os"),
        spatial0=("K", "C", "Y'"),
        spatial1=("K", "C", "YR"),
        inner=("tile",),
    )
    shapes = [(4, 4, 4, 4, 1), (8, 4, 6, 6, 3), (4, 8, 5, 3, 2), (16, 2, 4, 4, 1), (2, 16, 7, 7, 3),
              (8, 8, 3, 3, 3)]  # fmt: skip
    layers = [
        Layer(f"s{i}", "CONV", 1, k, c, y, x, r, r) for i, (k, c, y, x, r) in enumerate(shapes)
    ]
    print("\n## exhaustive: heuristic vs enumeration (16 PEs, sizes 1, 4, whole; 2 orders)")
    for objective in OBJECTIVES:
        cache.clear()  # cold: the memo of exact costs would otherwise serve the heuristic
        t0 = time.perf_counter()
        full = search_mappings(layers, acc, objective, space=space, exhaustive_limit=10**9,
                               use_cache=False)  # fmt: skip
        cache.clear()
        t1 = time.perf_counter()
        heur = search_mappings(layers, acc, objective, space=space, exhaustive_limit=0,
                               use_cache=False)  # fmt: skip
        t2 = time.perf_counter()
        a = OBJECTIVES[objective](full.results)
        b = OBJECTIVES[objective](heur.results)
        gap = b / a - 1
        points = [space.count(tuple(int(v) for v in row))
                  for row in bounds(LayerBatch.from_layers(layers))]  # fmt: skip
        print(f"{objective}: space {min(points)}-{max(points)} points/layer; heuristic == optimum "
              f"on {int(np.sum(gap <= 1e-12))}/{len(layers)}; gaps {np.round(gap * 100, 2)} %; "
              f"enumeration {t1 - t0:.1f} s ({full.calls} calls), heuristic {t2 - t1:.1f} s "
              f"({heur.calls} calls)")  # fmt: skip


#: Search variants of the budget comparison: Space fields and run_search keywords on top of the
#: defaults. "default" is the search as shipped.
VARIANTS: dict[str, tuple[dict, dict]] = {
    "default": ({}, {}),
    "all-seeds": ({"seed_spatial0": None}, {}),  # every level-0 spatial dim seeded
    "no-patience": ({}, {"patience": None}),  # each layer spends its whole budget
    "patience-0.6": ({}, {"patience": 0.6}),  # a layer stops after 0.6 x budget without gain
    "share-stopped": ({}, {"share_stopped": True}),  # stopped layers are still offered shares
    "share-tiles-1": ({}, {"share_tiles": 1}),  # offered at the callers' most common tiling only
    "no-share": ({}, {"share": False}),  # a call costs only the layers expanding its structure
    "planes": ({}, {"neighbourhood": "planes"}),  # expansions cost every pair of parameters
}


def _gaps(found: np.ndarray, ref: np.ndarray) -> np.ndarray:
    live = ref > 0
    return np.where(live, found / np.where(live, ref, 1) - 1, 0.0)


def _summary(found: np.ndarray, ref: np.ndarray) -> str:
    gap = _gaps(found, ref)
    return (f"within 2 % on {np.mean(gap <= 0.02):.1%}; median gap {np.median(gap):.2%}, "
            f"90th percentile {np.quantile(gap, 0.9):.2%}, worst {gap.max():.2%}; total EDP gap "
            f"{found.sum() / ref.sum() - 1:.2%}")  # fmt: skip


def section_budget(budget: int = DEFAULT_BUDGET, variants: str = "default") -> None:
    """Per layer, each variant's search at ``budget`` against the SAME search at 10x it (the
    issue's target), and every run against the best known: per layer, the best EDP any run of
    this invocation found (all variants, both budgets)."""
    acc = get_accelerator("xrbench-4k-A/0")
    print(f"\n## budget: {budget} vs {10 * budget} expansions per layer (EDP per layer, "
          f"xrbench-4k-A/0), variants {variants}")  # fmt: skip
    for label, batch in (("zoo distinct", zoo_distinct()), ("ResNet-50 distinct", resnet50())):
        n = len(batch)
        edp: dict[tuple[str, int], np.ndarray] = {}
        for variant in variants.split(","):
            fields, keywords = VARIANTS[variant]
            space = dataclasses.replace(Space.for_accelerator(acc), **fields)
            runs = {}
            for b in (budget, 10 * budget):
                cache.clear()
                t, c = time.perf_counter(), time.process_time()
                found = search_mappings(batch, acc, "edp", budget=b, space=space,
                                        use_cache=False, search_options=keywords)  # fmt: skip
                runs[b] = (found, time.perf_counter() - t, time.process_time() - c)
                edp[variant, b] = found.frame.edp.to_numpy()
            one, ten = runs[budget], runs[10 * budget]
            ref = edp[variant, 10 * budget]
            better = np.mean(_gaps(edp[variant, budget], ref) < -1e-12)
            print(f"{label} ({n} layers), {variant}: vs 10x: "
                  f"{_summary(edp[variant, budget], ref)}; 10x worse on {better:.1%}; "
                  f"1x {one[1] / n * 1e3:.0f} ms wall / {one[2] / n * 1e3:.0f} ms CPU per layer "
                  f"({one[0].calls} calls, {one[0].evaluations} rows), 10x {ten[1]:.1f} s wall / "
                  f"{ten[2]:.1f} s CPU ({ten[0].calls} calls); "
                  f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        best = np.min(list(edp.values()), axis=0)
        for (variant, b), values in edp.items():
            print(f"{label}, {variant} at {b}: vs best known: {_summary(values, best)}")


def section_single() -> None:
    """One layer mapped alone (cold): wall time and calls, for five zoo layers."""
    acc = get_accelerator("xrbench-4k-A/0")
    batch = zoo_distinct()
    print("\n## single layer mapped alone (xrbench-4k-A/0, cold)")
    for i in (0, 50, 100, 200, 300):
        cache.clear()
        t, c = time.perf_counter(), time.process_time()
        found = search_mappings(batch.take(np.array([i])), acc, "edp", use_cache=False)
        print(f"{batch.names[i]} {bounds(batch.take(np.array([i])))[0].tolist()}: "
              f"{time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s CPU, "
              f"{found.calls} calls, {found.evaluations} rows, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


def section_quality() -> None:
    batch = zoo_distinct()
    print(f"\n## quality: mapper vs best preset (EDP), zoo distinct layers = {len(batch)}")
    rows = []
    for system in SINGLE:
        acc = get_accelerator(f"{system}/0")
        cache.clear()
        t = time.perf_counter()
        found = search_mappings(batch, acc, "edp")
        seconds = time.perf_counter() - t
        edp = found.frame.edp.to_numpy()
        best = preset_objective(batch, acc, "edp").min(axis=0)
        ratio = np.where(best > 0, edp / np.where(best > 0, best, 1), 1.0)
        rows.append({
            "system": system, "layers": len(batch),
            "share <= best preset": f"{np.mean(edp <= best * (1 + 1e-9)):.1%}",
            "geomean EDP ratio": f"{np.exp(np.mean(np.log(np.maximum(ratio, 1e-300)))):.3f}",
            "worst ratio": f"{ratio.max():.3f}", "total EDP ratio": f"{edp.sum() / best.sum():.3f}",
            "feasible": f"{found.frame.feasible.mean():.0%}",
            "search s": f"{seconds:.1f}", "ms/layer": f"{seconds / len(batch) * 1e3:.0f}",
            "calls": found.calls,
        })  # fmt: skip
    print(pd.DataFrame(rows).pipe(markdown))


def section_eyeriss() -> None:
    """Per AlexNet layer, on the accelerator the silicon validation uses (``eyeriss-v1`` with the
    layer's run-length coded feature-map sizes, :func:`costmodel.silicon.accelerators`): the
    chip's published row-stationary mapping (JSSC 2017 Table III through
    :func:`hardware_db.row_stationary.row_stationary`, the mapping that reproduces the measured
    latency) against the mapper, unseeded (default and 10x budget) and seeded with it
    (``candidates``), all under the same analysis and capacity check (per-tensor scratchpads,
    ``l1_tensor_bytes``; L2 with its ``l2_weight_bytes`` part)."""
    table = silicon.read_measurements(SILICON / "eyeriss_jssc2017_alexnet.csv")
    accs = silicon.accelerators(table)
    print("\n## Eyeriss v1 AlexNet (latency cycles, native, batch 4, silicon accelerators)")
    print(f"structures searched: {Space.for_accelerator(accs[0]).structures}")
    rows = []
    for (_, row), acc in zip(table.iterrows(), accs, strict=True):
        one = LayerBatch.from_layers([silicon.layer_of(row)])
        rs = acc.dataflow
        pub = analyse_mapping(one, acc, rs)
        words = footprint_words(one, acc, rs)
        wb = acc.word_bytes
        held = {k: int(v[0]) * wb for k, v in words.items()}
        cache.clear()
        t = time.perf_counter()
        plain = search_mappings(one, acc, "latency", use_cache=False)
        seconds = time.perf_counter() - t
        seeded = search_mappings(one, acc, "latency", use_cache=False, candidates=[[rs]])
        longer = search_mappings(one, acc, "latency", use_cache=False, budget=10 * DEFAULT_BUDGET)
        published = int(pub["latency_cycles"][0])
        rows.append({
            "layer": row.layer, "published RS": published,
            "RS fits": bool(feasible(one, acc, rs, pub)[0]),
            "RS PE W/I/O B": f"{held['pe_W']}/{held['pe_I']}/{held['pe_O']}",
            "RS L2 W / I+O B": f"{held['chip_W']} / {held['chip_I'] + held['chip_O']}",
            "mapper": int(plain.frame.latency_cycles[0]),
            "mapper / RS": f"{plain.frame.latency_cycles[0] / published:.3f}",
            "mapper 10x budget / RS": f"{longer.frame.latency_cycles[0] / published:.3f}",
            "seeded": int(seeded.frame.latency_cycles[0]),
            "seeded returns RS": seeded.dataflows[0] == rs,
            "search s": f"{seconds:.1f}",
        })  # fmt: skip
    print(f"capacities: {accs[0].l1_bytes_per_pe} B per PE, {accs[0].l2_bytes} B chip "
          f"({accs[0].l2_weight_bytes} B weights)")  # fmt: skip
    print(pd.DataFrame(rows).pipe(markdown))


def section_orientation() -> None:
    acc = get_accelerator("xrbench-4k-A/0")
    rows = Layer("rows", "CONV", 1, 256, 256, 128, 1, 1, 1)
    cols = Layer("cols", "CONV", 1, 256, 256, 1, 128, 1, 1)
    print("\n## orientation (GEMM 256x256x128 on xrbench-4k-A/0)")
    for objective in OBJECTIVES:
        found = search_mappings([rows, cols], acc, objective, use_cache=False)
        f = found.frame
        print(f"{objective}: rows {f.latency_cycles[0]} cycles / {f.energy_nj[0]:.1f} nJ, "
              f"cols {f.latency_cycles[1]} cycles / {f.energy_nj[1]:.1f} nJ")  # fmt: skip
    ws = [analyse_mapping(LayerBatch.from_layers([x]), acc, PRESETS["WS"])["latency_cycles"][0]
          for x in (rows, cols)]  # fmt: skip
    print(f"WS preset: rows {ws[0]}, cols {ws[1]} cycles")


def section_speed() -> None:
    """The whole zoo (every layer row) on one accelerator, cold caches: wall and CPU time."""
    layers = [layer for name in zoo.names() for layer in zoo.load(name).layers]
    acc = get_accelerator("xrbench-4k-A/0")
    print("\n## speed: whole zoo on xrbench-4k-A/0, cold")
    for _ in range(2):
        cache.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        found = search_mappings(layers, acc, "edp")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        n = found.searched_layers
        print(f"{len(layers)} layer rows, {n} distinct searched: wall {wall:.1f} s "
              f"({wall / n * 1e3:.0f} ms/distinct layer), CPU {cpu:.1f} s "
              f"({cpu / n * 1e3:.0f} ms/distinct layer), {found.calls} analysis calls, "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


SECTIONS = {
    "orientation": section_orientation,
    "exhaustive": section_exhaustive,
    "quality": section_quality,
    "eyeriss": section_eyeriss,
    "budget": section_budget,
    "speed": section_speed,
    "single": section_single,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(SECTIONS))
    parser.add_argument("--budget", type=int, default=DEFAULT_BUDGET, help="budget section")
    parser.add_argument("--variant", default="default",
                        help=f"budget section: comma-separated search variants of "
                             f"{', '.join(VARIANTS)}")  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name, run in SECTIONS.items():
        if args.only in (None, name):
            if name == "budget":
                section_budget(args.budget, args.variant)
            else:
                run()


if __name__ == "__main__":
    main()
