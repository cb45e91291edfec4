"""SDRM3's capacity-aware placement rules (options of :mod:`.sdrm3`): which accelerator each model
is pinned to (the only one where a frame fits its period), a capacity-aware *home* per model (a
partition of the models' work that fits the accelerators), and which pairs continue a started job.
The per-decision exclusive-work test that uses the pins is
:meth:`~.sdrm3_checks.SDRM3Checks._protected`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scheduler.policies.sdrm3_terms import PairTerms


def pinned_accelerators(full_ms: np.ndarray, periods_ms: Sequence[float]) -> np.ndarray:
    """Per model: the only accelerator on which a whole frame fits within its period, else -1.

    ``full_ms[m, a]`` is model m's full-variant latency on accelerator a. A model *pinned* to a
    can only be served there; work that could run elsewhere should leave a to it.
    """
    fits = np.asarray(full_ms, dtype=float) <= np.asarray(periods_ms, dtype=float)[:, None]
    return np.where(fits.sum(axis=1) == 1, np.argmax(fits, axis=1), -1)


def home_accelerators(
    full_ms: np.ndarray, full_nj: np.ndarray, periods_ms: Sequence[float], shares: np.ndarray
) -> np.ndarray:
    """Per model: a *home* accelerator, the affinity's reference under capacity (a partition).

    Model m loads accelerator a with ``u_ma = share_m L_ma / T_m``. Models are placed one by one,
    those that fit their period on fewer accelerators first (a model that fits on one only is
    pinned there), then the heavier first; each goes to the accelerator of least
    ``r = sqrt(E L)`` (the affinity) among those where it fits its period and the load stays at
    most 1, else to the one it fits on that ends least loaded. On a lightly loaded system every
    model's home is its affinity's choice; under load the models spread so that each
    accelerator's share of the work fits it.
    """
    lat = np.asarray(full_ms, dtype=float)
    r = np.sqrt(np.asarray(full_nj, dtype=float) * lat)
    u = np.asarray(shares, dtype=float)[:, None] * lat / np.asarray(periods_ms, float)[:, None]
    fits = lat <= np.asarray(periods_ms, dtype=float)[:, None]
    fits[fits.sum(axis=1) == 0] = True
    order = sorted(range(len(lat)), key=lambda m: (int(fits[m].sum()), -float(u[m].max())))
    load = np.zeros(lat.shape[1])
    home = np.zeros(len(lat), dtype=np.int64)
    for m in order:
        cand = np.flatnonzero(fits[m])
        room = cand[load[cand] + u[m, cand] <= 1.0 + 1e-9]
        a = room[np.argmin(r[m, room])] if len(room) else cand[np.argmin(load[cand] + u[m, cand])]
        home[m] = int(a)
        load[a] += u[m, a]
    return home


def committed(terms: PairTerms, now_ms: float, ms_per_cycle: np.ndarray) -> np.ndarray:
    """``[jobs x idle]`` mask of the pairs that continue a started job on the accelerator of its
    previous block when its remaining layers can still finish there by its deadline: such a job
    is run to completion first rather than interleaved, so that work already spent on it is not
    lost to a later drop (the domino effect of deadline-ordered dispatch under overload)."""
    out = np.zeros(terms.energy.shape, dtype=bool)
    for i, job in enumerate(terms.jobs):
        a = job.last_accelerator
        if a < 0:
            continue
        rem = float(job.costs.remaining_latency_cycles(job.next_layer)[a] * ms_per_cycle[a])
        out[i] = (terms.accelerators == a) & (now_ms + rem <= job.deadline_ms)
    return out


def demand_curve(
    deadlines: np.ndarray, work: np.ndarray, free: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(cumulative work, capacity) at each deadline in deadline order: the work of the items due
    by then (ms) against the accelerators' time from when each frees up to then (ms, pooled)."""
    deadlines, work = np.asarray(deadlines), np.asarray(work)
    order = deadlines.argsort(kind="stable")
    cap = np.maximum(deadlines[order][:, None] - free[None, :], 0.0).sum(axis=1)
    return work[order].cumsum(), cap
