"""The time-independent per-job rows of SDRM3's MapScore terms (:func:`~.sdrm3_terms.pair_terms`):
a job's block lengths, energy and switch terms and remaining latency depend only on its variant,
next layer, model and previous accelerator and on the idle accelerators, so a run computes each
once (a memo kept by the policy, :mod:`.sdrm3`) instead of at every decision point.
"""

from __future__ import annotations

import numpy as np

from scheduler.costs import VariantCosts
from scheduler.state import Job


def job_row(
    job: Job,
    idle_arr: np.ndarray,
    ms_per_cycle: np.ndarray,
    budget_cycles: np.ndarray,
    energy_term: str,
    cut_on_affinity: bool,
    home: np.ndarray | None,
    memo: dict | None,
) -> tuple[list[int], list[float], list[float], float, list[float]]:
    """The time-independent part of one job's row of :func:`~.sdrm3_terms.pair_terms`: block
    lengths and energy terms per idle accelerator, remaining latency (ms) on each idle accelerator
    and the least on any, switch terms. A function of the job's variant, next layer, model and
    previous accelerator and of the idle set (memoised by :func:`~.sdrm3_terms.pair_terms`)."""
    rem = rem_ms({} if memo is None else memo, job.costs, job.next_layer, ms_per_cycle)
    blocks, energies = block_row(
        job, idle_arr, ms_per_cycle, budget_cycles, energy_term, cut_on_affinity, home
    )
    last = job.last_accelerator
    idle = idle_arr.tolist()
    switches = [float(last >= 0 and last != a) for a in idle]
    return blocks.tolist(), energies.tolist(), rem[idle_arr].tolist(), float(rem.min()), switches


def block_row(
    job: Job,
    idle_arr: np.ndarray,
    ms_per_cycle: np.ndarray,
    budget_cycles: np.ndarray,
    energy_term: str,
    cut_on_affinity: bool,
    home: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """One job's block length (layers) and energy term per idle accelerator, as
    :func:`~.sdrm3_terms.pair_terms` defines them (read-only arrays)."""
    c = job.costs
    start = job.next_layer
    lat = c.latency_prefix[:, idle_arr]
    limit = lat[start] + budget_cycles[idle_arr]
    ends = np.array(
        [np.searchsorted(lat[:, k], limit[k], side="right") - 1 for k in range(len(idle_arr))]
    )
    ends = np.clip(ends, start + 1, c.num_layers)
    if cut_on_affinity:  # end a block where the layers' cheapest accelerator changes
        ends = np.minimum(ends, affinity_run_end(c.energy_nj, start))
    n_layers = ends - start
    block_energy = c.energy_prefix[ends] - c.energy_prefix[start]  # [idle x all accelerators]
    own = block_energy[np.arange(len(idle_arr)), idle_arr]
    if energy_term == "affinity":
        r = np.sqrt(c.energy_prefix[-1] * c.latency_prefix[-1] * ms_per_cycle)
        if home is None:
            energy = r[idle_arr] / max(float(r.min()), 1e-300) - 1.0
        else:  # relative distance from the model's home accelerator, either way
            ratio = r[idle_arr] / max(float(r[home[job.model]]), 1e-300)
            energy = np.maximum(ratio, 1.0 / np.maximum(ratio, 1e-300)) - 1.0
    else:
        energy = own / np.maximum(block_energy.min(axis=1), 1e-300) - 1.0
    energy = np.maximum(energy, 0.0)  # the term is never negative
    n_layers.setflags(write=False)
    energy.setflags(write=False)
    return n_layers, energy


def rem_ms(memo: dict, costs: VariantCosts, start: int, ms_per_cycle: np.ndarray) -> np.ndarray:
    """Latency (ms) of layers ``[start, end)`` of ``costs`` on each accelerator, memoised in
    ``memo`` (one run: ``ms_per_cycle`` fixed) by ``costs`` and ``start``; a read-only array."""
    key = ("rem", costs, start)
    out = memo.get(key)
    if out is None:
        out = costs.remaining_latency_cycles(start) * ms_per_cycle
        out.setflags(write=False)
        memo[key] = out
    return out


def affinity_run_end(energy_nj: np.ndarray, start: int) -> int:
    """End (exclusive) of the run of layers from ``start`` whose cheapest accelerator is the same
    as ``start``'s: a block cut there can run every layer where it spends least."""
    cheapest = np.argmin(energy_nj[start:], axis=1)
    change = np.flatnonzero(cheapest != cheapest[0])
    return start + (int(change[0]) if len(change) else len(cheapest))
