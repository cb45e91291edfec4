"""The search's stopping rule and seeds (issue 16d): stalled layers leave the batch, a single
layer stops once it stalls, restricted seeds, the scalar objectives of the ranking.

As in ``tests/test_mapper.py``, no test pins the ``native`` analysis's numbers: each expectation
is a relation between costs the same analysis computes.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_mapper import BIG, SMALL, TINY_SPACE

from costmodel.batch import LayerBatch
from costmodel.mapper import OBJECTIVES, Space, analyse_mapping, cache, search
from costmodel.mapper.evaluate import bounds
from workloads.layer import Layer


def _layer(name="l", k=8, c=8, y=6, x=6, r=3, s=3) -> Layer:
    return Layer(name, "CONV", 1, k, c, y, x, r, s)


def _run(layers, *, budget, patience, space=TINY_SPACE):
    batch = LayerBatch.from_layers(layers)
    cache.clear()
    state = search.Incumbents(batch, SMALL, "edp", None, bounds(batch))
    search.run_search(state, space, budget=budget, exhaustive_limit=0, patience=patience)
    cache.clear()
    return state


def test_scalar_objectives_agree_with_the_array_objectives():
    rng = np.random.default_rng(3)
    result = {"latency_cycles": rng.integers(1, 10**9, 50),
              "energy_pj": rng.uniform(1, 1e9, 50)}  # fmt: skip
    result["energy_nj"] = result["energy_pj"] / 1e3
    assert search._SCALAR_OBJECTIVES.keys() == OBJECTIVES.keys()
    for name, scalar in search._SCALAR_OBJECTIVES.items():
        want = OBJECTIVES[name](result)
        rows = zip(result["latency_cycles"], result["energy_pj"], result["energy_nj"], strict=True)
        got = [scalar(float(a), float(b), float(c)) for a, b, c in rows]
        assert np.allclose(got, want, rtol=1e-12)


def test_a_stalled_single_layer_stops_before_the_budget():
    """Without patience the restarts spend the whole budget on one layer; with it the search
    stops once no incumbent has improved for ``patience * budget`` calls."""
    layer = _layer()
    endless = _run([layer], budget=300, patience=None)
    patient = _run([layer], budget=300, patience=0.1)
    seeds = len(TINY_SPACE.seeds())
    assert endless.calls == seeds + 300
    assert patient.calls < endless.calls
    # it stopped because of the stall: the last improvement is at least 30 calls back
    assert patient.calls - patient.improved_at[0] >= 30


def test_patience_never_stops_an_improving_layer_and_scales_with_the_budget():
    """A larger budget waits proportionally longer, so (the trajectory being the same until the
    shorter run stops) it is never worse."""
    layer = _layer(k=4, c=16, y=6, x=6)
    short = _run([layer], budget=100, patience=0.1)
    long = _run([layer], budget=1000, patience=0.1)
    assert long.calls >= short.calls
    assert long.value[0] <= short.value[0]


def test_stalled_layers_leave_the_batch():
    """``drop_stalled``: once a layer has stalled, later candidates are no longer costed on it
    (a measured variant, not the default)."""
    layers = [_layer("a", k=8, c=8, y=3, x=3, r=1, s=1), _layer("b", k=4, c=16, y=6, x=6),
              _layer("c", k=2, c=2, y=5, x=5, r=1, s=1)]  # fmt: skip
    batch = LayerBatch.from_layers(layers)
    cache.clear()
    state = search.Incumbents(batch, SMALL, "edp", None, bounds(batch))
    asked: list[tuple] = []
    cost = state.cost

    def spy(point, rows, *, exact=False):
        asked.append(tuple(rows))
        cost(point, rows, exact=exact)

    state.cost = spy  # type: ignore[method-assign]
    search.run_search(
        state, TINY_SPACE, budget=200, exhaustive_limit=0, patience=0.05, drop_stalled=True
    )
    cache.clear()
    assert any(len(rows) < 3 for rows in asked)  # some layer left before the end


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


@pytest.mark.parametrize("patience", [None, 0.25])
def test_local_search_never_loses_to_its_own_seeds(patience):
    layer = _layer()
    state = _run([layer], budget=50, patience=patience)
    batch = LayerBatch.from_layers([layer])
    seeds = [float(OBJECTIVES["edp"](analyse_mapping(batch, SMALL, p.dataflow()))[0])
             for p in TINY_SPACE.seeds()]  # fmt: skip
    assert state.value[0] <= min(seeds) * (1 + 1e-12)


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
