"""Supernet selector: per frame, which sub-network of each model runs (SPEC §6).

A model with supernet variants (:mod:`workloads.supernet`; in the cost arrays variant 0 is the full
model, the others sub-networks with an accuracy relative to it) can trade accuracy for load. The
selector keeps an *assignment* (one variant per model) and answers every released frame with its
model's assigned variant; the assignment moves one step at a time:

- *load*: the predicted utilisation of the system under the assignment,
  ``rho = sum_m rate_m x L_m(v_m) / A``, with ``L_m(v)`` the variant's whole-model latency on its
  fastest accelerator, ``rate_m`` the model's frame rate times the probability that its frames are
  triggered (product of the cascade probabilities up its chain) and ``A`` the number of
  accelerators;
- *slack*: the share of the frames resolved in the latest window that missed their deadline or were
  dropped (the frames that ran out of slack).
- *downgrade* (one model one step smaller) when ``rho > high`` or the violation share exceeds
  ``violations_high``: the step with the largest load saved per accuracy point lost, among those
  that keep the scenario's mean accuracy (mean over its models of the assigned variants' accuracy,
  full model = 1) within ``accuracy_budget`` of the full models';
- *upgrade* (one step larger, the cheapest in load per accuracy point regained) only when the
  predicted load *after* the upgrade stays below ``low`` and the latest window's violation share is
  below ``violations_low``;
- *hysteresis*: ``low < high`` and at most one change per ``dwell_ms`` (default: the scenario's
  longest period), so under a constant load the assignment settles and stays.

Delivered accuracy per model (the mean ACC of its completed frames, ``delivered_accuracy``) is
what the XRBench ACC term credits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtmm.errors import SimulationError
from scheduler.policies.base import RunContext
from scheduler.state import FrameStatus, Job, SchedulerState, WindowMetrics


class SupernetSelector:
    """Load-driven variant assignment with hysteresis and an accuracy budget."""

    def __init__(
        self,
        ctx: RunContext,
        *,
        high: float = 0.9,
        low: float = 0.7,
        violations_high: float = 0.1,
        violations_low: float = 0.02,
        accuracy_budget: float = 0.02,
        dwell_ms: float | None = None,
    ) -> None:
        if not 0 < low < high:
            raise SimulationError(
                f"supernet selector: low {low}, high {high}",
                source="<api>",
                allowed="0 < low < high",
            )
        if not 0 <= accuracy_budget < 1:
            raise SimulationError(
                f"supernet selector: accuracy_budget {accuracy_budget}",
                source="<api>",
                allowed="0 <= x < 1",
            )
        self.high, self.low = high, low
        self.violations_high, self.violations_low = violations_high, violations_low
        self.accuracy_budget = accuracy_budget
        self.dwell_ms = float(np.max(ctx.periods_ms)) if dwell_ms is None else float(dwell_ms)
        ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        num_models = len(ctx.model_ids)
        self.num_acc = ctx.costs.num_accelerators
        rate = 1000.0 / np.asarray(ctx.periods_ms, dtype=float)
        for m in range(num_models):
            p, parent = 1.0, m
            while parent is not None:
                p *= float(ctx.probabilities[parent])
                parent = ctx.parents[parent]
            rate[m] *= p
        self.rate_per_ms = rate / 1000.0
        #: per model: (variant latency on its fastest accelerator in ms, accuracy) arrays
        self.latency_ms = [
            np.array([float(np.min(v.total_latency_cycles * ms_per_cycle)) for v in mc.variants])
            for mc in ctx.costs.models
        ]
        self.accuracy = [
            np.array([min(1.0, float(v.accuracy)) for v in mc.variants]) for mc in ctx.costs.models
        ]
        self.assignment = np.zeros(num_models, dtype=np.int64)
        self.violation_share = 0.0
        self.last_change_ms = -np.inf
        self.changes: list[tuple[float, int, int, int]] = []  # (time, model, from, to)

    # --- predictions ------------------------------------------------------------------------
    def utilisation(self, assignment: np.ndarray | None = None) -> float:
        """Predicted utilisation ``rho`` of the system under ``assignment`` (default: current)."""
        a = self.assignment if assignment is None else assignment
        load = sum(
            r * lat[v] for r, lat, v in zip(self.rate_per_ms, self.latency_ms, a, strict=True)
        )
        return float(load) / self.num_acc

    def mean_accuracy(self, assignment: np.ndarray | None = None) -> float:
        a = self.assignment if assignment is None else assignment
        return float(np.mean([acc[v] for acc, v in zip(self.accuracy, a, strict=True)]))

    def _steps(self, smaller: bool) -> list[tuple[float, int, int]]:
        """Candidate one-model moves as (load per accuracy point, model, variant)."""
        out = []
        floor = 1.0 - self.accuracy_budget - 1e-12
        for m, (lat, acc) in enumerate(zip(self.latency_ms, self.accuracy, strict=True)):
            cur = self.assignment[m]
            for v in range(len(lat)):
                d_load = self.rate_per_ms[m] * (lat[cur] - lat[v]) / self.num_acc
                d_acc = acc[cur] - acc[v]
                if smaller and d_load > 0 and d_acc >= 0:
                    trial = self.assignment.copy()
                    trial[m] = v
                    if self.mean_accuracy(trial) >= floor:
                        out.append((d_load / max(d_acc, 1e-9), m, v))
                elif not smaller and d_load < 0 and d_acc < 0:
                    out.append((d_load / d_acc, m, v))
        return out

    # --- decisions --------------------------------------------------------------------------
    def observe(self, window: WindowMetrics) -> None:
        """Record the latest window's share of late or dropped frames."""
        d = window.delta
        resolved = int(d.resolved.sum())
        if resolved:
            self.violation_share = float((d.late.sum() + d.dropped.sum()) / resolved)

    def update(self, now_ms: float) -> None:
        """Move the assignment by at most one step (see the module docstring)."""
        if now_ms - self.last_change_ms < self.dwell_ms:
            return
        rho = self.utilisation()
        move = None
        if rho > self.high or self.violation_share > self.violations_high:
            steps = self._steps(smaller=True)
            if steps:
                move = max(steps)
        elif self.violation_share < self.violations_low:
            for _, m, v in sorted(self._steps(smaller=False)):
                trial = self.assignment.copy()
                trial[m] = v
                if self.utilisation(trial) < self.low:
                    move = (0.0, m, v)
                    break
        if move is not None:
            _, m, v = move
            self.changes.append((now_ms, m, int(self.assignment[m]), v))
            self.assignment[m] = v
            self.last_change_ms = now_ms

    def choose(self, job: Job, state: SchedulerState) -> int:
        """The variant of ``job``'s model for this frame."""
        if len(self.latency_ms[job.model]) > 1:
            self.update(state.now_ms)
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
