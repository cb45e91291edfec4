"""The search (issue 16, m16a): best-first over structures with per-layer coordinate line
searches over tiles; stopping rule, sharing, seeds, and the one-list-per-call fallback.

As in ``tests/test_mapper.py``, no test pins the ``native`` analysis's numbers: each expectation
is a relation between costs the same analysis computes.
"""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
from test_mapper import BIG, SMALL, TINY_SPACE

from costmodel.batch import LayerBatch
from costmodel.mapper import OBJECTIVES, Space, analyse_mapping, search
from costmodel.mapper.evaluate import bounds
from costmodel.mapper.moves import _distinct_by_column, distinct, transplant_rows
from costmodel.mapper.search import written
from costmodel.mapper.space import FULL, TILE_DIMS
from costmodel.mapper.tiles import canonical_rows, params_of, structure_of, template, with_params
from workloads.layer import Layer


def _layer(name="l", k=8, c=8, y=6, x=6, r=3, s=3) -> Layer:
    return Layer(name, "CONV", 1, k, c, y, x, r, s)


def _run(layers, *, budget, patience=search.PATIENCE, space=TINY_SPACE, **keywords):
    batch = LayerBatch.from_layers(layers)
    state = search.Search(batch, SMALL, "edp", None, space)
    search.run_search(state, budget=budget, exhaustive_limit=0, patience=patience, **keywords)
    return state


def _edp(layer: Layer, point, acc=SMALL) -> float:
    batch = LayerBatch.from_layers([layer])
    b = tuple(int(v) for v in bounds(batch)[0])
    return float(OBJECTIVES["edp"](analyse_mapping(batch, acc, written(point, b)))[0])


@pytest.mark.parametrize("patience", [None, 0.25])
def test_the_search_never_loses_to_its_own_seeds(patience):
    layer = _layer()
    state = _run([layer], budget=20, patience=patience)
    seeds = [_edp(layer, p) for p in TINY_SPACE.seeds()]
    assert state.best[0][2] <= min(seeds) * (1 + 1e-12)


def test_the_reported_value_is_the_cost_of_the_point_found():
    layers = [_layer("a", k=16, c=8, y=7, x=5), _layer("b", k=4, c=16, y=6, x=6, r=1, s=1)]
    state = _run(layers, budget=10)
    for r, layer in enumerate(layers):
        assert state.best[r][2] == _edp(layer, state.point[r])


def test_a_stalled_layer_stops_and_a_larger_budget_waits_longer():
    """Patience counts the layer's own expansions since its last improvement; it scales with
    the budget, so the longer search follows the same trajectory further (never worse)."""
    layer = _layer(k=16, c=16, y=10, x=10)
    short = _run([layer], budget=8, patience=0.25)
    long = _run([layer], budget=200, patience=0.25)
    assert short.expansions[0] <= 8
    assert long.expansions[0] >= short.expansions[0]
    assert long.best[0] <= short.best[0]
    stalled = long.expansions[0] - long.improved_at[0]
    assert long.expansions[0] == 200 or stalled >= 50 or long.pick(0) is None


def test_closed_nodes_spawn_their_structure_neighbours():
    layer = _layer(k=16, c=16, y=10, x=10)
    state = _run([layer], budget=40, patience=None)
    seeds = {structure_of(p) for p in search.useful_seeds(TINY_SPACE, state.bounds)}
    assert state.structures(0) > seeds  # structures beyond the seeds were visited
    assert any(not node.open for node in state.nodes[0].values())


@pytest.mark.parametrize("share", [True, False])
def test_sharing_gives_other_layers_a_node_of_every_called_structure(share):
    layers = [_layer("a", k=8, c=8, y=3, x=3), _layer("b", k=4, c=16, y=6, x=6),
              _layer("c", k=2, c=2, y=5, x=5, r=1, s=1)]  # fmt: skip
    state = _run(layers, budget=6, patience=None, share=share)
    known = [state.structures(r) for r in range(len(layers))]
    common = known[0] & known[1] & known[2]
    if share:
        assert len(common) > len(search.useful_seeds(TINY_SPACE, state.bounds))
    else:
        assert any(k != known[0] for k in known[1:])


def test_one_list_per_call_finds_the_same_mappings_as_per_row_tiles():
    """The fallback for analysis paths without per-row tiles costs each distinct list in its own
    call: same costs, so the same search, with more calls."""
    layers = [_layer("a", k=8, c=8, y=3, x=3), _layer("b", k=4, c=16, y=6, x=6)]
    batch = LayerBatch.from_layers(layers)
    runs = []
    for batched in (True, False):
        state = search.Search(batch, SMALL, "edp", None, TINY_SPACE)
        state._batched = batched
        search.run_search(state, budget=6, exhaustive_limit=0)
        runs.append(state)
    assert runs[0].point == runs[1].point
    assert runs[0].best == runs[1].best
    assert runs[0].calls < runs[1].calls


def test_planes_never_do_worse_than_lines_from_the_same_node():
    """A plane holds the lines through its center, so one expansion by planes reaches at least
    what lines reach (checked on the seeds' first expansion)."""
    layer = _layer(k=32, c=16, y=12, x=12)
    batch = LayerBatch.from_layers([layer])
    values = []
    for how in ("lines", "planes"):
        state = search.Search(batch, SMALL, "edp", None, TINY_SPACE, neighbourhood=how)
        search.run_search(state, budget=0, exhaustive_limit=0)
        values.append(state.best[0])
    assert values[1] <= values[0]


