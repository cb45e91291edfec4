"""Cost tables: per-layer costs of models on accelerators and systems, as DataFrames.

Every table is first built as *columns* (an ordered dict of column name → numpy array,
:func:`cost_columns`), which is what the caches keep and what ``rtmm cost`` prints and writes; the
DataFrame functions (:func:`layer_costs`, :func:`model_cost_table`, :func:`system_cost_table`)
wrap those columns, importing pandas on first use, so the command line never loads pandas.

The contract with the scheduler (docs/ARCHITECTURE.md): one row per (model, layer_idx,
accelerator), with at least ``model, layer_idx, layer, accelerator, accelerator_name,
latency_cycles (int64), energy_nj (float64)``. Further columns: see :data:`COST_COLUMNS`.

Analyses are looked up by name in the registry of :mod:`costmodel.analyses` (``maestro`` built in,
``native`` imported on first use). An accelerator with ``dataflow: search[:objective]``
(:func:`hardware_db.dataflow.search_dataflow`) has each layer's mapping searched by the mapper
registered there (:mod:`costmodel.mapper`) and costed under its own mapping by the requested
analysis.

``energy_nj`` in a cost table is ``energy_pj / 1000`` under the accelerator's own energy table;
for the XRBench preset this equals XRBench's formula to float rounding.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from costmodel import cache
from costmodel.analyses import AnalysisFn as AnalysisFn  # re-exported: costmodel.mapper.api
from costmodel.analyses import get_analysis, searched
from costmodel.analyses import register_mapper as register_mapper  # costmodel.mapper.api
from costmodel.batch import LayerBatch
from costmodel.layer_dataflows import apply_layer_dataflows
from costmodel.maestro import ACCESS_COUNTS, ENERGY_PARTS
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import search_objective
from hardware_db.library import get_accelerator, get_system
from hardware_db.system import System
from rtmm.errors import RtmmError
from workloads import zoo
from workloads.layer import Layer
from workloads.model import Model

if TYPE_CHECKING:
    import pandas as pd

#: A cost table as columns: column name → 1-D array, in :data:`COST_COLUMNS` order.
CostColumns = dict[str, np.ndarray]

#: Columns of a cost table, in order.
COST_COLUMNS: tuple[str, ...] = (
    "model",
    "layer_idx",
    "layer",
    "accelerator",
    "accelerator_name",
    "dataflow",
    "analysis",
    "latency_cycles",
    "latency_s",
    "energy_nj",
    "energy_pj",
    "macs",
    "computations",
    "pes_used",
    "utilisation",
    "bound",
    *ACCESS_COUNTS,
    *(f"energy_{p}_pj" for p in ENERGY_PARTS),
    "offchip_words",
)
#: Columns an analysis may add (``native``: DRAM traffic, the on-/off-chip bounds, spills); they
#: appear in a cost table when every accelerator's result carries them.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "dram_rd",
    "dram_wr",
    "onchip_cycles",
    "offchip_cycles",
    "l1_spill_words",
    "l2_refetch_words",
)
_RESULT_COLUMNS = (
    "latency_cycles",
    "energy_pj",
    "macs",
    "computations",
    "pes_used",
    "utilisation",
    "bound",
    *ACCESS_COUNTS,
    *(f"energy_{p}_pj" for p in ENERGY_PARTS),
)


def _offchip_words(results: Sequence[dict[str, np.ndarray]], stacked: Callable) -> np.ndarray:
    """Words a layer moves across the off-chip interface (the simulator's contention model uses it).

    An analysis that models DRAM (``native``) reports ``dram_rd + dram_wr``. ``maestro`` has no
    DRAM term, so there each tensor is taken to cross once: the L2 writes of input, weight and
    output, floored at 0 (degenerate XRBench layers have signed output counts).
    """
    if all("dram_rd" in r and "dram_wr" in r for r in results):
        return (stacked("dram_rd") + stacked("dram_wr")).astype(np.float64)
    once = stacked("l2_wr_input") + stacked("l2_wr_weight") + stacked("l2_wr_output")
    return np.maximum(once, 0).astype(np.float64)


def _options_key(options: Any) -> Any:
    if options is None:
        return None
    key = getattr(options, "key", None)
    return key() if callable(key) else repr(options)


def layer_results(
    layers: Sequence[Layer] | LayerBatch | pd.DataFrame,
    accelerator: Accelerator,
    analysis: str = "maestro",
    options: Any = None,
) -> dict[str, np.ndarray]:
    """Per-layer result arrays (the analysis's keys), every distinct layer costed at most once
    per (analysis, options, accelerator spec) in this process."""
    function = get_analysis(analysis)
    if search_objective(accelerator.dataflow) is not None:
        function = searched(function)
    batch = LayerBatch.of(layers)
    if len(batch) == 0:
        return function(batch, accelerator, options)
    keys = batch.key_matrix()
    unique, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rows = cache.row_cache((analysis, _options_key(options), cache.accelerator_key(accelerator)))
    found, _ = rows.lookup(unique)
    if not found.all():
        missing = np.flatnonzero(~found)
        computed = function(batch.take(first[missing]), accelerator, options)
        rows.insert(unique[missing], computed)
        found, _ = rows.lookup(unique)
    _, positions = rows.lookup(unique)
    return rows.take(positions[inverse.reshape(-1)])


def as_frame(columns: CostColumns) -> pd.DataFrame:
    """The DataFrame of a cost table's columns (its own copy of the arrays)."""
    import pandas as pd  # lazy: the command line prints and writes the columns without pandas

    return pd.DataFrame(columns, columns=list(columns), copy=True)


def _columns(
    results: Sequence[dict[str, np.ndarray]],
    accelerators: Sequence[Accelerator],
    model_names: np.ndarray,
    layer_idx: np.ndarray,
    layer_names: np.ndarray,
    analysis: str,
    dataflow_names: np.ndarray | None = None,
) -> CostColumns:
    """Layer-major table: for each layer, one row per accelerator (in accelerator order).

    ``dataflow_names`` (layers x accelerators) names the dataflow of each row when layers carry
    their own (:mod:`costmodel.layer_dataflows`); by default each accelerator's."""
    n_acc = len(accelerators)

    def per_layer(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, n_acc)

    def per_acc(values: Sequence[Any], dtype: Any = None) -> np.ndarray:
        return np.tile(np.asarray(values, dtype=dtype), len(layer_idx))

    def stacked(column: str) -> np.ndarray:
        return np.stack([r[column] for r in results], axis=1).reshape(-1)

    latency = stacked("latency_cycles").astype(np.int64)
    clock = per_acc([a.clock_hz for a in accelerators], np.float64)
    energy_pj = stacked("energy_pj").astype(np.float64)
    columns: CostColumns = {
        "model": per_layer(model_names),
        "layer_idx": per_layer(layer_idx).astype(np.int64),
        "layer": per_layer(layer_names),
        "accelerator": per_acc(range(n_acc), np.int64),
        "accelerator_name": per_acc([a.name for a in accelerators], object),
        "dataflow": (
            per_acc([a.dataflow.name for a in accelerators], object)
            if dataflow_names is None
            else dataflow_names.reshape(-1)
        ),
        "analysis": np.full(len(latency), analysis, dtype=object),
        "latency_cycles": latency,
        "latency_s": latency / clock,
        "energy_nj": energy_pj / 1e3,
    }
    for column in _RESULT_COLUMNS:
        if column not in columns:
            columns[column] = stacked(column)
    columns["offchip_words"] = _offchip_words(results, stacked)
    optional = [c for c in OPTIONAL_COLUMNS if all(c in r for r in results)]
    for column in optional:
        columns[column] = stacked(column)
    return {c: columns[c] for c in (*COST_COLUMNS, *optional)}


def layer_cost_columns(
    layers: Sequence[Layer] | LayerBatch | pd.DataFrame,
    accelerator: Accelerator | str,
    analysis: str = "maestro",
    options: Any = None,
    *,
    model: str = "",
) -> CostColumns:
    """Cost columns of ``layers`` (in order) on one accelerator (``accelerator`` = 0)."""
    acc = _accelerator(accelerator)
    batch = LayerBatch.of(layers)
    result = layer_results(batch, acc, analysis, options)
    n = len(batch)
    names = np.array(batch.names, dtype=object)
    return _columns([result], [acc], np.full(n, model, dtype=object), np.arange(n), names, analysis)


def layer_costs(
    layers: Sequence[Layer] | LayerBatch | pd.DataFrame,
    accelerator: Accelerator | str,
    analysis: str = "maestro",
    options: Any = None,
    *,
    model: str = "",
) -> pd.DataFrame:
    """Cost table of ``layers`` (in order) on one accelerator (``accelerator`` = 0)."""
    return as_frame(layer_cost_columns(layers, accelerator, analysis, options, model=model))


def model_cost_table(
    model: Model | str,
    accelerator: Accelerator | str,
    analysis: str = "maestro",
    options: Any = None,
) -> pd.DataFrame:
    """Cost table of a model (zoo name or :class:`Model`) on one accelerator (name, file or
    :class:`Accelerator`)."""
    m = _model(model)
    batch = _model_batch(m)[0]
    if not m.layer_dataflows:
        return layer_costs(batch, accelerator, analysis, options, model=m.name)
    acc = _accelerator(accelerator)
    results = [layer_results(batch, acc, analysis, options)]
    flows = apply_layer_dataflows(
        results,
        [acc],
        [m],
        [0],
        lambda rows, a: layer_results(batch.take(rows), a, analysis, options),
    )
    n = len(batch)
    names = np.array(batch.names, dtype=object)
    model_names = np.full(n, m.name, dtype=object)
    return as_frame(_columns(results, [acc], model_names, np.arange(n), names, analysis, flows))


def system_cost_table(
    models: Sequence[Model | str] | Model | str,
    system: System | str,
    analysis: str = "maestro",
    options: Any = None,
) -> pd.DataFrame:
    """Cost table of every layer of every model on every accelerator of ``system``.

    Rows are ordered by model (as given), layer_idx, accelerator. Results are cached by content
    (:func:`cost_columns`); each call returns a new DataFrame, so callers may modify it.
    """
    return as_frame(cost_columns(models, _system(system).accelerators, analysis, options))


def cost_columns(
    models: Sequence[Model | str] | Model | str,
    accelerators: Sequence[Accelerator],
    analysis: str = "maestro",
    options: Any = None,
) -> CostColumns:
    """Cost columns of every layer of every model on each of ``accelerators`` (what
    :func:`system_cost_table` wraps; ``rtmm cost`` prints them).

    Rows are ordered by model (as given), layer_idx, accelerator. The columns are cached by
    content — the models' layers and per-layer mappings, the accelerators' specs and names, the
    analysis and its options — in process and, when enabled, on disk (:mod:`costmodel.cache`),
    so a second ``rtmm cost`` run with ``RTMM_COST_CACHE`` set costs nothing. Treat the arrays
    as read-only (they are shared with the cache).
    """
    if isinstance(models, Model | str):
        models = [models]
    loaded = [_model(m) for m in models]
    batches = [_model_batch(m) for m in loaded]
    key = cache.digest(
        "cost_columns",
        analysis,
        _options_key(options),
        [(a.name, cache.accelerator_key(a)) for a in accelerators],
        [(m.name, digest) for m, (_, digest) in zip(loaded, batches, strict=True)],
    )
    cached = cache.get_table(key)
    if cached is not None:
        return cached
    batch = LayerBatch.concat([b for b, _ in batches])
    results = [layer_results(batch, acc, analysis, options) for acc in accelerators]
    offsets = np.cumsum([0] + [len(b) for b, _ in batches])[:-1].tolist()
    flows = apply_layer_dataflows(
        results,
        list(accelerators),
        loaded,
        offsets,
        lambda rows, acc: layer_results(batch.take(rows), acc, analysis, options),
    )
    model_names = np.concatenate(
        [np.full(len(b), m.name, dtype=object) for m, (b, _) in zip(loaded, batches, strict=True)]
    )
    layer_idx = np.concatenate([np.arange(len(b)) for b, _ in batches])
    columns = _columns(
        results,
        accelerators,
        model_names,
        layer_idx,
        np.array(batch.names, dtype=object),
        analysis,
        flows,
    )
    cache.put_table(key, columns)
    return columns


# --------------------------------------------------------------------------------------------
# name resolution


def _model_batch(model: Model) -> tuple[LayerBatch, str]:
    """The model's layers as a batch and their content digest (recomputed per call, about half a
    millisecond for a 42-layer model: no cache keyed by object identity)."""
    batch = LayerBatch.from_layers(model.layers)
    own = sorted(model.layer_dataflows.items())  # per-layer mappings change the costs
    return batch, cache.digest(batch.key_matrix(), batch.names, *([own] if own else []))


def _model(model: Model | str | os.PathLike) -> Model:
    if isinstance(model, Model):
        return model
    if isinstance(model, str | os.PathLike):
        return zoo.load(model)
    raise RtmmError(f"expected a Model or a model name, got {type(model).__name__}", source="<api>")


def _accelerator(accelerator: Accelerator | str | os.PathLike) -> Accelerator:
    if isinstance(accelerator, Accelerator):
        return accelerator
    if isinstance(accelerator, str | os.PathLike):
        return get_accelerator(accelerator)
    raise RtmmError(
        f"expected an Accelerator or a name, got {type(accelerator).__name__}", source="<api>"
    )


def _system(system: System | str | os.PathLike) -> System:
    if isinstance(system, System):
        return system
    if isinstance(system, str | os.PathLike):
        return get_system(system)
    raise RtmmError(f"expected a System or a name, got {type(system).__name__}", source="<api>")
