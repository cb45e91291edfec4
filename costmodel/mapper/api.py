"""``search_mappings``: the best mapping of every layer of a batch on one accelerator.

Layers are searched in a canonical orientation (:func:`costmodel.mapper.evaluate.transposed`),
identical layers once, and found mappings are cached by content (:mod:`costmodel.mapper.cache`).
Every reported number comes from costing the returned directive list on the layer as given, so a
saved mapping re-costs to exactly what was reported.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from costmodel.batch import LayerBatch
from costmodel.mapper import cache
from costmodel.mapper.evaluate import (
    OBJECTIVES,
    analyse_mapping,
    check_objective,
    clips_maps,
    feasible,
    overflow,
    transpose,
    transposed,
)
from costmodel.mapper.search import (
    DEFAULT_BUDGET,
    EXHAUSTIVE_LIMIT,
    Progress,
    Search,
    run_search,
    written,
)
from costmodel.mapper.space import Space, mirror_dataflow
from costmodel.native import DEFAULT_NATIVE, NativeOptions
from costmodel.table import AnalysisFn, register_mapper
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow, search_objective
from workloads.layer import Layer

#: Columns of :attr:`MappingSearch.frame`, one row per layer.
RESULT_COLUMNS = ("layer", "latency_cycles", "energy_nj", "edp", "utilisation", "bound",
                  "feasible", "exhaustive", "directives")  # fmt: skip


@dataclass(frozen=True)
class MappingSearch:
    """Per layer (input order): the mapping found and its cost; plus search statistics."""

    dataflows: tuple[Dataflow, ...]
    frame: pd.DataFrame
    results: dict[str, np.ndarray] = field(repr=False)
    calls: int = 0
    evaluations: int = 0
    searched_layers: int = 0
    seconds: float = 0.0


def search_mappings(
    layers: Sequence[Layer] | pd.DataFrame | LayerBatch,
    accelerator: Accelerator,
    objective: str = "edp",
    *,
    budget: int = DEFAULT_BUDGET,
    exhaustive_limit: int = EXHAUSTIVE_LIMIT,
    space: Space | None = None,
    options: NativeOptions | None = None,
    progress: Progress | None = None,
    use_cache: bool = True,
    candidates: Sequence[Sequence[Dataflow]] | None = None,
    search_options: Mapping[str, Any] | None = None,
) -> MappingSearch:
    """Search the best mapping of every layer for ``objective`` (``latency``, ``energy``,
    ``edp``) under the ``native`` analysis; see :mod:`costmodel.mapper.search`.

    ``candidates`` (one sequence per input layer, possibly empty): directive lists outside the
    space — e.g. a chip's published mapping of that layer — that compete with the searched
    mapping on the layer as given, under the same analysis and capacity check
    (:func:`pick_best`); the layer keeps whichever ranks first.

    ``search_options``: further keywords of :func:`~costmodel.mapper.search.run_search`
    (``patience``, ``share``, ``neighbourhood``, ``width``, ``per_round``, ``delay``; the
    benchmarks compare search variants)."""
    start = time.perf_counter()
    objective = check_objective(objective)
    options = options or DEFAULT_NATIVE
    batch = LayerBatch.of(layers)
    space = space or Space.for_accelerator(accelerator)
    flip = transposed(batch)
    canon = transpose(batch, flip)
    keys = canon.key_matrix()
    unique, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    extra = dict(search_options or {})
    settings = (cache.hardware_key(accelerator), objective, space.key(), budget,
                exhaustive_limit, options.key(), tuple(sorted(extra.items())))  # fmt: skip
    found: list[tuple[Dataflow, bool] | None] = [
        cache.get((row.tobytes(), settings)) if use_cache else None for row in unique
    ]
    missing = np.array([i for i, f in enumerate(found) if f is None], dtype=np.int64)
    calls = evaluations = 0
    if len(missing):
        sub = canon.take(first[missing])
        searched = space.for_layers(sub)  # + row-stationary structures of these layers
        state = Search(sub, accelerator, objective, options, searched, progress)
        exhaustive = run_search(state, budget=budget, exhaustive_limit=exhaustive_limit,
                                **extra)  # fmt: skip
        calls, evaluations = state.calls, state.evaluations
        points = state.point
        for j, u in enumerate(missing):
            df = written(points[j], state.bound(j), f"search-{objective}")
            found[u] = (df, bool(exhaustive[j]))
            if use_cache:
                cache.put((unique[u].tobytes(), settings), df, bool(exhaustive[j]))
    flows = []
    for i in range(len(batch)):
        df = found[inverse[i]][0]  # type: ignore[index]
        flows.append(mirror_dataflow(df) if flip[i] else df)
    results = cost_mappings(batch, accelerator, flows, options)
    if candidates is not None:
        if len(candidates) != len(batch):
            raise ValueError(f"candidates: {len(candidates)} lists for {len(batch)} layers")
        flows = pick_best(batch, accelerator, objective, flows, candidates, results, options)
        results = cost_mappings(batch, accelerator, flows, options)
    frame = pd.DataFrame({
        "layer": list(batch.names),
        "latency_cycles": results["latency_cycles"].astype(np.int64),
        "energy_nj": results["energy_pj"] / 1e3,
        "edp": OBJECTIVES["edp"](results),
        "utilisation": results["utilisation"],
        "bound": results["bound"],
        "feasible": fits(batch, accelerator, flows, results),
        "exhaustive": [found[inverse[i]][1] for i in range(len(batch))],  # type: ignore[index]
        "directives": [str(df) for df in flows],
    })  # fmt: skip
    return MappingSearch(tuple(flows), frame, results, calls, evaluations, len(missing),
                         time.perf_counter() - start)  # fmt: skip


def pick_best(
    batch: LayerBatch,
    accelerator: Accelerator,
    objective: str,
    flows: Sequence[Dataflow],
    candidates: Sequence[Sequence[Dataflow]],
    results: dict[str, np.ndarray],
    options: NativeOptions | None,
) -> list[Dataflow]:
    """Per layer: ``flows[i]`` (costed in ``results``) or one of ``candidates[i]``, whichever
    ranks first as the search ranks (fits the buffers first, then the objective, then the least
    overflow); ties keep ``flows[i]``."""

    def rank(result: dict[str, np.ndarray], spill: float, j: int) -> tuple[float, float, float]:
        v = float(OBJECTIVES[objective]({k: v[j : j + 1] for k, v in result.items()
                                         if v.ndim == 1})[0])  # fmt: skip
        return (0.0, 0.0, v) if spill == 0 else (1.0, spill, v)

    own = overflow_of(batch, accelerator, flows, results)
    out = list(flows)
    for i, extra in enumerate(candidates):
        if not extra:
            continue
        best = rank(results, float(own[i]), i)
        one = batch.take(np.array([i]))
        for flow in extra:
            r = analyse_mapping(one, accelerator, flow, options)
            key = rank(r, float(overflow(one, accelerator, flow, r)[0]), 0)
            if key < best:
                best, out[i] = key, flow
    return out


def _per_dataflow(
    check: Callable[..., np.ndarray],
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflows: Sequence[Dataflow],
    results: dict[str, np.ndarray],
    dtype: type,
) -> np.ndarray:
    """Per layer: ``check`` of ``dataflows[i]`` on layer i, one call per distinct dataflow."""
    out: np.ndarray = np.zeros(len(batch), dtype)
    groups: dict[Dataflow, list[int]] = {}
    for i, df in enumerate(dataflows):
        groups.setdefault(df, []).append(i)
    for df, rows in groups.items():
        idx = np.asarray(rows, dtype=np.int64)
        part = {k: v[idx] for k, v in results.items() if k == "l1_spill_words"}
        out[idx] = check(batch.take(idx), accelerator, df, part)
    return out


def overflow_of(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflows: Sequence[Dataflow],
    results: dict[str, np.ndarray],
) -> np.ndarray:
    """Per layer: :func:`costmodel.mapper.evaluate.overflow` of ``dataflows[i]`` on layer i."""
    return _per_dataflow(overflow, batch, accelerator, dataflows, results, float)


def fits(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflows: Sequence[Dataflow],
    results: dict[str, np.ndarray],
) -> np.ndarray:
    """Per layer: ``dataflows[i]`` fits the buffers of ``accelerator`` on layer i
    (:func:`costmodel.mapper.evaluate.feasible`, one check per distinct dataflow)."""
    return _per_dataflow(feasible, batch, accelerator, dataflows, results, bool)


def cost_mappings(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflows: Sequence[Dataflow],
    options: Any = None,
    analysis: AnalysisFn | None = None,
) -> dict[str, np.ndarray]:
    """The analysis of layer i under ``dataflows[i]`` (one call per distinct dataflow; under the
    loop-nest ``native`` path, one call per directive structure with per-row offsets, which
    costs every row exactly as its own list: ``tests/test_mapper_rows.py``); the per-layer keys
    only (``cluster_runtimes`` depends on each mapping's depth and is dropped)."""
    per_row = analysis is None and (options is None or isinstance(options, NativeOptions))
    per_row = per_row and clips_maps(options)
    groups: dict[Dataflow, list[int]] = {}
    for i, df in enumerate(dataflows):
        groups.setdefault(skeleton(df) if per_row else df, []).append(i)
    out: dict[str, np.ndarray] = {}
    for df, rows in groups.items():
        idx = np.asarray(rows, dtype=np.int64)
        if per_row:
            offsets = np.asarray([[d.offset for d in dataflows[i].directives] for i in rows])
            part = analyse_mapping(batch.take(idx), accelerator, df, options, offsets)
        elif analysis is None:
            part = analyse_mapping(batch.take(idx), accelerator, df, options)
        else:
            part = analysis(batch.take(idx), dataclasses.replace(accelerator, dataflow=df), options)
        for key, values in part.items():
            if values.ndim != 1:  # per-level arrays (cluster_runtimes) differ in depth
                continue
            if key not in out:
                out[key] = np.empty((len(batch), *values.shape[1:]), dtype=values.dtype)
            if values.dtype.kind == "U" and out[key].dtype.itemsize < values.dtype.itemsize:
                out[key] = out[key].astype(values.dtype)
            out[key][idx] = values
    return out


def skeleton(dataflow: Dataflow) -> Dataflow:
    """``dataflow`` with every map's size and offset set to 1: its directive structure (kinds,
    dims, levels, cluster sizes), the key under which per-row offsets share a call."""
    blank = tuple(d if d.kind == "C" else dataclasses.replace(d, size=1, offset=1)
                  for d in dataflow.directives)  # fmt: skip
    return Dataflow("structure", blank)


def search_and_cost(
    batch: LayerBatch, accelerator: Accelerator, analysis: AnalysisFn, options: Any
) -> dict[str, np.ndarray]:
    """The cost-table hook (:func:`costmodel.table.register_mapper`): each layer searched for the
    objective of the accelerator's ``dataflow: search[:objective]`` (under ``native`` with
    ``options`` when they are :class:`NativeOptions`, else its defaults), then costed by
    ``analysis`` under its mapping."""
    objective = search_objective(accelerator.dataflow) or "edp"
    if len(batch) == 0:
        fallback = Space.for_accelerator(accelerator).seeds()[0].dataflow()
        return analysis(batch, dataclasses.replace(accelerator, dataflow=fallback), options)
    native = options if isinstance(options, NativeOptions) else None
    found = search_mappings(batch, accelerator, objective, options=native)
    return cost_mappings(batch, accelerator, found.dataflows, options, analysis)


register_mapper(search_and_cost)
