"""The mapping space's row-stationary structures (``costmodel/mapper/rs_space.py``).

They are derived from a layer's filter rows R, output rows Y' and the PE count only; the tests
check the derivation rule on any accelerator, that every new point is a valid directive list the
analysis and the capacity check cost, that the exhaustive phase and :meth:`Space.count` cover
them, and — on Eyeriss v1's AlexNet, the chip whose published row-stationary mapping is the
silicon validation's — that the chip's mapping is a point of the space and that the search,
given no candidate, reaches at most its latency. Expectations are relations between costs the
same analysis computes, never pinned numbers.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path

import numpy as np
import pytest

from costmodel import silicon
from costmodel.batch import LayerBatch
from costmodel.mapper import Space, analyse_mapping, cache, rs_space, search_mappings
from costmodel.mapper import space as space_module
from costmodel.mapper.evaluate import bounds, overflow
from costmodel.mapper.search import written
from costmodel.mapper.space import FULL, canonical
from hardware_db.maestro_format import parse_directives
from tests.test_mapper import BIG, SMALL, TINY_SPACE, _brute_force
from workloads.layer import Layer

SILICON = Path(__file__).parent / "data" / "silicon" / "eyeriss_jssc2017_alexnet.csv"


@pytest.fixture(scope="module")
def alexnet():
    """(layer batch, accelerator, chip's Table III parameters, name) per AlexNet CONV layer, on
    the silicon validation's accelerators."""
    table = silicon.read_measurements(SILICON)
    accs = silicon.accelerators(table)
    return [(LayerBatch.from_layers([silicon.layer_of(row)]), acc, silicon.mapping_of(row),
             row.layer) for (_, row), acc in zip(table.iterrows(), accs, strict=True)]  # fmt: skip


def _bound(batch: LayerBatch) -> tuple[int, int, int, int]:
    return tuple(int(v) for v in bounds(batch)[0])  # type: ignore[return-value]


@pytest.mark.parametrize("pes", [168, 256, 4096])
@pytest.mark.parametrize(("rows", "out_rows"), [(3, 13), (5, 27), (11, 55), (7, 112), (3, 1)])
def test_row_sets_follow_the_rule_on_any_array(pes, rows, out_rows):
    """Every structure (t, r, e, R) has R = the layer's filter rows, e an even split of Y', and
    fills the array with PE sets (one level-0 unit); per set count the widest e only."""
    sets = rs_space.row_sets(pes, rows, out_rows)
    assert sets
    for t, r, e, rr in sets:
        assert rr == rows
        assert e == math.ceil(out_rows / math.ceil(out_rows / e))  # an even split of Y'
        assert pes // (t * r * e * rr) == 1  # every set used, one level-0 unit
    per_count: dict[int, int] = {}
    for t, r, e, _ in sets:
        per_count.setdefault(t * r, e)
        assert per_count[t * r] == e
    assert len(per_count) <= rs_space.WIDTHS
    assert rs_space.row_sets(pes, 1, out_rows) == []  # R = 1: no row-stationary structure


def test_pe_chunks_fill_the_buffers():
    p, q = rs_space.pe_chunks(3, (224, 12, 24))  # per-tensor buffers (words)
    assert q * 3 <= 12 and p * q * 3 <= 224 and p <= 24
    assert (q + 1) * 3 > 12 and (p + 1) * q * 3 > 224 or p == 24
    p, q = rs_space.pe_chunks(3, (260,))  # one shared L1
    assert p * q * 3 + q * 3 + p <= 260
    assert rs_space.pe_chunks(11, (5,)) == (1, 1)


def test_row_points_are_valid_costed_directive_lists():
    """Seeds and their neighbours (a random walk) write lists that parse back, and the analysis
    and the capacity check cost them, on a layer of another accelerator (xrbench-4k-A)."""
    layer = Layer("c", "CONV", 2, 64, 32, 30, 30, 3, 3, padding=(1, 1))
    batch = LayerBatch.from_layers([layer])
    space = Space.for_accelerator(BIG).for_layers(batch)
    assert space.row_sets and all(s[3] == 3 for s in space.row_sets)
    b = _bound(batch)
    rng = np.random.default_rng(3)
    points = [p for p in space.seeds() if p.inner == rs_space.ROWS]
    assert points
    for _ in range(6):
        p = points[int(rng.integers(len(points)))]
        for _ in range(3):
            moves = list(space.neighbours(p))
            assert all(q.inner == rs_space.ROWS for q in moves)
            p = moves[int(rng.integers(len(moves)))]
        points.append(p)
    for p in points:
        cp = canonical(p, b)
        if cp is None:
            continue
        flow = written(cp, b)
        assert parse_directives(str(flow)) == flow.directives
        assert math.prod(flow.cluster_sizes) <= BIG.num_pes
        r = analyse_mapping(batch, BIG, flow)
        assert r["latency_cycles"][0] > 0
        assert np.isfinite(overflow(batch, BIG, flow, r)[0])


def test_exhaustive_phase_and_count_cover_row_points():
    """On a small layer with R = 3 the space's count equals its enumeration (row-stationary
    points included) and the search returns the optimum of that enumeration."""
    layer = Layer("r3", "CONV", 1, 4, 4, 5, 5, 3, 3)
    batch = LayerBatch.from_layers([layer])
    space = dataclasses.replace(TINY_SPACE, row_pes=SMALL.num_pes, row_l1_words=(64,))
    bound = space.for_layers(batch)
    b = _bound(batch)
    points = bound.enumerate(b)
    assert bound.count(b) == len(points) <= 2048
    assert any(p.inner == rs_space.ROWS for p in points)
    cache.clear()
    found = search_mappings([layer], SMALL, "latency", space=space, use_cache=False)
    assert bool(found.frame.exhaustive[0])
    best = _brute_force(layer, SMALL, bound, "latency")
    assert found.frame.latency_cycles[0] == best
    cache.clear()


def test_the_chips_row_stationary_mapping_is_in_the_space(alexnet):
    """Per AlexNet layer: the chip's structure (t, r, e, R) is derived for it; the space's point
    with the chip's parameters writes a list that costs exactly the chip's mapping; with p, q
    and m on the space's grid (the chip's q = 3 of CONV4/5 is not) it is an enumerated point,
    and there it costs at most the chip's mapping."""
    for batch, acc, prm, name in alexnet:
        space = Space.for_accelerator(acc).for_layers(batch)
        b = _bound(batch)
        structure = (prm.t, prm.r, prm.e, int(batch.dims[0, 5]))
        assert structure in space.row_sets, name
        chip = int(analyse_mapping(batch, acc, acc.dataflow)["latency_cycles"][0])
        images = FULL if prm.n > 1 else 1
        exact = canonical(space.row_point(structure, "os", prm.m, prm.p, prm.q, images), b)
        assert exact is not None
        assert int(analyse_mapping(batch, acc, written(exact, b))["latency_cycles"][0]) == chip
        q = min(s for s in space.sizes if s >= prm.q)  # the chip's q, or the grid size above
        on_grid = canonical(space.row_point(structure, "os", prm.m, prm.p, q, images), b)
        assert on_grid is not None
        m, c_tile, _, _ = on_grid.tiles
        assert on_grid.clusters in space.row_sets and on_grid.order in space.orders
        assert m in space._domain(b[0]) and on_grid.chunks[0] in space._chunks(b[0])
        assert on_grid.chunks[1] in space._chunks(b[1])
        flow = written(on_grid, b)
        r = analyse_mapping(batch, acc, flow)
        assert overflow(batch, acc, flow, r)[0] == 0, name
        assert int(r["latency_cycles"][0]) <= chip, name


def test_search_alone_reaches_the_chips_latency(alexnet):
    """The issue's target, by the search alone (no candidates), at the default budget."""
    for batch, acc, _, name in alexnet:
        chip = int(analyse_mapping(batch, acc, acc.dataflow)["latency_cycles"][0])
        cache.clear()
        found = search_mappings(batch, acc, "latency", use_cache=False)
        assert bool(found.frame.feasible[0]), name
        assert found.frame.latency_cycles[0] <= chip, name
    cache.clear()


def test_nothing_accelerator_or_layer_specific_in_the_space_code():
    """The derivation reads the PE count, the PE buffers and the layers only: no chip or model
    name in the space modules (space.py's grid structures cite the XRBench presets, as before)."""
    for module in (rs_space, space_module):
        text = inspect.getsource(module).lower()
        assert "eyeriss" not in text and "alexnet" not in text
    assert "xrbench" not in inspect.getsource(rs_space).lower()


def test_row_points_cost_the_same_on_the_transposed_layer():
    """Orientation: a row-stationary list on a layer costs what its mirror costs on the
    transposed layer (the search maps wide layers transposed and mirrors the list back)."""
    from costmodel.mapper.evaluate import transpose
    from costmodel.mapper.space import mirror_dataflow

    layer = Layer("w", "CONV", 2, 24, 8, 12, 20, 3, 5, stride=(1, 2), padding=(1, 2))
    batch = LayerBatch.from_layers([layer])
    space = Space.for_accelerator(BIG).for_layers(batch)
    b = _bound(batch)
    flipped = transpose(batch, np.array([True]))
    seeds = space.row_seeds()
    assert seeds
    for p in seeds[:4]:
        flow = written(canonical(p, b) or p, b)
        one = analyse_mapping(batch, BIG, flow)
        other = analyse_mapping(flipped, BIG, mirror_dataflow(flow))
        assert one["latency_cycles"][0] == other["latency_cycles"][0]
        assert one["energy_pj"][0] == pytest.approx(other["energy_pj"][0], rel=1e-12)
