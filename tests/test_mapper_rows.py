"""Per-row tile sizes (issue 16, m16a): one analysis call costs one directive structure under a
different tiling per row, and each row costs exactly what its own directive list costs alone.

No test pins the ``native`` analysis's numbers: every expectation compares two ways of costing
the same (layer, mapping) pair with the same analysis.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_mapper import BIG

from costmodel.batch import LayerBatch
from costmodel.mapper import Space, analyse_mapping
from costmodel.mapper.capacity import capacity_excess_bytes
from costmodel.mapper.evaluate import bounds, overflow
from costmodel.mapper.search import written
from costmodel.mapper.space import SIZES, canonical
from costmodel.mapper.tiles import PARAMS, params_of, structure_of, template, with_params
from costmodel.native import DEFAULT_NATIVE, NativeOptions, native_rows
from rtmm.errors import CostModelError
from workloads.layer import Layer

_CONVS = [Layer("a", "CONV", 1, 64, 32, 30, 30, 3, 3), Layer("b", "CONV", 1, 16, 8, 20, 20, 5, 5)]
_SPACE = Space.for_accelerator(BIG).for_layers(LayerBatch.from_layers(_CONVS))
_SEEDS = _SPACE.seeds()
_ROWS = [p for p in _SEEDS if p.chunks]  # row-stationary structures (four cluster levels)
_STRUCTURES = sorted({structure_of(p) for p in _SEEDS}
                     | {structure_of(q) for p in _SEEDS[:6] + _ROWS[:4]
                        for q in _SPACE.neighbours(p)})  # fmt: skip
_KEYS = ("latency_cycles", "energy_pj", "energy_nj", "l1_spill_words", "dram_rd", "computations")

_layer = st.builds(
    lambda k, c, y, x, r, stride, groups: Layer(
        "l", "CONV", 1, k * groups, c * groups, max(y, r), max(x, r), r, r,
        stride=(stride, stride), groups=groups),
    k=st.integers(1, 300), c=st.integers(1, 300), y=st.integers(1, 60), x=st.integers(1, 60),
    r=st.sampled_from([1, 3, 5]), stride=st.sampled_from([1, 2]), groups=st.sampled_from([1, 1, 2]),
)  # fmt: skip
_tiles = st.lists(st.sampled_from(SIZES), min_size=len(PARAMS), max_size=len(PARAMS))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layers=st.lists(_layer, min_size=1, max_size=4),
       tilings=st.lists(_tiles, min_size=1, max_size=6),
       which=st.integers(0, len(_STRUCTURES) - 1))  # fmt: skip
def test_per_row_tiles_cost_exactly_what_each_list_costs_alone(layers, tilings, which):
    """Random layers x random tile sizes of one structure: the batched call (per-row offsets)
    equals, bit for bit, the analysis of each row's own directive list in its own call; the
    capacity overflow too (from the analysis's footprints and from the capacity module)."""
    structure = _STRUCTURES[which]
    batch = LayerBatch.from_layers(layers)
    ext = bounds(batch)
    rows, params = [], []
    for i in range(len(batch)):
        b = tuple(int(v) for v in ext[i])
        for tiles in tilings:
            cp = canonical(with_params(structure, tiles), b)
            if cp is not None:
                rows.append(i)
                params.append(params_of(cp))
    if not rows:
        return
    idx = np.asarray(rows)
    table = np.asarray(params, np.int64)
    tpl = template(structure)
    offsets = tpl.offsets(table, ext[idx])
    sub = batch.take(idx)
    together = analyse_mapping(sub, BIG, tpl.dataflow, None, offsets, footprints=True)
    spill = overflow(sub, BIG, tpl.dataflow, together, offsets)
    direct = capacity_excess_bytes(sub, BIG, tpl.dataflow, offsets)
    for j, (i, row) in enumerate(zip(rows, table.tolist(), strict=True)):
        own = written(with_params(structure, row), tuple(int(v) for v in ext[i]))
        one = batch.take([i])
        alone = analyse_mapping(one, BIG, own)
        for key in _KEYS:
            assert together[key][j] == alone[key][0], (key, own)
        assert together["bound"][j] == alone["bound"][0]
        assert spill[j] == overflow(one, BIG, own, alone)[0]
        assert spill[j] == direct[j] + alone["l1_spill_words"][0] * BIG.word_bytes


def test_a_row_writes_the_layers_exact_directive_offsets():
    layer = Layer("l", "CONV", 1, 64, 32, 14, 14, 3, 3)
    b = tuple(int(v) for v in bounds(LayerBatch.from_layers([layer]))[0])
    assert _ROWS and any(s.chunks for s in _STRUCTURES)
    for structure in _STRUCTURES[:20] + [s for s in _STRUCTURES if s.chunks][:10]:
        tpl = template(structure)
        p = canonical(with_params(structure, (2, 16, 1024, 4, 1 << 20, 2, 4)), b)
        if p is None:
            continue
        got = tpl.offsets(np.asarray([params_of(p)]), np.asarray([b]))[0]
        want = [d.offset for d in written(p, b).directives]
        assert got.tolist() == want


def test_offsets_are_refused_off_the_loop_nest_path_and_checked():
    batch = LayerBatch.from_layers([Layer("l", "CONV", 1, 8, 8, 6, 6, 3, 3)])
    tpl = template(_STRUCTURES[0])
    offsets = np.tile(tpl.base, (1, 1))
    case_machinery = dataclasses.replace(NativeOptions(), reuse=False, pass_fill=False)
    with pytest.raises(CostModelError, match="loop-nest"):
        analyse_mapping(batch, BIG, tpl.dataflow, case_machinery, offsets)
    with pytest.raises(CostModelError, match="shape"):
        analyse_mapping(batch, BIG, tpl.dataflow, None, offsets[:, :-1])
    bad = offsets.copy()
    bad[0, 0] = 0
    with pytest.raises(CostModelError, match="below 1"):
        analyse_mapping(batch, BIG, tpl.dataflow, None, bad)


def test_row_stationary_structures_cost_per_row_exactly_too():
    """The four-level row-stationary structures (m16b) through the same per-row path: random
    filters per pass, chunks p, q and pass tiles on two convolutions, each row equal to its own
    list costed alone."""
    rng = np.random.default_rng(5)
    batch = LayerBatch.from_layers(_CONVS)
    ext = bounds(batch)
    rows_structures = [s for s in _STRUCTURES if s.chunks]
    assert rows_structures
    for structure in rows_structures[:8]:
        tpl = template(structure)
        layers, table = [], []
        for i in range(len(batch)):
            b = tuple(int(v) for v in ext[i])
            for _ in range(4):
                cp = canonical(with_params(structure, rng.choice(SIZES, len(PARAMS))), b)
                if cp is not None:
                    layers.append(i)
                    table.append(params_of(cp))
        if not layers:
            continue
        idx = np.asarray(layers)
        params = np.asarray(table, np.int64)
        offsets = tpl.offsets(params, ext[idx])
        together = analyse_mapping(batch.take(idx), BIG, tpl.dataflow, None, offsets)
        for j, (i, row) in enumerate(zip(layers, params.tolist(), strict=True)):
            own = written(with_params(structure, row), tuple(int(v) for v in ext[i]))
            alone = analyse_mapping(batch.take([i]), BIG, own)
            for key in _KEYS:
                assert together[key][j] == alone[key][0], (key, own)


def test_kept_native_rows_taken_per_call_give_the_same_analysis():
    """The search keeps its layers' ``native_rows`` and takes them per call
    (``analyse_mapping(..., rows=)``): the result equals the analysis that derives them."""
    layers = [*_CONVS, Layer("g", "CONV", 1, 32, 32, 9, 9, 3, 3, stride=(2, 2), groups=4),
              Layer("p", "POOL", 1, 16, 16, 8, 8, 2, 2, stride=(2, 2))]  # fmt: skip
    batch = LayerBatch.from_layers(layers)
    kept = native_rows(batch, DEFAULT_NATIVE)
    index = np.array([3, 0, 2, 2, 1])
    flow = _SEEDS[0].dataflow()
    plain = analyse_mapping(batch.take(index), BIG, flow, footprints=True)
    taken = analyse_mapping(batch.take(index), BIG, flow, footprints=True,
                            rows=kept.take(index))  # fmt: skip
    assert plain.keys() == taken.keys()
    for key in plain:
        assert np.array_equal(plain[key], taken[key]), key
