"""The engine's off-chip contention rule is applied layer by layer (issue 12j).

A layer's table latency overlaps its off-chip transfers with its own compute only, so under a
bandwidth share each layer takes ``max(latency, words x k / bandwidth)`` and a block the sum: the
contended latency of a job does not depend on how it is cut into blocks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scheduler_engine import SyBW
from test_scheduler_properties import Acc
from test_scheduler_properties import Model as M
from test_scheduler_properties import Scenario as Sc

from scheduler import simulate
from scheduler.costs import VariantCosts
from scheduler.policies.base import Dispatch, Policy


@st.composite
def layers(draw):
    n = draw(st.integers(1, 12))
    lat = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n))
    words = draw(st.lists(st.floats(0, 20_000), min_size=n, max_size=n))
    cut = draw(st.integers(0, n))
    return np.array(lat)[:, None], np.array(words)[:, None], cut


@settings(max_examples=200, deadline=None)
@given(case=layers(), cycles_per_word=st.floats(0.0, 8.0))
def test_contended_latency_is_cut_invariant_and_bounded(case, cycles_per_word):
    lat, words, cut = case
    v = VariantCosts("v", lat, np.ones_like(lat, dtype=float), offchip_words=words)
    n = len(lat)
    whole = v.contended_latency_cycles(0, n, cycles_per_word)[0]
    pieces = sum(
        v.contended_latency_cycles(s, e - s, cycles_per_word)[0]
        for s, e in ((0, cut), (cut, n))
        if e > s
    )
    assert whole == pytest.approx(pieces, rel=1e-12)
    # never below the old block rule, never below the contention-free latency
    assert whole >= max(lat.sum(), words.sum() * cycles_per_word) * (1 - 1e-12)
    if np.all(words[:, 0] * cycles_per_word <= lat[:, 0]):
        assert whole == pytest.approx(float(lat.sum()))


def test_without_offchip_words_the_contended_latency_is_the_latency():
    v = VariantCosts("v", np.array([[3, 5], [4, 6]]), np.ones((2, 2)))
    assert v.contended_latency_cycles(0, 2, 100.0).tolist() == [7.0, 11.0]


class _Cut(Policy):
    """Q on a1 for its whole run; P on a0, in blocks of ``n`` layers (``None``: the rest)."""

    name = "cut"

    def __init__(self, n: int | None) -> None:
        self.n = n

    def decide(self, state):
        out = []
        for j in sorted(state.ready, key=lambda j: j.model_id != "Q"):  # Q first: P sees it busy
            acc = 1 if j.model_id == "Q" else 0
            if acc in state.idle:
                out.append(Dispatch(j, acc, min(self.n or 99, j.remaining_layers)))
        return out


def _two_model_table() -> pd.DataFrame:
    # P: four 1 ms layers (1 GHz), the last one moves 1e6 words (1 ms at the full 1 word/cycle);
    # Q: one 10 ms layer, no off-chip traffic — it keeps a1 busy while P runs
    rows = [("P", i, a, 1_000_000, 1.0, 1e6 if i == 3 else 0.0) for i in range(4) for a in (0, 1)]
    rows += [("Q", 0, a, 10_000_000, 1.0, 0.0) for a in (0, 1)]
    cols = ["model", "layer_idx", "accelerator", "latency_cycles", "energy_nj", "offchip_words"]
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize("n", [None, 1, 3])
def test_a_bandwidth_bound_layer_pays_its_share_whatever_the_block_cut(n):
    sc = Sc("s", (M("P", 50.0), M("Q", 50.0)))
    sy = SyBW("sys", (Acc("a0"), Acc("a1")), 1)
    table = _two_model_table()
    run = simulate(sc, sy, _Cut(n), costs=table, horizon_ms=20.0, offchip_contention=True)
    p = run.frames.set_index("model").loc["P"]
    # three compute-bound layers (3 ms) + the last one at half the bandwidth (2 ms); the old
    # block rule charged one whole-model block max(4 ms, 2 ms) = 4 ms
    assert float(p["completion_ms"] - p["release_ms"]) == pytest.approx(5.0)
