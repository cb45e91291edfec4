"""A long-run service plan for overloaded scenarios: which share of each model's frames to serve.

Issue 12u. On the tuning cells where SDRM3 loses most (e.g. maestro 4K-J social_interaction_a),
the frame-by-frame overload tests (the engine's hopeless-frame drop, :mod:`~.overload`'s lookahead
shedding) lose frames of every model, while a scheduler that by its structure gives up one heavy
model (round robin there never finishes DR) serves the three others almost fully and scores
higher. The local tests cannot see this: a shedding decision within one period never compares a
heavy 30 FPS model with the cheap 60 FPS cascade it crowds out over the whole run.

The plan is a fluid linear programme over the whole scenario, solved once per run with SciPy's
HiGHS (:func:`scipy.optimize.linprog`):

- variables ``z[m, a] >= 0``: the share of model m's triggered frames whose work is done on
  accelerator a. The plan is *fluid* and optimistic: a frame's work may be spread over
  accelerators (in whole-frame proportions) at no cost, deadlines and off-chip contention are
  not counted, so it sheds only in a scenario that even this relaxation cannot serve in full. (A
  first cut allowed only the accelerators where m's full latency fits its period; it shed HT on
  maestro 4K-J ar_gaming, which SDRM3 serves at 68 % by also using the slow array.) A model whose
  full latency fits its period on no single accelerator is left out (share 1, never shed by the
  plan): its frames are hopeless, and the engine drops them, or served only by a split (issue
  12r's split-only frames); the plan counts none of its work;
- each model at most fully served: ``sum_a z[m, a] <= 1``;
- each accelerator at most fully busy: ``sum_m rate_m x latency_ma x z[m, a] <= 1`` with
  ``rate_m`` the model's triggered frames per ms (the product of cascade probabilities over its
  period);
- a cascade child is served at most as often as its parent: ``x_child <= x_parent``;
- maximise ``sum_m x_m`` (every model weighs the same in V and in the XRBench score, which average
  over models), ties broken towards less busy time by a 1e-6 term.

Every ``x_m = 1`` (to 1e-6) means the fluid plan serves everything: the plan then does nothing. So
it changes nothing on a scenario that is not overloaded in this fluid sense; in an overloaded one
it sheds, at release, the share ``1 - x_m`` of model m's frames (of a child, the share given its
parent's frame was served), spread evenly by a credit counter (:class:`PlanShedder`). The plan has
no constant to choose: rates, latencies and periods are the scenario's, the capacity is one
accelerator-second per second.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linprog

from scheduler.costs import CostArrays
from scheduler.policies.overload import trigger_shares
from scheduler.state import Job

#: Plan shares within this of 1 count as "fully served" (LP round-off).
FULL = 1.0 - 1e-6
#: Weight of busy time in the objective, only to break ties between equally good plans.
TIE_BREAK = 1e-6


def service_plan(
    costs: CostArrays,
    ms_per_cycle: np.ndarray,
    periods_ms: Sequence[float],
    parents: Sequence[int | None],
    probabilities: Sequence[float],
) -> np.ndarray:
    """Per model: the share of its triggered frames the fluid plan serves (module docstring)."""
    n, k = len(costs.models), costs.num_accelerators
    lat = np.array([mc.full.total_latency_cycles * ms_per_cycle for mc in costs.models])
    period = np.asarray(periods_ms, dtype=float)
    rate = trigger_shares(parents, probabilities) / period
    planned: np.ndarray = np.asarray((lat <= period[:, None]).any(axis=1), dtype=bool)
    eligible = np.repeat(planned[:, None], k, axis=1)
    load = rate[:, None] * lat  # accelerator share one model takes when fully served there
    idx = [(m, a) for m in range(n) for a in range(k) if eligible[m, a]]
    share = np.where(planned, 0.0, 1.0)
    if not idx:
        return share
    cost = np.array([-1.0 + TIE_BREAK * load[m, a] for m, a in idx])
    rows, bounds = [], []
    for m in range(n):  # x_m <= 1
        rows.append([1.0 if i[0] == m else 0.0 for i in idx])
        bounds.append(1.0)
    for a in range(k):  # busy share of a <= 1
        rows.append([load[m, b] if b == a else 0.0 for m, b in idx])
        bounds.append(1.0)
    for c, p in enumerate(parents):  # x_child - x_parent <= 0 (both planned)
        if p is not None and planned[c] and planned[p]:
            rows.append([(i[0] == c) - (i[0] == p) for i in idx])
            bounds.append(0.0)
    res = linprog(cost, A_ub=np.array(rows, dtype=float), b_ub=bounds, bounds=(0, None),
                  method="highs")  # fmt: skip
    if res.status != 0:  # the zero plan is always feasible, so only a solver failure lands here
        raise RuntimeError(f"service plan: linprog failed ({res.message})")
    for (m, _), z in zip(idx, res.x, strict=True):
        share[m] += z
    return np.clip(share, 0.0, 1.0)


class PlanShedder:
    """Sheds at release the share of each model's frames its plan does not serve.

    A model with plan share ``x < 1`` (of a child: ``x_child / x_parent``, the share given the
    parent's frame was served) earns ``x`` credit per new frame and serves a frame when it holds a
    whole credit, so served frames are spread evenly (a Bresenham pattern, starting half full).
    Frames are judged once, when first seen unstarted; started frames are never shed.
    """

    def __init__(self, share: np.ndarray, parents: Sequence[int | None]) -> None:
        n = len(share)
        cond = np.ones(n)
        for m, p in enumerate(parents):
            base = share[m] if p is None else share[m] / max(share[p], 1e-12)
            cond[m] = min(1.0, base)
        self.active = bool(np.any(share < FULL))
        self.share = cond
        self.credit = np.full(n, 0.5)
        self._seen: set[tuple[int, int]] = set()

    def shed(self, jobs: Sequence[Job]) -> list[Job]:
        """The new jobs among ``jobs`` to drop now (empty when the plan serves everything)."""
        out: list[Job] = []
        if not self.active:
            return out
        for job in jobs:
            key = (job.model, job.frame)
            if job.next_layer != 0 or key in self._seen:
                continue
            self._seen.add(key)
            x = float(self.share[job.model])
            if x >= FULL:
                continue
            self.credit[job.model] += x
            if self.credit[job.model] >= 1.0:
                self.credit[job.model] -= 1.0
            else:
                out.append(job)
        return out
