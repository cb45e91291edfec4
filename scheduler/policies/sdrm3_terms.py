"""SDRM3's scoring terms and tuner-window arithmetic (the policy is in :mod:`.sdrm3`).

For a ready job j (one frame of one model) and an idle accelerator a at time t:

- urgency, one of two forms (``urgency=``): *density* ``U_j = (R_j + C_j) / max(slack_j, eps)``
  clipped to ``[0, u_max]``, or *laxity* ``U_j = -(slack_j - R_j - C_j) / T_min`` clipped to
  ``[-u_max, u_max]`` (least laxity first, in units of the scenario's shortest period ``T_min``,
  so that it is comparable across models). ``R_j`` is the remaining latency of j on its fastest
  accelerator, ``C_j`` the expected best-case latency of the cascade work that still depends on
  j's frame, ``slack_j = deadline_j - t``. Density ranks a short job with little slack like a long
  one with proportionally more; laxity ranks them by the time each can still afford to wait;
- starvation ``F_j = (t - last progress of j) / T_m`` (time since release or since the end of j's
  latest block, in periods of j's model);
- energy ``G_ja = E_a(block_ja) / min_a' E_a'(block_ja) - 1``: the relative energy overhead of
  running j's next block (cut for a) on a instead of on its most efficient accelerator; or, with
  ``energy_term="affinity"``, the model's *affinity* overhead ``G_ja = r_a / min_a' r_a' - 1`` with
  ``r_a = sqrt(E_a L_a)`` of j's whole variant on a (energy and latency together: a job leans to
  the accelerator that is relatively best for its model, not merely the one that spends least);
  with ``cut_on_affinity`` a block also ends where its layers' cheapest accelerator changes, so a
  job placed by energy can run each layer where it spends least (the UXCost reference);
- switch ``S_ja = 1`` if j's previous block ran on another accelerator than a (the block then pays
  the engine's migration cost: moving j's input activation through shared memory), else 0;
- ``MapScore(j, a) = U_j + alpha F_j - beta G_ja - gamma S_ja`` over the [jobs x idle] matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from scheduler.policies.base import RunContext
from scheduler.policies.overload import frame_loss as frame_loss  # moved there (re-exported)
from scheduler.policies.overload import shed_for_capacity as shed_for_capacity
from scheduler.policies.overload import trigger_shares as trigger_shares
from scheduler.policies.sdrm3_rows import job_row
from scheduler.state import Job

#: Names of the tunable parameters, in the order of :attr:`Theta.as_array`.
THETA_NAMES = ("alpha", "beta", "gamma")


@dataclass(frozen=True)
class Theta:
    """SDRM3's tunable weights of MapScore (starvation, energy, switch).

    Frame dropping is the engine's (``scheduler.mechanics``), the same for every policy, so its
    threshold is not one of SDRM3's parameters.
    """

    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array([self.alpha, self.beta, self.gamma], dtype=float)

    @classmethod
    def from_array(cls, values: Sequence[float]) -> Theta:
        return cls(*(float(v) for v in values))


#: Default bounds of each parameter (the tuner never leaves them).
THETA_BOUNDS = np.array([[0.0, 4.0], [0.0, 6.0], [0.0, 4.0]])


@dataclass(frozen=True)
class PairTerms:
    """The per-job and per-pair terms of MapScore at one decision point.

    ``jobs`` x ``accelerators`` (the idle ones): ``urgency``/``starvation`` are per job,
    ``energy``/``switch`` per pair, ``n_layers`` is the block each pair would dispatch.
    """

    jobs: tuple[Job, ...]
    accelerators: np.ndarray
    urgency: np.ndarray
    starvation: np.ndarray
    energy: np.ndarray
    switch: np.ndarray
    n_layers: np.ndarray
    feasible: np.ndarray


def map_scores(terms: PairTerms, theta: Theta) -> np.ndarray:
    """``MapScore = U + alpha F - beta G - gamma S`` over all (job, accelerator) pairs at once."""
    u = terms.urgency[:, None]
    f = terms.starvation[:, None]
    return u + theta.alpha * f - theta.beta * terms.energy - theta.gamma * terms.switch


def pair_terms(
    jobs: Sequence[Job],
    idle: Sequence[int],
    now_ms: float,
    ms_per_cycle: np.ndarray,
    block_ms: float,
    *,
    eps_ms: float = 1e-3,
    u_max: float = 10.0,
    chain_ms: np.ndarray | None = None,
    urgency: str = "density",
    scale_ms: float = 1.0,
    energy_term: str = "energy",
    cut_on_affinity: bool = False,
    home: np.ndarray | None = None,
    memo: dict | None = None,
) -> PairTerms:
    """MapScore's terms for ``jobs`` x ``idle`` accelerators at ``now_ms``.

    Blocks are cut where their latency on the pair's accelerator reaches ``block_ms`` (at least one
    layer). Per-job quantities are vectors, per-pair ones ``[jobs x idle]`` matrices.
    ``chain_ms[m]`` (optional, per model) is added to ``R_j``: the expected latency of the cascade
    work that still depends on j's frame (children run after j, before the same deadline).
    ``feasible[j, k]`` is False when j's remaining layers cannot finish by its deadline on idle
    accelerator k although they could on its fastest one.

    ``memo`` (optional, a dict kept by the caller for one run with the same ``ms_per_cycle``,
    ``block_ms`` and options): each job's block lengths, energy and switch terms and remaining
    latency depend only on its variant, next layer, model and previous accelerator and on the
    idle accelerators, so they are computed once per such key and reused (the same values; what
    the memo holds is never modified).
    """
    idle_arr = np.asarray(idle, dtype=np.int64)
    idle_key = tuple(idle_arr.tolist())
    n, n_idle = len(jobs), len(idle_key)
    budget_cycles = block_ms / ms_per_cycle  # per accelerator
    chain = None if chain_ms is None else np.asarray(chain_ms, dtype=float).tolist()
    # per job, in plain floats (a few jobs and accelerators: numpy's overhead would dominate)
    u, starvation, feasible, switch, n_layers, energy = [], [], [], [], [], []
    for job in jobs:
        key = ("row", job.costs, job.next_layer, idle_key, job.model, job.last_accelerator)
        row = None if memo is None else memo.get(key)
        if row is None:
            row = job_row(
                job, idle_arr, ms_per_cycle, budget_cycles, energy_term, cut_on_affinity, home,
                memo,
            )  # fmt: skip
            if memo is not None:
                memo[key] = row
        blocks, energies, rem_idle, best, switches = row
        slack = job.deadline_ms - now_ms
        cascade = 0.0 if chain is None else chain[job.model]
        if urgency == "laxity":
            u.append(min(max((best + cascade - slack) / scale_ms, -u_max), u_max))
        else:
            u.append(min(max((best + cascade) / max(slack, eps_ms), 0.0), u_max))
        feasible.append([not (r > slack and best <= slack) for r in rem_idle])
        starvation.append(max(now_ms - job.last_progress_ms, 0.0) / job.period_ms)
        switch.append(switches)
        n_layers.append(blocks)
        energy.append(energies)
    return PairTerms(
        tuple(jobs),
        idle_arr,
        np.array(u, dtype=float),
        np.array(starvation, dtype=float),
        np.array(energy, dtype=float).reshape(n, n_idle),
        np.array(switch, dtype=float).reshape(n, n_idle),
        np.array(n_layers, dtype=np.int64).reshape(n, n_idle),
        np.array(feasible, dtype=bool).reshape(n, n_idle),
    )


def cascade_latency_ms(
    ctx: RunContext, ms_per_cycle: np.ndarray, triggered: bool = False
) -> np.ndarray:
    """Per model: expected best-case latency of the cascade work its frame triggers.

    ``chain[m] = sum over children c of p_c x (L_c + chain[c])`` with ``L_c`` the child's full-model
    latency on its fastest accelerator. ``triggered=True``: every child triggered (``p_c = 1``),
    the work a frame must leave room for so that none of its children becomes hopeless.
    """
    n = len(ctx.model_ids)
    best = np.array(
        [float(np.min(mc.full.total_latency_cycles * ms_per_cycle)) for mc in ctx.costs.models]
    )
    chain = np.zeros(n)

    def total(m: int, depth: int = 0) -> float:
        if depth > n:
            return 0.0
        kids = [c for c in range(n) if ctx.parents[c] == m]
        p = [1.0 if triggered else float(ctx.probabilities[c]) for c in kids]
        return sum(pc * (best[c] + total(c, depth + 1)) for pc, c in zip(p, kids, strict=True))

    for m in range(n):
        chain[m] = total(m)
    return chain


def tuner_window_ms(periods_ms: Sequence[float], short_ms: float = 100.0) -> float:
    """Default tuner window: the hyperperiod of the periods when that is short (at most
    ``short_ms`` or the longest period), else the longest period.

    Over a hyperperiod every window releases the same frames, so consecutive windows compare like
    for like instead of alternating with the release pattern (e.g. 16.7 and 22.2 ms periods give
    66.7 ms windows rather than 22.2 ms ones releasing 1 or 2 frames of a model). Scenarios whose
    hyperperiod is long (3 fps models: 1000 ms) keep the longest period.
    """
    longest = float(np.max(periods_ms))
    hyper = hyperperiod_ms(periods_ms)
    return hyper if hyper <= max(short_ms, longest) + 1e-9 else longest


def hyperperiod_ms(periods_ms: Sequence[float]) -> float:
    """Least common multiple of the periods (as fractions with denominators up to 1000)."""
    fracs = [Fraction(float(p)).limit_denominator(1000) for p in periods_ms]
    num = 1
    den = 0
    for f in fracs:  # lcm of fractions: lcm of numerators / gcd of denominators
        num = num * f.numerator // math.gcd(num, f.numerator)
        den = math.gcd(den, f.denominator)
    return num / den


def tuner_cycle(periods_ms: Sequence[float], window_ms: float, max_cycle: int = 8) -> int:
    """Windows per hyperperiod when that is a whole number up to ``max_cycle``, else 1.

    Windows ``k`` and ``k + cycle`` release the same frames, so the tuner compares a window with
    the baseline of its own slot in the cycle (333 ms windows in a 1000 ms hyperperiod: cycle 3).
    """
    ratio = hyperperiod_ms(periods_ms) / window_ms
    k = round(ratio)
    return k if 1 <= k <= max_cycle and abs(ratio - k) < 1e-6 * max(ratio, 1.0) else 1


def greedy_pairs(scores: np.ndarray) -> list[tuple[int, int]]:
    """(row, column) pairs picked best-first, each row and column at most once."""
    s = np.array(scores, dtype=float, copy=True)
    picked = []
    for _ in range(min(s.shape)):
        flat = int(np.argmax(s))
        if not np.isfinite(s.flat[flat]):
            break
        i, k = divmod(flat, s.shape[1])
        picked.append((i, k))
        s[i, :] = -np.inf
        s[:, k] = -np.inf
    return picked


def slack_safe(laxity_after_ms: np.ndarray, share: float) -> np.ndarray:
    """``[jobs x idle]`` mask of the pairs on which the energy preference may act.

    ``laxity_after_ms[j, k]`` is j's laxity if its next block runs on idle accelerator k (the
    block there, then the rest on the accelerator where it finishes first). For each job the pair
    with the most laxity left (its fastest choice) is always allowed; another is allowed only if it
    keeps at least ``share`` of that laxity: a job may trade at most ``1 - share`` of its laxity
    for energy, so that an efficient but slow accelerator is used when the deadline still holds
    with room to spare, never at the edge.
    """
    lax = np.asarray(laxity_after_ms, dtype=float)
    if lax.size == 0:
        return np.zeros(lax.shape, dtype=bool)
    best = lax.max(axis=1, keepdims=True)
    return (lax >= best) | ((best > 0) & (lax >= share * best))
