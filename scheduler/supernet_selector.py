"""Supernet selector: per frame, which sub-network of each model runs (SPEC §6).

A model with supernet variants (:mod:`workloads.supernet`; in the cost arrays variant 0 is the full
model, the others sub-networks with an accuracy relative to it) can trade accuracy for load. The
selector keeps an *assignment* (one variant per model) and answers every released frame with its
model's assigned variant. The assignment is re-planned at every window (default: the scenario's
longest period) from the current load:

- *load*: the predicted utilisation of the system, ``rho = sum_m rate_m x L_m(v_m) / A``, with
  ``L_m(v)`` the variant's whole-model latency on its fastest accelerator, ``A`` the number of
  accelerators and ``rate_m`` the model's *current* frame rate: its period's rate times the
  triggered share of its frames, measured per window (an exponential average starting from the
  cascade probabilities), so a cascade that fires more often raises the load;
- *schedulable*: ``rho <= high`` keeps (or returns to) the full models — the largest sub-networks;
- *overloaded*: otherwise every assignment within the accuracy budget (mean over the scenario's
  models of the assigned variants' accuracy >= 1 - ``accuracy_budget``) is scored by a predicted
  UXCost: capacity ``high x A`` is given to the models in order of violation-rate saved per unit of
  load (``1 / (rate_m L_m)``, how an overloaded scheduler sheds load), each model's unserved share
  counts as violations, energy is that of the served frames; the assignment with the lowest
  prediction wins;
- *hysteresis*: a new assignment replaces the current one only if its predicted UXCost is lower by
  more than ``hysteresis`` (relative) and no change happened within ``dwell_ms``; returning to the
  full models needs ``rho`` of the full models below ``low < high``. Under a constant load the
  assignment therefore settles and stays (no flapping).

Delivered accuracy per model (the mean ACC of its completed frames, :func:`delivered_accuracy`) is
what the XRBench ACC term credits.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from rtmm.errors import SimulationError
from scheduler.policies.base import RunContext
from scheduler.state import FrameStatus, Job, SchedulerState, WindowMetrics

#: At most this many assignments are enumerated (the rest of the models keep their full variant).
MAX_PLANS = 4096


class SupernetSelector:
    """Load-driven variant assignment with an accuracy budget and hysteresis."""

    def __init__(
        self,
        ctx: RunContext,
        *,
        high: float = 0.9,
        low: float = 0.75,
        accuracy_budget: float = 0.02,
        hysteresis: float = 0.05,
        dwell_ms: float | None = None,
        smoothing: float = 0.5,
    ) -> None:
        if not 0 < low < high:
            raise SimulationError(
                f"supernet selector: low {low}, high {high}",
                source="<api>",
                allowed="0 < low < high",
            )
        if not 0 <= accuracy_budget < 1 or hysteresis < 0:
            raise SimulationError(
                f"supernet selector: accuracy_budget {accuracy_budget}, hysteresis {hysteresis}",
                source="<api>",
                allowed="0 <= accuracy_budget < 1, hysteresis >= 0",
            )
        self.high, self.low = high, low
        self.accuracy_budget = accuracy_budget
        self.hysteresis = hysteresis
        self.smoothing = smoothing
        self.dwell_ms = float(np.max(ctx.periods_ms)) if dwell_ms is None else float(dwell_ms)
        ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        num_models = len(ctx.model_ids)
        self.num_acc = ctx.costs.num_accelerators
        self.period_rate = 1.0 / np.asarray(ctx.periods_ms, dtype=float)  # frames per ms
        share = np.ones(num_models)
        for m in range(num_models):
            parent = m
            while parent is not None:
                share[m] *= float(ctx.probabilities[parent])
                parent = ctx.parents[parent]
        self.triggered_share = share
        #: per model: variant latency on its fastest accelerator (ms), min energy, accuracy
        self.latency_ms = [
            np.array([float(np.min(v.total_latency_cycles * ms_per_cycle)) for v in mc.variants])
            for mc in ctx.costs.models
        ]
        self.energy_nj = [
            np.array([v.min_energy_nj for v in mc.variants]) for mc in ctx.costs.models
        ]
        self.accuracy = [
            np.array([min(1.0, float(v.accuracy)) for v in mc.variants]) for mc in ctx.costs.models
        ]
        self.full = np.zeros(num_models, dtype=np.int64)
        self.assignment = self.full.copy()
        self.plans = self._plans()
        self.last_change_ms = -np.inf
        self.changes: list[tuple[float, tuple[int, ...]]] = []  # (time, new assignment)
        self.replan(0.0)

    @property
    def rate_per_ms(self) -> np.ndarray:
        return self.period_rate * self.triggered_share

    # --- predictions ------------------------------------------------------------------------
    def utilisation(self, assignment: np.ndarray | None = None) -> float:
        """Predicted utilisation ``rho`` of the system under ``assignment`` (default: current)."""
        a = self.assignment if assignment is None else assignment
        lat = np.array([lat[v] for lat, v in zip(self.latency_ms, a, strict=True)])
        return float(np.sum(self.rate_per_ms * lat)) / self.num_acc

    def mean_accuracy(self, assignment: np.ndarray | None = None) -> float:
        a = self.assignment if assignment is None else assignment
        return float(np.mean([acc[v] for acc, v in zip(self.accuracy, a, strict=True)]))

    def predicted_uxcost(self, assignment: np.ndarray) -> float:
        """UXCost predicted for ``assignment`` when capacity ``high x A`` is shed by density."""
        rate = self.rate_per_ms
        lat = np.array([lat[v] for lat, v in zip(self.latency_ms, assignment, strict=True)])
        energy = np.array([e[v] for e, v in zip(self.energy_nj, assignment, strict=True)])
        ref = np.array([e[0] for e in self.energy_nj])
        load = rate * lat  # accelerator-ms per ms
        served = np.zeros(len(load))
        capacity = self.high * self.num_acc
        for m in np.argsort(load, kind="stable"):
            if load[m] <= 0:
                served[m] = 1.0
                continue
            served[m] = min(1.0, max(capacity, 0.0) / load[m])
            capacity -= served[m] * load[m]
        has = rate > 0
        v = float(np.mean(1.0 - served[has])) if has.any() else 0.0
        e_norm = float(np.sum(rate * served * energy)) / max(float(np.sum(rate * ref)), 1e-300)
        frames = float(np.sum(rate)) * self.dwell_ms
        return e_norm * max(v, 1.0 / max(frames, 1.0))

    def _plans(self) -> np.ndarray:
        """Assignments within the accuracy budget (full models first)."""
        choices = [range(len(lat)) for lat in self.latency_ms]
        floor = 1.0 - self.accuracy_budget - 1e-12
        plans = []
        for plan in itertools.islice(itertools.product(*choices), MAX_PLANS):
            a = np.array(plan, dtype=np.int64)
            if self.mean_accuracy(a) >= floor:
                plans.append(a)
        return np.array(plans, dtype=np.int64)

    # --- decisions --------------------------------------------------------------------------
    def observe(self, window: WindowMetrics) -> None:
        """Update the measured triggered share of every model's frames, then re-plan."""
        d = window.delta
        frames = d.released + d.not_triggered
        has = frames > 0
        share = np.where(has, d.released / np.maximum(frames, 1), self.triggered_share)
        a = self.smoothing
        self.triggered_share = a * share + (1 - a) * self.triggered_share
        self.replan(window.end_ms)

    def replan(self, now_ms: float) -> None:
        """Choose the assignment for the coming window (see the module docstring)."""
        if now_ms - self.last_change_ms < self.dwell_ms:
            return
        full_rho = self.utilisation(self.full)
        if full_rho <= self.high:
            if (self.assignment != self.full).any() and full_rho < self.low:
                self._switch(self.full, now_ms)
            return
        scores = np.array([self.predicted_uxcost(p) for p in self.plans])
        best = self.plans[int(np.argmin(scores))]
        current = self.predicted_uxcost(self.assignment)
        if float(scores.min()) < current * (1.0 - self.hysteresis):
            self._switch(best, now_ms)

    def _switch(self, assignment: np.ndarray, now_ms: float) -> None:
        self.assignment = assignment.copy()
        self.last_change_ms = now_ms
        self.changes.append((now_ms, tuple(int(v) for v in assignment)))

    def choose(self, job: Job, state: SchedulerState) -> int:
        """The variant of ``job``'s model for this frame."""
        return int(self.assignment[job.model])


def delivered_accuracy(frames: pd.DataFrame) -> pd.DataFrame:
    """Per model: completed frames, mean delivered accuracy (ACC) and share of sub-network frames.

    ``frames`` is :attr:`scheduler.result.SimulationResult.frames`. The last row (``model == ""``)
    is the mean over the models with at least one completed frame.
    """
    done = frames[frames["status"].isin((FrameStatus.ON_TIME, FrameStatus.LATE))]
    rows = []
    for model, g in done.groupby("model", sort=True):
        acc = np.minimum(1.0, g["accuracy"].to_numpy(float))
        rows.append(
            {
                "model": model,
                "completed": len(g),
                "accuracy": float(acc.mean()),
                "subnet_share": float((g["variant"] > 0).mean()),
            }
        )
    table = pd.DataFrame(rows, columns=["model", "completed", "accuracy", "subnet_share"])
    mean = {
        "model": "",
        "completed": int(table["completed"].sum()),
        "accuracy": float(table["accuracy"].mean()) if len(table) else float("nan"),
        "subnet_share": float((done["variant"] > 0).mean()) if len(done) else float("nan"),
    }
    return pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
