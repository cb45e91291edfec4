"""The mapper's capacity check against the analysis's own tiles and Eyeriss v1's published mapping.

- Eyeriss v1 runs its Table III row-stationary mapping on every AlexNet layer, so a faithful
  check accepts it there; a PE's step tiles also fit the chip's three scratchpads one by one
  (the sizes read from the paper's facts, ``tests/data/silicon/eyeriss_v1_hardware.csv``).
- Property: any mapping the check accepts has, per tensor, a held tile no larger than its buffer
  under the analysis's accounting (:mod:`costmodel.reuse`: the L2 position the analysis picks and
  its ``l2_weight_bytes`` part; the PE step tiles ``l1_held`` keeps) and the analysis reports no
  L1 spill; any mapping it rejects has a tile that does not fit.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costmodel import silicon
from costmodel.batch import LayerBatch
from costmodel.mapper.capacity import capacity_excess_bytes, footprint_words
from costmodel.mapper.evaluate import analyse_mapping, bounds
from costmodel.mapper.search import written
from costmodel.mapper.space import FULL, Space
from costmodel.native import nest_rows_of
from costmodel.native_nest import loop_nest_of
from costmodel.reuse import TENSORS, held_footprints, l1_held, step_footprints, traffic
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from hardware_db.library import get_accelerator
from hardware_db.row_stationary import RowStationaryParams, row_stationary
from hardware_db.schema import validate_accelerator
from rtmm.errors import SpecError
from workloads.layer import Layer, OpType

SILICON = "tests/data/silicon"
EYERISS = get_accelerator("eyeriss-v1")
SMALL = dataclasses.replace(
    get_accelerator("xrbench-4k-A/0"), name="small", num_pes=16, array_shape=(4, 4)
)
SPACE = Space(
    structures=((4,), (2, 2)),
    sizes=(1, 2, 4, FULL),
    orders=("ws", "os"),
    spatial0=("K", "Y'"),
    spatial1=("C", "X'", "YR"),
    inner=("tile",),
)


def _alexnet() -> tuple[pd.DataFrame, list[Accelerator]]:
    table = silicon.read_measurements(f"{SILICON}/eyeriss_jssc2017_alexnet.csv")
    return table, silicon.accelerators(table)


def _paper_facts() -> dict[str, int]:
    facts = pd.read_csv(f"{SILICON}/eyeriss_v1_hardware.csv").set_index("key").value
    return {k: int(facts[k]) for k in facts.index if k.startswith(("spad_", "glb_", "word_"))}


def test_eyeriss_published_mapping_fits_on_every_alexnet_layer():
    """The chip runs these mappings, so a faithful check must accept every one of them."""
    table, accs = _alexnet()
    for (_, row), acc in zip(table.iterrows(), accs, strict=True):
        one = LayerBatch.from_layers([silicon.layer_of(row)])
        assert capacity_excess_bytes(one, acc, acc.dataflow)[0] == 0, row.layer
        assert analyse_mapping(one, acc, acc.dataflow)["l1_spill_words"][0] == 0, row.layer


def test_eyeriss_pe_step_tiles_fit_each_scratchpad_and_the_glb_parts():
    """Straight from the paper's facts: a PE's filter, ifmap and psum step tiles fit the filter
    (448 B), ifmap (24 B) and psum (48 B) scratchpads, which the library accelerator carries as
    ``l1_tensor_bytes``; one array step's filters fit the GLB's filter banks and its ifmaps and
    psums the rest."""
    facts = _paper_facts()
    assert EYERISS.l1_tensor_bytes == (facts["spad_filter_bytes_per_pe"],
                                       facts["spad_ifmap_bytes_per_pe"],
                                       facts["spad_psum_bytes_per_pe"])  # fmt: skip
    word = facts["word_bits"] // 8 if "word_bits" in facts else EYERISS.word_bytes
    spad = {"W": facts["spad_filter_bytes_per_pe"], "I": facts["spad_ifmap_bytes_per_pe"],
            "O": facts["spad_psum_bytes_per_pe"]}  # fmt: skip
    table, accs = _alexnet()
    for (_, row), acc in zip(table.iterrows(), accs, strict=True):
        one = LayerBatch.from_layers([silicon.layer_of(row)])
        words = footprint_words(one, acc, acc.dataflow)
        for t in TENSORS:
            assert words[f"pe_{t}"][0] * word <= spad[t], (row.layer, t)
        assert words["chip_W"][0] * word <= facts["glb_filter_bytes"], row.layer
        fmaps = words["chip_I"][0] + words["chip_O"][0]
        assert fmaps * word <= facts["glb_ifmap_psum_bytes"], row.layer


def test_a_pe_holds_one_filter_row_a_sliding_window_and_one_psum_row():
    """Row stationary on CONV3 (R = S = 3, p 16 filters, q 4 channels, n 4 images): a PE holds
    p x q filter rows of S weights, q windows of S inputs for one output column and p psums,
    for one image at a time; the images and the output columns are streamed, not held."""
    table, accs = _alexnet()
    row = table.iloc[2]
    assert row.layer == "CONV3"
    one = LayerBatch.from_layers([silicon.layer_of(row)])
    words = footprint_words(one, accs[2], accs[2].dataflow)
    p, q, s = int(row.map_p), int(row.map_q), int(row.S)
    assert words["pe_W"][0] == p * q * s
    assert words["pe_I"][0] == q * s
    assert words["pe_O"][0] == p


def test_a_pe_overflow_and_an_l2_overflow_are_rejected():
    """The check can fail: the same mapping on a smaller L1 (shared or one scratchpad), a
    smaller L2 or a smaller weight part is rejected by exactly the bytes it lacks."""
    table, accs = _alexnet()
    acc = accs[0]
    one = LayerBatch.from_layers([silicon.layer_of(table.iloc[0])])
    words = footprint_words(one, acc, acc.dataflow)
    wb = acc.word_bytes
    pe = sum(int(words[f"pe_{t}"][0]) for t in TENSORS) * wb
    short = dataclasses.replace(acc, l1_bytes_per_pe=pe - wb, l1_tensor_bytes=None)
    assert capacity_excess_bytes(one, short, acc.dataflow)[0] == wb
    filters, _, psums = acc.l1_tensor_bytes
    tight = (filters, int(words["pe_I"][0]) * wb - 3 * wb, psums)  # ifmap spad 3 words short
    split = dataclasses.replace(acc, l1_bytes_per_pe=sum(tight), l1_tensor_bytes=tight)
    assert capacity_excess_bytes(one, split, acc.dataflow)[0] == 3 * wb
    # the same bytes as one shared buffer would fit: the split is what rejects it
    assert capacity_excess_bytes(one, dataclasses.replace(split, l1_tensor_bytes=None),
                                 acc.dataflow)[0] == 0  # fmt: skip
    weights = int(words["chip_W"][0]) * wb
    small_w = dataclasses.replace(acc, l2_weight_bytes=weights - 4 * wb)
    assert capacity_excess_bytes(one, small_w, acc.dataflow)[0] == 4 * wb
    fmaps = int(words["chip_I"][0] + words["chip_O"][0]) * wb
    small_l2 = dataclasses.replace(acc, l2_bytes=acc.l2_weight_bytes + fmaps - 2 * wb)
    assert capacity_excess_bytes(one, small_l2, acc.dataflow)[0] == 2 * wb
    shared = dataclasses.replace(acc, l2_weight_bytes=None, l2_bytes=weights + fmaps - wb)
    assert capacity_excess_bytes(one, shared, acc.dataflow)[0] == wb


def _fits_under_the_analysis(batch: LayerBatch, acc: Accelerator, flow: Dataflow) -> np.ndarray:
    """Per layer, by the analysis's own accounting: every tensor's L2 tile at the position the
    analysis picks fits its part of L2, and L1 holds every step tile (no tensor streamed)."""
    nest, shapes = loop_nest_of(nest_rows_of(batch), dataclasses.replace(acc, dataflow=flow))
    n = len(batch)
    wb = acc.word_bytes
    l2 = np.full(n, acc.l2_bytes // wb, np.int64)
    reserved = None if acc.l2_weight_bytes is None else np.full(n, acc.l2_weight_bytes // wb)
    l1 = np.full(n, acc.l1_bytes_per_pe // wb, np.int64)
    t = traffic(nest, shapes, l2, reserved, l1_words=l1)
    ok = np.ones(n, bool)
    for i in range(n):
        held = held_footprints(nest, shapes, int(t["l2_position"][i]))
        held_w = held_footprints(nest, shapes, int(t["l2_position_W"][i]))["W"][i]
        if reserved is None:
            ok[i] &= held["I"][i] + held["O"][i] + held_w <= l2[i]
        else:
            ok[i] &= held_w <= reserved[i] and held["I"][i] + held["O"][i] <= l2[i] - reserved[i]
    keeps = l1_held(nest, shapes, l1)
    step = step_footprints(nest, shapes)
    for tensor in TENSORS:
        ok &= keeps[tensor] & (step[tensor] <= l1)
    return ok


@functools.lru_cache(maxsize=64)
def _points(bound: tuple[int, int, int, int]) -> list:
    return SPACE.enumerate(bound)


def _layer(kind: str, n: int, k: int, c: int, y: int, r: int, stride: int, pad: int) -> Layer:
    """A dense, depthwise (groups = C = K) or pooling layer."""
    op = OpType.POOL if kind == "pool" else OpType.CONV
    k = k if kind == "dense" else c
    groups = c if kind == "depthwise" else 1
    return Layer("p", op, n, k, c, y, y + 1, r, r, (stride, stride), (pad, pad), groups)


_layers = st.builds(
    _layer, st.sampled_from(["dense", "depthwise", "pool"]),
    st.integers(1, 3), st.integers(1, 24), st.integers(1, 24), st.integers(3, 16),
    st.integers(1, 3), st.integers(1, 2), st.integers(0, 1),
)  # fmt: skip
_capacities = st.tuples(
    st.integers(4, 600), st.integers(64, 20000), st.one_of(st.none(), st.integers(8, 4000))
)


def _with(acc: Accelerator, caps: tuple[int, int, int | None]) -> Accelerator:
    l1, l2, w = caps
    w = None if w is None or w >= l2 else w
    return dataclasses.replace(
        acc, l1_bytes_per_pe=l1, l2_bytes=l2, l2_weight_bytes=w, l1_tensor_bytes=None
    )


def _assert_check_agrees_with_the_analysis(
    batch: LayerBatch, acc: Accelerator, flow: Dataflow
) -> None:
    """The check accepts ``flow`` on the one layer of ``batch`` exactly when the analysis's own
    tiles fit, and an accepted mapping has no L1 spill."""
    accepted = capacity_excess_bytes(batch, acc, flow)[0] == 0
    assert accepted == bool(_fits_under_the_analysis(batch, acc, flow)[0])
    if accepted:
        assert analyse_mapping(batch, acc, flow)["l1_spill_words"][0] == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer=_layers, caps=_capacities, pick=st.integers(0, 10**6))
def test_accepted_means_every_held_tile_fits_under_the_analysis(layer, caps, pick):
    """Searched-space mappings on random layers and buffers: the check accepts a mapping
    exactly when the analysis's own tiles fit, and then the analysis reports no L1 spill."""
    batch = LayerBatch.from_layers([layer])
    acc = _with(SMALL, caps)
    bound = tuple(int(v) for v in bounds(batch)[0])
    points = _points(bound)
    flow = written(points[pick % len(points)], bound, "p")
    _assert_check_agrees_with_the_analysis(batch, acc, flow)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.builds(RowStationaryParams, *(st.integers(1, 4) for _ in range(7))),
    layer=_layers,
    caps=_capacities,
)
def test_row_stationary_mappings_obey_the_same_rule(params, layer, caps):
    """Four cluster levels (outside the search space): the same equivalence on Eyeriss-shaped
    hardware with random buffers."""
    layer = dataclasses.replace(layer, op=OpType.CONV, K=max(layer.K, 2), groups=1)
    assume(params.t * params.r * params.e * layer.R <= EYERISS.num_pes)
    batch = LayerBatch.from_layers([layer])
    acc = _with(EYERISS, caps)
    flow = row_stationary(layer.R, params)
    _assert_check_agrees_with_the_analysis(batch, acc, flow)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layer=_layers,
    caps=_capacities,
    split=st.tuples(*(st.integers(2, 200) for _ in range(3))),
    pick=st.integers(0, 10**6),
)
def test_per_tensor_buffers_accept_only_what_fits_each(layer, caps, split, pick):
    """One L1 buffer per tensor: accepted exactly when each PE step tile fits its own buffer
    and the L2 tiles fit; then the shared-L1 analysis holds every tensor too (no spill)."""
    batch = LayerBatch.from_layers([layer])
    acc = dataclasses.replace(_with(SMALL, caps), l1_bytes_per_pe=sum(split),
                              l1_tensor_bytes=split)  # fmt: skip
    bound = tuple(int(v) for v in bounds(batch)[0])
    points = _points(bound)
    flow = written(points[pick % len(points)], bound, "p")
    words = footprint_words(batch, acc, flow)
    wb = acc.word_bytes
    each = all(int(words[f"pe_{t}"][0]) <= b // wb for t, b in zip("WIO", split, strict=True))
    shared = dataclasses.replace(acc, l1_tensor_bytes=None)
    l2_fits = bool(_fits_under_the_analysis(batch, dataclasses.replace(
        shared, l1_bytes_per_pe=10**9), flow)[0])  # fmt: skip
    accepted = capacity_excess_bytes(batch, acc, flow)[0] == 0
    assert accepted == (each and l2_fits)
    if accepted:
        assert bool(_fits_under_the_analysis(batch, shared, flow)[0])
        assert analyse_mapping(batch, shared, flow)["l1_spill_words"][0] == 0


def test_l1_tensor_bytes_must_split_l1_exactly():
    """The optional field: three buffers of >= 1 B summing to ``l1_bytes_per_pe``, else a
    one-line SpecError naming the file and the field."""
    doc = yaml.safe_load(Path("hardware_db/data/accelerators/eyeriss-v1.yaml").read_text())
    for split, words in (([448, 24, 40], "must equal"), ([0, 24, 48], ">= 1"),
                         ([448, 72], "expected")):  # fmt: skip
        with pytest.raises(SpecError, match=f"x.yaml: l1_tensor_bytes.*{words}"):
            validate_accelerator({**doc, "l1_tensor_bytes": split}, source="x.yaml")
