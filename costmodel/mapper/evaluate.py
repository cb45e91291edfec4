"""Costing mappings: the one adapter to the ``native`` analysis, layer orientation, objectives.

:func:`analyse_mapping` is the only place the mapper calls the cost model: the ``native``
analysis (:func:`costmodel.native.analyse_native`) of a batch of layers on the accelerator with
its dataflow replaced by the candidate. It takes one directive structure per call and, on the
loop-nest path, a tiling per row (``offsets``), so one call costs many (candidate, layer) pairs
of one structure (modules :mod:`costmodel.mapper.tiles`, :mod:`costmodel.mapper.search`).

Orientation: a layer whose output has more columns than rows (or, tied, a wider filter, a larger
column stride) is searched transposed — Y<->X, R<->S, strides and padding exchanged — and the
mapping found is mirrored back (Y'<->X'). Both orientations of a layer therefore run the identical
search, so they get the same best cost (the analysis is mirror symmetric; tests check it).

A mapping is *feasible* when its working sets fit the buffers by the mapper's own physical check
(:mod:`costmodel.mapper.capacity`: one image's PE step tile in ``l1_bytes_per_pe``, or each
tensor's in its part of ``l1_tensor_bytes``; one step of the whole array in ``l2_bytes``, weights
in ``l2_weight_bytes`` when declared) and, when the analysis reports one, with no L1 spill
(``l1_spill_words == 0``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.mapper.capacity import capacity_excess_bytes, excess_bytes
from costmodel.native import DEFAULT_NATIVE, NativeOptions, NativeRows, analyse_native
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from rtmm.errors import CostModelError
from workloads.layer import OpType

#: Objectives: the value minimised, from an analysis result (``edp`` = energy_nj x cycles).
OBJECTIVES: dict[str, Callable[[dict], np.ndarray]] = {
    "latency": lambda r: r["latency_cycles"].astype(np.float64),
    "energy": lambda r: r["energy_pj"].astype(np.float64),
    "edp": lambda r: r["energy_nj"].astype(np.float64) * r["latency_cycles"],
}


def check_objective(objective: str, source: str = "<api>") -> str:
    """``objective`` lower-cased, or a :class:`CostModelError` naming the allowed ones."""
    key = str(objective).strip().lower()
    if key not in OBJECTIVES:
        raise CostModelError(
            f"unknown mapping objective '{objective}'",
            source=source,
            field="objective",
            allowed=", ".join(OBJECTIVES),
        )
    return key


def analyse_mapping(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflow: Dataflow,
    options: NativeOptions | None = None,
    offsets: np.ndarray | None = None,
    footprints: bool = False,
    rows: NativeRows | None = None,
) -> dict[str, np.ndarray]:
    """The ``native`` analysis of ``batch`` on ``accelerator`` under ``dataflow`` (the adapter);
    ``offsets``: per-row map offsets of ``dataflow``; ``footprints``: with the tensors' tiles
    for :func:`overflow` (both loop-nest path only, :func:`clips_maps`); ``rows``: the batch's
    ``native_rows`` when the caller keeps them."""
    acc = dataclasses.replace(accelerator, dataflow=dataflow)
    return analyse_native(batch, acc, options, offsets, footprints, rows)


def clips_maps(options: NativeOptions | None) -> bool:
    """Whether the analysis path of ``options`` clips every map to its dimension (the loop-nest
    path, ``reuse`` on): then a directive list whose tiles are clipped to any extent at or above
    a layer's own costs that layer exactly as its own list does, so the search's shared
    *surrogate* costs are exact and need no re-cost (``tests/test_mapper.py`` checks the equality
    on a sample of layers and points)."""
    return bool((options or DEFAULT_NATIVE).reuse)


def overflow(
    batch: LayerBatch,
    accelerator: Accelerator,
    dataflow: Dataflow,
    result: dict[str, np.ndarray],
    offsets: np.ndarray | None = None,
) -> np.ndarray:
    """Per layer: how far ``dataflow`` is from fitting — bytes over L1 / L2 by the mapper's own
    check plus the analysis's ``l1_spill_words`` when it reports them (0: feasible);
    ``offsets``: per-row map offsets of ``dataflow``. When ``result`` holds the footprints
    (``analyse_mapping(..., footprints=True)``, the same loop nest) they are used."""
    if "pe_W" in result:
        out = excess_bytes(result, accelerator)
    else:
        out = capacity_excess_bytes(batch, accelerator, dataflow, offsets)
    if "l1_spill_words" in result:
        out = out + result["l1_spill_words"].astype(np.float64) * accelerator.word_bytes
    return out


def feasible(
    batch: LayerBatch, accelerator: Accelerator, dataflow: Dataflow, result: dict[str, np.ndarray]
) -> np.ndarray:
    """Per layer: ``dataflow`` fits the buffers (:func:`overflow` is 0)."""
    return overflow(batch, accelerator, dataflow, result) == 0


def transposed(batch: LayerBatch) -> np.ndarray:
    """Per layer: searched transposed (wider than tall, by output, then filter, then stride)."""
    oy, ox = batch.out_y, batch.out_x
    r, s = batch.dims[:, 5], batch.dims[:, 6]
    key_y = np.column_stack([oy, r, batch.stride[:, 0]])
    key_x = np.column_stack([ox, s, batch.stride[:, 1]])
    out = np.zeros(len(batch), bool)
    undecided = np.ones(len(batch), bool)
    for j in range(3):
        out |= undecided & (key_x[:, j] > key_y[:, j])
        undecided &= key_x[:, j] == key_y[:, j]
    return out


def transpose(batch: LayerBatch, mask: np.ndarray) -> LayerBatch:
    """``batch`` with the layers at ``mask`` transposed (Y<->X, R<->S, strides, padding)."""
    dims = batch.dims.copy()
    dims[mask] = dims[mask][:, [0, 1, 2, 4, 3, 6, 5]]
    stride, padding = batch.stride.copy(), batch.padding.copy()
    stride[mask] = stride[mask][:, ::-1]
    padding[mask] = padding[mask][:, ::-1]
    return dataclasses.replace(batch, dims=dims, stride=stride, padding=padding)


def bounds(batch: LayerBatch) -> np.ndarray:
    """``(n, 4)`` the K, C, Y', X' extents the analysis sees per layer (a size at or above its
    bound covers the whole dimension): grouped layers per group; depthwise, pooling and
    element-wise layers carry their channels in C with K = 1 (the ``grouped`` correction)."""
    k, c, g = batch.dims[:, 1], batch.dims[:, 2], batch.groups
    per_channel = np.isin(batch.op, (OpType.POOL.value, OpType.ELTWISE.value))
    folded = per_channel | ((g > 1) & (c == g) & (k == g))
    kb = np.where(folded, 1, np.maximum(k // g, 1))
    cb = np.where(folded, k, np.maximum(c // g, 1))
    oy = np.maximum(batch.out_y, 1)
    ox = np.maximum(batch.out_x, 1)
    return np.column_stack([kb, cb, oy, ox]).astype(np.int64)
