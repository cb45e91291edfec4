"""The exact contention-free minimum of a job's remaining time over per-layer placements.

On a system whose accelerators differ, the rest of a job alone on its fastest accelerator is not
the least time it can take: each layer may run where it is fastest, at the price of moving its
input activation when the accelerator changes. The engine's hopeless drop and placement test
need a true lower bound (a frame that could still meet its deadline must never be dropped), so
this module computes the shortest path over layer x accelerator assignments, migration latency
included, as a suffix dynamic programme over the layers (``O(layers x accelerators^2)``, once per
cost variant and run).
"""

from __future__ import annotations

import numpy as np


def suffix_best_ms(latency_ms: np.ndarray, move_in_ms: np.ndarray) -> np.ndarray:
    """``best[l, a]``: the least time (ms) to run layers ``l..`` when layer ``l`` runs on ``a``.

    ``latency_ms`` is (layers x accelerators); ``move_in_ms[l, a]`` the migration latency of
    running layer ``l`` on ``a`` after the previous layer ran elsewhere (0 when migration is
    free). Row ``layers`` is 0. Each step takes, for layer ``l`` on ``a``, the cheaper of staying
    on ``a`` for layer ``l + 1`` and moving to the best other accelerator.
    """
    n_layers, n_acc = latency_ms.shape
    best = np.zeros((n_layers + 1, n_acc))
    others = ~np.eye(n_acc, dtype=bool)
    for layer in range(n_layers - 1, -1, -1):
        nxt = best[layer + 1]
        if layer + 1 < n_layers and n_acc > 1:
            moved = move_in_ms[layer + 1] + nxt  # continue on c after moving there
            switch = np.where(others, moved[None, :], np.inf).min(axis=1)
            follow = np.minimum(nxt, switch)
        else:
            follow = nxt
        best[layer] = latency_ms[layer] + follow
    return best


def remaining_lower_bound_ms(
    best: np.ndarray, move_in_ms: np.ndarray, next_layer: int, last_accelerator: int
) -> float:
    """The least time (ms) a job needs for its layers ``next_layer..``, its previous block having
    run on ``last_accelerator`` (``-1``: not started; no move is charged for the first block)."""
    if next_layer >= best.shape[0] - 1:
        return 0.0
    row = best[next_layer]
    if last_accelerator < 0:
        return float(row.min())
    into = move_in_ms[next_layer].copy()
    into[last_accelerator] = 0.0
    return float((row + into).min())


def plan_segment_layers(best: np.ndarray, move_in: np.ndarray, start: int, accelerator: int) -> int:
    """How many layers from ``start`` the fastest continuation that runs layer ``start`` on
    ``accelerator`` keeps there before it moves (at least 1; ties stay). Running exactly these
    layers on ``accelerator`` and the rest at the best case takes ``best[start, accelerator]``:
    it spends none of the job's slack beyond the least it can."""
    n_layers, n_acc = best.shape[0] - 1, best.shape[1]
    layer = start + 1
    while layer < n_layers:
        moved = move_in[layer] + best[layer]
        moved[accelerator] = np.inf
        if n_acc > 1 and float(moved.min()) < float(best[layer, accelerator]):
            break
        layer += 1
    return max(layer - start, 1)