def test_restricted_seeds_keep_every_structure():
    space = Space.for_accelerator(BIG, seed_spatial0=("K",))
    full = Space.for_accelerator(BIG, seed_spatial0=None)
    seeds = space.seeds()
    assert {p.spatial0 for p in seeds} == {"K"}
    assert len(seeds) * len(full.spatial0) == len(full.seeds())
    assert {(p.clusters, p.spatial) for p in seeds} == {
        (p.clusters, p.spatial) for p in full.seeds()
    }
    assert space.key() != full.key()


def test_seeds_spread_only_over_dims_some_layer_has():
    """A fully connected layer (Y' = X' = 1) gets no seed spreading a level over Y' or X'; a
    batch holding a layer with those dims keeps every seed."""
    space = Space.for_accelerator(BIG)
    fc = LayerBatch.from_layers([Layer("fc", "CONV", 1, 512, 256, 1, 1, 1, 1)])
    conv = LayerBatch.from_layers([_layer(k=16, c=16, y=14, x=14)])
    kept = search.useful_seeds(space, bounds(fc))
    assert kept and len(kept) < len(space.seeds())
    assert not any({"Y'", "X'", "YR"} & {p.spatial0, *p.spatial} for p in kept)
    assert search.useful_seeds(space, np.vstack([bounds(fc), bounds(conv)])) == space.seeds()


def test_transplant_rows_move_tiles_as_transplant_does():
    """The vectorised move of many points to a structure gives, after canonical_rows, the
    canonical point :func:`transplant` gives (or prunes the same rows)."""
    space = Space.for_accelerator(BIG)
    bound = (24, 40, 7, 9)
    b = np.array([bound])
    points = [with_params(s, (4, 8, FULL, 2, 16, 1, 1)) for s in space.seeds()]
    for target in {structure_of(p) for p in space.seeds()}:
        params = np.array([params_of(p) for p in points])
        s0 = np.array([TILE_DIMS.index(p.spatial0) for p in points])
        chunked = np.array([len(p.chunks) for p in points])
        moved = transplant_rows(params, s0, chunked, target)
        rows, valid = canonical_rows(moved, np.repeat(b, len(points), 0), template(target))
        for p, row, ok in zip(points, rows, valid, strict=True):
            one = search.transplant(p, target, bound)
            assert ok == (one is not None)
            if ok:
                tpl = template(target)
                want, _ = canonical_rows(np.array([params_of(one)]), b, tpl)
                assert tuple(row) == tuple(want[0])


def test_shared_structures_are_offered_at_the_callers_tilings():
    """A structure shared with a layer is offered at the layer's own best moved over and at up
    to ``share_tiles`` distinct tilings of its callers, each canonical for that layer."""
    layers = [_layer("a", k=16, c=8, y=6, x=6), _layer("b", k=32, c=16, y=12, x=12)]
    state = _run(layers, budget=0, patience=None)
    target = structure_of(TINY_SPACE.seeds()[-1])
    tpl = template(target)
    centers = np.array([(1, FULL, 4, 2, 4, 1, 1), (1, FULL, 8, 4, 1, 1, 1),
                        (1, FULL, 8, 4, 1, 1, 1), (1, FULL, 16, FULL, FULL, 1, 1)])  # fmt: skip
    for tiles in (0, 1, 8):
        state.share_tiles = tiles
        owner, rows = state.shared_rows(target, [0], centers)
        assert set(owner.tolist()) == {0}
        offered = {tuple(r) for r in rows.tolist()}
        want, valid = canonical_rows(centers, np.repeat(state.bounds[:1], 4, 0), tpl)
        callers = [tuple(w) for w, ok in zip(want.tolist(), valid, strict=True) if ok]
        own = search.transplant(state.point[0], target, state.bound(0))
        mine = canonical_rows(np.array([params_of(own)]), state.bounds[:1], tpl)[0][0]
        assert tuple(mine.tolist()) in offered
        picked = [c for c in callers if c in offered]
        assert len(set(picked)) >= min(tiles, len(set(callers))) - (tuple(mine) in callers)
        assert len(offered) <= 1 + tiles
        if tiles >= 1:  # the most common caller tiling comes first
            assert tuple(want[1].tolist()) in offered


def test_distinct_rows_match_the_whole_row_unique():
    rng = np.random.default_rng(3)
    owner = rng.integers(0, 5, 400)
    params = rng.choice([1, 2, 4, 8, FULL], size=(400, 7))
    fast = distinct(owner, params)
    slow = _distinct_by_column(owner, params)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert len(fast[0]) == len({(o, *p) for o, p in zip(owner, params.tolist(), strict=True)})
    # owners so large that one code per row would overflow int64: the whole-row path, exact
    big = owner * 10**15
    got = distinct(big, params)
    assert np.array_equal(got[0], slow[0] * 10**15) and np.array_equal(got[1], slow[1])


def test_points_hash_by_their_fields_after_pickling():
    p = Space.for_accelerator(BIG).seeds()[0]
    q = pickle.loads(pickle.dumps(p))
    assert q == p and hash(q) == hash(p) == hash(replace(p))
    assert hash(replace(p, spatial0_size=2)) != hash(p) or replace(p, spatial0_size=2) != p


def test_stopped_layers_still_take_shared_structures_when_asked():
    """With ``share_stopped`` a layer that stopped (here by patience) is still offered every
    structure called for the others, so it ends up holding more structures."""
    layers = [_layer("a", k=2, c=2, y=3, x=3, r=1, s=1), _layer("b", k=64, c=32, y=28, x=28),
              _layer("c", k=16, c=64, y=14, x=14)]  # fmt: skip
    space = Space.for_accelerator(SMALL)
    held = []
    for stopped in (False, True):
        state = _run(layers, budget=60, patience=0.1, share_stopped=stopped, space=space)
        held.append([len(state.structures(r)) for r in range(len(layers))])
    assert all(b >= a for a, b in zip(*held, strict=True)) and held[1] != held[0]
