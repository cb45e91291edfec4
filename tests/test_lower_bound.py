"""The engine's best case is the exact contention-free minimum over per-layer placements (12o).

Before 12o the best case was the rest of a job alone on its fastest accelerator, which is not a
lower bound when accelerators differ: a frame that could meet its deadline by running each layer
where it is fastest was dropped as hopeless.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_mechanics import AccE, Energy, SysBW
from test_scheduler_properties import Model, Scenario

from scheduler import simulate
from scheduler.costs import CostArrays, ModelCosts, VariantCosts
from scheduler.lower_bound import remaining_lower_bound_ms, suffix_best_ms
from scheduler.mechanics import FrameMechanics
from scheduler.policies.base import Dispatch, Policy

MS = 1_000_000  # cycles per ms at 1 GHz


def _brute_force_ms(lat: np.ndarray, move_in: np.ndarray, start: int, last: int) -> float:
    """The least time over every assignment of layers ``start..`` to accelerators."""
    n_layers, n_acc = lat.shape
    best = np.inf
    for path in itertools.product(range(n_acc), repeat=n_layers - start):
        prev, t = last, 0.0
        for layer, a in zip(range(start, n_layers), path, strict=True):
            if prev >= 0 and a != prev:
                t += move_in[layer, a]
            t += lat[layer, a]
            prev = a
        best = min(best, t)
    return 0.0 if start >= n_layers else float(best)


#: Hypothesis strategies of a random (layers x accelerators) latency and move-in table.
TABLES = {
    "n_layers": st.integers(1, 6),
    "n_acc": st.integers(1, 3),
    "seed": st.integers(0, 2**31),
    "move_scale": st.sampled_from([0.0, 0.1, 1.0, 10.0]),
    "data": st.data(),
}


def random_tables(n_layers, n_acc, seed, move_scale) -> tuple[np.ndarray, np.ndarray]:
    """A latency table (ms) and a move-in table (ms) drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(0.1, 10.0, size=(n_layers, n_acc))
    return lat, move_scale * rng.uniform(0.0, 1.0, size=(n_layers, n_acc))


@settings(max_examples=200, deadline=None)
@given(**TABLES)
def test_best_case_is_the_brute_force_minimum_and_never_above_the_single_accelerator_one(
    n_layers, n_acc, seed, move_scale, data
):
    lat, move_in = random_tables(n_layers, n_acc, seed, move_scale)
    start = data.draw(st.integers(0, n_layers))
    last = data.draw(st.integers(-1, n_acc - 1))
    table = suffix_best_ms(lat, move_in)
    got = remaining_lower_bound_ms(table, move_in, start, last)
    assert np.isclose(got, _brute_force_ms(lat, move_in, start, last))
    # the old best case: the whole rest on one accelerator, after moving there
    whole = lat[start:].sum(axis=0)
    if start < n_layers and last >= 0:
        into = move_in[start].copy()
        into[last] = 0.0
        whole = whole + into
    assert got <= float(whole.min()) + 1e-9


class FastestLayer(Policy):
    """One layer at a time, each on the accelerator where it is fastest, when that one is idle."""

    name = "fastest_layer"

    def decide(self, state):
        out = []
        for j in state.ready:
            a = int(np.argmin(j.costs.latency_cycles[j.next_layer]))
            if a in state.idle and all(d.accelerator != a for d in out):
                out.append(Dispatch(j, a, 1))
        return out


def test_a_frame_that_meets_its_deadline_only_when_split_is_not_dropped():
    """X: layer 0 takes 1 ms on a0 and 10 ms on a1, layer 1 the reverse; its period is 5 ms. On
    one accelerator it needs 11 ms (the old best case: dropped at release); split it needs
    2 ms plus 0.5 ms to move its activation, and a policy that splits meets every deadline."""
    lat = np.array([[1, 10], [10, 1]]) * MS
    words = np.array([0.0, 50.0]) * MS  # 0.5 ms at 100 words per cycle
    variant = VariantCosts("X", lat, np.ones((2, 2)), 1.0, None, words)
    costs = CostArrays((ModelCosts("X", (variant,)),), ("a0", "a1"), np.full(2, 1e9))
    scenario = Scenario("s", (Model("X", 200.0),))
    system = SysBW("s", (AccE("a0", Energy(100.0)), AccE("a1", Energy(100.0))), 100)
    mech = FrameMechanics(drop_delta=1.0, feasible_placement=True, migration=True)
    r = simulate(scenario, system, FastestLayer(), costs=costs, horizon_ms=50.0, mechanics=mech)
    assert (r.frames.status == "on_time").all(), r.frames.status.value_counts()
    assert len(r.frames) == 10
    done = r.frames.completion_ms - r.frames.release_ms
    assert np.allclose(done, 2.5)  # 1 ms, the 0.5 ms move, 1 ms: migration charged
