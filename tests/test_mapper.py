"""The mapper: exhaustive optimum on small spaces, presets never better, orientation invariance,
found mappings re-cost to what was reported, capacity-violating mappings never returned.

No test pins the ``native`` analysis's numbers: every expectation is a relation between costs the
same analysis computes (so the tests stay valid when the analysis is corrected).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costmodel.batch import LayerBatch
from costmodel.mapper import OBJECTIVES, Space, analyse_mapping, cache, search_mappings
from costmodel.mapper.capacity import capacity_excess_bytes, working_set_words
from costmodel.mapper.evaluate import bounds, feasible, transpose
from costmodel.mapper.search import written
from costmodel.mapper.space import FULL, Point, canonical, mirror_dataflow
from costmodel.native import analyse_native
from hardware_db.dataflow import PRESETS, Dataflow
from hardware_db.library import get_accelerator
from hardware_db.maestro_format import parse_directives
from rtmm.errors import CostModelError, RtmmError
from workloads.layer import Layer

BIG = get_accelerator("xrbench-4k-A/0")
SMALL = dataclasses.replace(BIG, name="small", num_pes=16, array_shape=(4, 4))
TINY_SPACE = Space(
    structures=((4,), (2, 2)),
    sizes=(1, 2, FULL),
    orders=("ws", "os"),
    spatial0=("K", "Y'"),
    spatial1=("C", "X'", "YR"),
    inner=("tile",),
)
EXH_SPACE = dataclasses.replace(TINY_SPACE, sizes=(1, FULL), orders=("ws",))


def _layer(name="l", k=4, c=4, y=4, x=4, r=1, s=1, op="CONV") -> Layer:
    return Layer(name, op, 1, k, c, y, x, r, s)


def _brute_force(layer: Layer, acc, space: Space, objective: str) -> float:
    """The optimum by costing every canonical point on its own (independent of the search)."""
    batch = LayerBatch.from_layers([layer])
    best_ok, best_any = np.inf, np.inf
    b = tuple(int(v) for v in bounds(batch)[0])
    for p in space.enumerate(b):
        flow = written(p, b, "exhaustive")
        r = analyse_mapping(batch, acc, flow)
        value = float(OBJECTIVES[objective](r)[0])
        best_any = min(best_any, value)
        if feasible(batch, acc, flow, r)[0]:
            best_ok = min(best_ok, value)
    return best_ok if np.isfinite(best_ok) else best_any


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_small_space_is_searched_exhaustively_and_returns_the_optimum(objective):
    layer = _layer(k=4, c=2, y=4, x=3, r=2, s=1)
    assert EXH_SPACE.count((4, 4, 3, 3)) <= 256
    found = search_mappings([layer], SMALL, objective, space=EXH_SPACE, use_cache=False)
    assert bool(found.frame.exhaustive[0])
    value = float(OBJECTIVES[objective](found.results)[0])
    assert value == pytest.approx(_brute_force(layer, SMALL, EXH_SPACE, objective), rel=1e-12)


def test_local_search_never_loses_to_its_own_seeds():
    layer = _layer(k=8, c=8, y=6, x=6, r=3, s=3)
    batch = LayerBatch.from_layers([layer])
    found = search_mappings([layer], SMALL, "edp", space=TINY_SPACE, exhaustive_limit=0,
                            use_cache=False)  # fmt: skip
    assert not bool(found.frame.exhaustive[0])
    seeds = [float(OBJECTIVES["edp"](analyse_mapping(batch, SMALL, p.dataflow()))[0])
             for p in TINY_SPACE.seeds()]  # fmt: skip
    assert found.frame.edp[0] <= min(seeds) * (1 + 1e-12)


def _zoo_sample():
    from workloads import zoo

    layers = list(zoo.load("KD_res8_narrow").layers) + list(zoo.load("ES_RITNet").layers)[:12]
    return LayerBatch.from_layers(layers)


def test_mapper_is_never_worse_than_the_best_preset_on_zoo_layers():
    batch = _zoo_sample()
    found = search_mappings(batch, BIG, "edp", use_cache=False)
    presets = np.stack(
        [OBJECTIVES["edp"](analyse_mapping(batch, BIG, p)) for p in PRESETS.values()]
    )
    share = np.mean(found.frame.edp.to_numpy() <= presets.min(axis=0) * (1 + 1e-9))
    assert share >= 0.95


def test_gemm_orientation_does_not_change_the_best_cost():
    rows = Layer("rows", "CONV", 1, 256, 256, 128, 1, 1, 1)
    cols = Layer("cols", "CONV", 1, 256, 256, 1, 128, 1, 1)
    ws = [analyse_mapping(LayerBatch.from_layers([x]), BIG, PRESETS["WS"]) for x in (rows, cols)]
    assert ws[0]["latency_cycles"][0] != ws[1]["latency_cycles"][0]  # the preset does care
    found = search_mappings([rows, cols], BIG, "latency", use_cache=False)
    lat = found.frame.latency_cycles.to_numpy()
    assert lat[0] == lat[1]
    assert found.frame.energy_nj[0] == pytest.approx(found.frame.energy_nj[1], rel=1e-12)


def test_found_directive_list_recosts_to_the_reported_cost():
    batch = _zoo_sample()
    found = search_mappings(batch, BIG, "edp")
    for i in range(0, len(batch), 5):
        flow = Dataflow("reloaded", parse_directives(found.frame.directives[i]))
        again = analyse_native(batch.take([i]), dataclasses.replace(BIG, dataflow=flow))
        assert again["latency_cycles"][0] == found.frame.latency_cycles[i]
        assert again["energy_pj"][0] / 1e3 == pytest.approx(found.frame.energy_nj[i], rel=1e-12)


def test_capacity_violating_mappings_are_never_returned():
    tight = dataclasses.replace(SMALL, l1_bytes_per_pe=24)
    layer = _layer(k=4, c=4, y=6, x=6, r=3, s=3)
    batch = LayerBatch.from_layers([layer])
    b = tuple(int(v) for v in bounds(batch)[0])
    points = EXH_SPACE.enumerate(b)
    flows = [written(p, b, "w") for p in points]
    ok = [bool(feasible(batch, tight, f, analyse_mapping(batch, tight, f))[0]) for f in flows[::5]]
    assert any(ok) and not all(ok)  # the check really prunes here
    costed = [(f, analyse_mapping(batch, tight, f)) for f in flows]
    best_fit = min(float(r["latency_cycles"][0]) for f, r in costed
                   if feasible(batch, tight, f, r)[0])  # fmt: skip
    for limit in (0, 10**6):
        found = search_mappings([layer], tight, "latency", space=EXH_SPACE, use_cache=False,
                                exhaustive_limit=limit)  # fmt: skip
        assert bool(found.frame.feasible[0])
        assert capacity_excess_bytes(batch, tight, found.dataflows[0])[0] == 0
        assert found.results["l1_spill_words"][0] == 0
    assert found.frame.latency_cycles[0] == best_fit  # exhaustive: the best mapping that fits


def test_working_set_is_the_true_window_of_each_tile():
    """Golden numbers by hand: K=8, C=4, 10x10 input, 3x3 filter, stride 2 -> 4x4 outputs."""
    layer = Layer("w", "CONV", 1, 8, 4, 10, 10, 3, 3, stride=(2, 2), padding=(0, 0))
    batch = LayerBatch.from_layers([layer])
    flow = Dataflow("t", parse_directives(
        "TemporalMap(2,2) K; SpatialMap(1,1) C; TemporalMap(2,2) Y'; TemporalMap(4,4) X'; "
        "Cluster(4); SpatialMap(1,1) X'"))  # fmt: skip
    pe, chip = working_set_words(batch, SMALL, flow)
    # PE: K 2, C 1, Y' 2 -> rows (2-1)*2+3 = 5, X' 1 -> cols 3: weights 2*1*9, inputs 1*5*3,
    # outputs 2*2*1.
    assert pe[0] == 18 + 15 + 4
    # chip (16 PEs / 4 = 4 units, C spread over (4-1)*1+1 = 4): weights 2*4*9, inputs
    # 4*5*(3*2+3)=180, outputs 2*2*4.
    assert chip[0] == 72 + 180 + 16


def test_cache_never_searches_the_same_layer_twice():
    cache.clear()
    layers = [_layer("a", k=8), _layer("b", k=8), _layer("c", k=16)]
    quick = {"space": TINY_SPACE, "exhaustive_limit": 0}  # the local search: a fast test
    first = search_mappings(layers, SMALL, "edp", **quick)
    assert first.searched_layers == 2  # a and b are the same shape
    again = search_mappings(layers[::-1], SMALL, "edp", **quick)
    assert again.searched_layers == 0 and again.calls == 0
    assert again.frame.directives.tolist() == first.frame.directives.tolist()[::-1]
    other = search_mappings(layers, SMALL, "latency", **quick)
    assert other.searched_layers == 2  # the objective is part of the key


def test_objectives_rank_their_own_quantity_first():
    layer = _layer(k=8, c=4, y=5, x=5, r=2, s=2)
    by = {o: search_mappings([layer], SMALL, o, space=TINY_SPACE, use_cache=False).frame
          for o in OBJECTIVES}  # fmt: skip
    assert by["latency"].latency_cycles[0] <= by["energy"].latency_cycles[0]
    assert by["energy"].energy_nj[0] <= by["latency"].energy_nj[0] * (1 + 1e-12)
    assert by["edp"].edp[0] <= min(by["latency"].edp[0], by["energy"].edp[0]) * (1 + 1e-12)


def test_unknown_objective_is_a_one_line_error():
    with pytest.raises(CostModelError, match="objective.*allowed: latency, energy, edp"):
        search_mappings([_layer()], SMALL, "throughput")
    assert issubclass(CostModelError, RtmmError)


_dims = st.integers(1, 9)
_PROPERTY_SPACE = Space(structures=((4,), (2, 2)), sizes=(1, 2, 4, 8, FULL))
_ALL_POINTS = _PROPERTY_SPACE.enumerate((FULL,) * 4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(k=_dims, c=_dims, y=st.integers(1, 9), x=st.integers(1, 9), r=st.integers(1, 3),
       pick=st.integers(0, 10**6))  # fmt: skip
def test_the_analysis_is_mirror_symmetric(k, c, y, x, r, pick):
    """What orientation invariance rests on: a transposed layer under the mirrored directive
    list costs the same."""
    layer = Layer("l", "CONV", 1, k, c, max(y, r), max(x, 1), r, 1)
    batch = LayerBatch.from_layers([layer])
    b = tuple(int(v) for v in bounds(batch)[0])
    p = _ALL_POINTS[pick % len(_ALL_POINTS)]
    cp = canonical(p, b)
    assume(cp is not None)
    flow = written(cp, b)
    one = analyse_mapping(batch, SMALL, flow)
    other = analyse_mapping(transpose(batch, np.array([True])), SMALL, mirror_dataflow(flow))
    assert one["latency_cycles"][0] == other["latency_cycles"][0]
    assert one["energy_pj"][0] == pytest.approx(other["energy_pj"][0], rel=1e-12)


def test_point_dataflows_are_valid_directive_lists():
    space = Space.for_accelerator(BIG)
    assert space.structures == ((256,), (16,), (64, 4), (16, 16), (4, 16), (16, 4))
    for p in space.seeds()[::9]:
        flow = p.dataflow()
        assert parse_directives(str(flow)) == flow.directives
        assert isinstance(p, Point)
    assert space.count((3, 3, 3, 3)) == len(space.enumerate((3, 3, 3, 3)))


def test_unmapped_batch_is_one_image_per_tile_as_the_analysis_reads_it():
    """A list without an N map runs the images one after the other (the loop nest prepends
    T(1) N), so the working sets hold one image; a written N map keeps its tile in L2, while a
    PE still takes the images of its step one at a time (the analysis's ``l1_held``)."""
    flow = Dataflow("t", parse_directives(
        "TemporalMap(2,2) K; SpatialMap(1,1) C; TemporalMap(2,2) Y'; TemporalMap(4,4) X'; "
        "Cluster(4); SpatialMap(1,1) X'"))  # fmt: skip
    one = LayerBatch.from_layers([Layer("w", "CONV", 1, 8, 4, 10, 10, 3, 3, stride=(2, 2))])
    four = LayerBatch.from_layers([Layer("w", "CONV", 4, 8, 4, 10, 10, 3, 3, stride=(2, 2))])
    assert [int(v[0]) for v in working_set_words(four, SMALL, flow)] == [
        int(v[0]) for v in working_set_words(one, SMALL, flow)
    ]
    with_n = Dataflow("n", (*parse_directives("TemporalMap(4,4) N"), *flow.directives))
    pe4, chip4 = working_set_words(four, SMALL, with_n)
    assert pe4[0] == 18 + 15 + 4  # one image at a time in a PE
    assert chip4[0] == 72 + 4 * (180 + 16)  # weights once, inputs and outputs per image


def test_a_published_mapping_competes_and_is_returned_when_it_ranks_first():
    """``candidates``: the row-stationary mapping of Eyeriss v1 (outside the space: four
    cluster levels) is returned on the layer where it fits and beats the search, under the same
    analysis and capacity check; an infeasible or worse candidate never replaces the search's."""
    from costmodel import silicon

    table = silicon.read_measurements("tests/data/silicon/eyeriss_jssc2017_alexnet.csv")
    row = table.iloc[3]  # CONV4: the chip's mapping fits 520 B per PE and the 108 KiB buffer
    acc = silicon.accelerators(table)[3]
    layer = silicon.layer_of(row)
    batch = LayerBatch.from_layers([layer])
    rs = acc.dataflow
    r = analyse_mapping(batch, acc, rs)
    assert feasible(batch, acc, rs, r)[0]
    plain = search_mappings([layer], acc, "latency", use_cache=False)
    seeded = search_mappings([layer], acc, "latency", use_cache=False, candidates=[[rs]])
    best = min(plain.frame.latency_cycles[0], r["latency_cycles"][0])
    assert seeded.frame.latency_cycles[0] == best
    assert (seeded.dataflows[0] == rs) == (r["latency_cycles"][0] < plain.frame.latency_cycles[0])
    assert bool(seeded.frame.feasible[0])
    tight = dataclasses.replace(acc, l1_bytes_per_pe=64)  # now the chip's mapping overflows L1
    rt = analyse_mapping(batch, tight, rs)
    assert not feasible(batch, tight, rs, rt)[0]
    again = search_mappings([layer], tight, "latency", use_cache=False, candidates=[[rs]])
    assert again.dataflows[0] != rs or not again.frame.feasible[0]
    with pytest.raises(ValueError):
        search_mappings([layer], acc, "latency", candidates=[[rs], [rs]])
