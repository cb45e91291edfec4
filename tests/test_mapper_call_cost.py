"""The cheaper analysis call (issue 16, m16j): each shortcut against the plain form it replaces.

The shortcuts cut array operations at few rows; every test here computes the plain form (the
code they replaced, written out) on the same inputs and asks for the same integers. No test pins
an analysis number.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel.batch import LayerBatch
from costmodel.intmath import ceil0, ceil_div_bw
from costmodel.loopnest import _plan_of, build_loop_nest
from costmodel.mapper.tiles import line_rows
from costmodel.native import DEFAULT_NATIVE, analyse_native, nest_rows_of
from costmodel.native_nest import loop_nest_of
from costmodel.reuse import NestWalk, TensorShapes, l1_held, step_footprints
from hardware_db.dataflow import Dataflow, Directive
from hardware_db.library import get_accelerator
from workloads.layer import Layer

_words = st.lists(st.integers(-(10**9), 10**12), min_size=1, max_size=12)


@given(_words, st.integers(1, 64), st.booleans())
def test_integral_bandwidth_ceiling_equals_ceil0(words, bw, as_float):
    a = np.asarray(words, np.int64)
    got = ceil_div_bw(a, float(bw) if as_float else bw)
    want = ceil0(a, np.int64(bw))
    assert got.dtype == want.dtype and np.array_equal(got, want)


def _l1_held_sorted(size: dict, step_macs: np.ndarray, l1: np.ndarray) -> dict:
    """The sort-based form: tensors by uses per word (ties W, I, O), held while they fit."""
    names = ("W", "I", "O")
    reuse = np.stack([step_macs / np.maximum(size[t], 1) for t in names], axis=1)
    reuse = np.where(np.stack([size[t] > 0 for t in names], axis=1), reuse, np.inf)
    order = np.argsort(-reuse, axis=1, kind="stable")
    sizes = np.stack([size[t] for t in names], axis=1)
    taken = np.cumsum(np.take_along_axis(sizes, order, axis=1), axis=1)
    fits_sorted = np.cumprod(taken <= l1[:, None], axis=1).astype(bool)
    fits = np.zeros_like(fits_sorted)
    np.put_along_axis(fits, order, fits_sorted, axis=1)
    return {t: fits[:, i] for i, t in enumerate(names)}


_LAYERS = [
    Layer("conv", "CONV", 1, 64, 32, 30, 30, 3, 3),
    Layer("strided", "CONV", 2, 48, 24, 33, 29, 5, 3, stride=(2, 3)),
    Layer("dw", "CONV", 1, 32, 32, 20, 20, 3, 3, groups=32),
    Layer("fc", "GEMM", 1, 100, 64, 1, 1, 1, 1),
]
_FLOW = Dataflow("t", (Directive("S", 4, 4, "K"), Directive("T", 8, 8, "C"),
                       Directive("T", 3, 1, "Y"), Directive("C", 4), Directive("S", 1, 1, "C"),
                       Directive("T", 2, 2, "X'"), Directive("T", 3, 3, "R")))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=4 * 7, max_size=4 * 7), st.integers(1, 600))
def test_l1_held_equals_the_sorted_form(offsets, l1):
    batch = LayerBatch.from_layers(_LAYERS)
    acc = get_accelerator("eyeriss-v1")
    rows = nest_rows_of(batch)
    off = np.asarray(offsets, np.int64).reshape(4, 7)
    nest, shapes = loop_nest_of(rows, _with(acc, _FLOW), off)
    l1_words = np.full(len(batch), l1, np.int64)
    step = dict(nest.step_tile)
    step["N"] = np.ones_like(step["N"])
    macs = np.prod([step[v] for v in nest.extents], axis=0).astype(np.float64)
    want = _l1_held_sorted(step_footprints(nest, shapes), macs, l1_words)
    got = l1_held(nest, shapes, l1_words, NestWalk(nest, shapes))
    for t in want:
        assert np.array_equal(got[t], want[t]), t


def _with(acc, flow):
    return dataclasses.replace(acc, dataflow=flow)


def test_mixed_rows_cost_as_each_row_alone():
    """Rows whose tensors differ in which dims index them (weights or not, depthwise folds)
    take the per-row path of the reuse walk; each row still costs what it costs alone."""
    layers = [*_LAYERS, Layer("pool", "POOL", 1, 16, 16, 12, 12, 2, 2, stride=(2, 2))]
    batch = LayerBatch.from_layers(layers)
    acc = _with(get_accelerator("eyeriss-v1"), _FLOW)
    together = analyse_native(batch, acc, DEFAULT_NATIVE)
    for i in range(len(layers)):
        alone = analyse_native(batch.take(np.array([i])), acc, DEFAULT_NATIVE)
        for key, value in alone.items():
            assert np.array_equal(together[key][i : i + 1], value), (layers[i].name, key)


def test_uniform_relevance_matches_the_per_row_arrays():
    rng = np.random.default_rng(3)
    for weights, channel_out in ([1, 1, 1], [0, 0, 0]), ([1, 0, 1], [0, 0, 1]), ([1, 1], [1, 1]):
        n = len(weights)
        shapes = TensorShapes(np.ones((n, 2), np.int64), rng.integers(1, 9, n),
                              rng.integers(1, 9, n), np.asarray(weights, bool),
                              np.asarray(channel_out, bool))  # fmt: skip
        for t in ("I", "W", "O"):
            for v in "NKCPQRS":
                per_row = shapes.relevant(t, v)
                flag = shapes.uniform(t, v)
                if flag is None:
                    assert per_row.any() and not per_row.all()
                else:
                    assert np.array_equal(per_row, np.full(n, flag)), (t, v)


def test_plan_kept_per_list_object_and_nests_unchanged():
    flow = _FLOW
    assert _plan_of(flow) is _plan_of(flow)
    copy = Dataflow(flow.name, tuple(flow.directives))
    assert _plan_of(copy) is not _plan_of(flow)
    ext = {v: np.array([7, 12], np.int64) for v in "NKCPQRS"}
    stride = np.ones((2, 2), np.int64)
    a = build_loop_nest(flow, ext, stride, 168)
    b = build_loop_nest(copy, ext, stride, 168)
    assert np.array_equal(a.compute_cycles, b.compute_cycles)
    assert np.array_equal(a.passes, b.passes)
    assert [(x.dim, x.kind) for x in a.loops] == [(x.dim, x.kind) for x in b.loops]
    # the computations are the product of the extents (the splits partition every dim)
    assert np.array_equal(a.computations, np.prod([ext[v] for v in "NKCPQRS"], axis=0))


def _line_rows_loop(centers, free, sizes):
    m, grid = len(centers), np.asarray(sizes, np.int64)
    blocks, owners = [], []
    for f in free:
        block = np.repeat(centers, len(grid), axis=0)
        block[:, f] = np.tile(grid, m)
        blocks.append(block)
        owners.append(np.repeat(np.arange(m), len(grid)))
    return np.concatenate(owners), np.concatenate(blocks)


@given(st.integers(0, 5), st.sets(st.integers(0, 6), min_size=1), st.integers(0, 2**31))
def test_line_rows_equal_the_block_loop(m, free, seed):
    centers = np.random.default_rng(seed).integers(1, 64, (m, 7)).astype(np.int64)
    free_t, sizes = tuple(sorted(free)), (1, 2, 4, 8, 16)
    want, got = _line_rows_loop(centers, free_t, sizes), line_rows(centers, free_t, sizes)
    for w, g in zip(want, got, strict=True):
        assert w.dtype == g.dtype and w.shape == g.shape and np.array_equal(w, g)
