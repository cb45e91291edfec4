"""Supernet selector: per frame, which sub-network of each model runs.

A model with supernet variants (:mod:`workloads.supernet`; in the cost arrays variant 0 is the full
model, the others sub-networks with an accuracy relative to it) can trade accuracy for load. The
selector keeps an *assignment* (one variant per model, a *plan*) and answers every released frame
with its model's assigned variant.

A simple load rule ("shrink the models until the utilisation fits") is not enough: the right plan
depends on *which* accelerator can run *which* variant in time and on what the scheduler then does
with the freed capacity — shrinking a model that fits no accelerator can make it compete with
models that did fit, and the plan that helps may shrink a different model altogether (measurements
in ``benchmarks/RESULTS.md``).

So plans are scored *jointly over all models* by the quantity they are meant to lower:

- *candidate plans*: every assignment whose nominal mean accuracy over the scenario's models is at
  least ``1 - accuracy_budget`` (the full models first);
- *what-if prediction*: each candidate is run through the scheduler itself (a fresh static SDRM3
  with the policy's parameters, from ``policy_factory``) on the scenario's nominal workload for
  ``lookahead_ms`` — periods, cascade probabilities (its own fixed random stream, not the run's)
  and cost tables, i.e. only what the runtime knows in advance; no jitter, no off-chip
  contention. The prediction gives the plan's UXCost and its *delivered* accuracy (below);
- *choice*: if the full models predict no violation (``V = 0``) they stay: the largest
  sub-networks that keep the system schedulable. Otherwise the plan with the lowest predicted
  UXCost among those whose predicted delivered accuracy stays within the budget wins, and only if
  it beats the full models' prediction by more than ``hysteresis`` (relative);
- *re-planning*: every window updates the measured triggered share of each model's frames (an
  exponential average starting from the cascade probabilities); when a share moved by more than
  ``replan_share`` since the current plan was chosen, the plans are re-scored with the measured
  shares as cascade probabilities — not more often than every ``dwell_ms``. Under a constant
  workload the plan therefore never changes after the start (no flapping).

Predictions are cached per process (keyed by a digest of the cost arrays, periods, cascade,
parameters and lookahead), so seeds of one (scenario, system) share them.

**Delivered accuracy** (:func:`delivered_accuracy`), the quantity the budget is about: per model,
the mean ACC = min(1, accuracy) over its *completed* frames (on time or late; dropped frames deliver
nothing and are not counted); then the mean over the models with at least one completed frame.
The full models deliver 1.0 by definition, so "within 2 points of the full models" means a
delivered accuracy >= 0.98. This is what the XRBench ACC term credits per model.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rtmm.errors import SimulationError
from scheduler.decisions import RunContext
from scheduler.engine import NativeEngine
from scheduler.mechanics import FrameMechanics
from scheduler.metrics import frames_uxcost
from scheduler.state import FrameStatus, Job, SchedulerState, WindowMetrics

if TYPE_CHECKING:
    from scheduler.policies.base import Policy

#: At most this many assignments are enumerated (the rest of the models keep their full variant).
MAX_PLANS = 4096
#: Seed of the what-if runs' trigger stream (fixed: predictions must not see the run's triggers).
WHATIF_SEED = 12345
_PREDICTIONS: dict[tuple, tuple[float, float, float]] = {}
_MAX_CACHE = 4096


class SupernetSelector:
    """What-if-scored variant plans with an accuracy budget and hysteresis (module docstring)."""

    def __init__(
        self,
        ctx: RunContext,
        *,
        accuracy_budget: float = 0.02,
        hysteresis: float = 0.05,
        dwell_ms: float | None = None,
        smoothing: float = 0.5,
        lookahead_ms: float | None = None,
        replan_share: float = 0.25,
        policy_factory: Callable[[], Policy],
        factory_key: tuple = (),
    ) -> None:
        if not 0 <= accuracy_budget < 1 or hysteresis < 0:
            raise SimulationError(
                f"supernet selector: accuracy_budget {accuracy_budget}, hysteresis {hysteresis}",
                source="<api>",
                allowed="0 <= accuracy_budget < 1, hysteresis >= 0",
            )
        if lookahead_ms is not None and not lookahead_ms > 0:
            raise SimulationError(
                f"supernet selector: lookahead_ms {lookahead_ms}", source="<api>", allowed="> 0"
            )
        self.ctx = ctx
        self.accuracy_budget = accuracy_budget
        self.hysteresis = hysteresis
        self.smoothing = smoothing
        self.replan_share = replan_share
        longest = float(np.max(ctx.periods_ms))
        self.dwell_ms = longest if dwell_ms is None else float(dwell_ms)
        self.lookahead_ms = max(4.0 * longest, 1000.0) if lookahead_ms is None else lookahead_ms
        self.policy_factory = policy_factory
        self.factory_key = factory_key
        num_models = len(ctx.model_ids)
        self.num_acc = ctx.costs.num_accelerators
        ms_per_cycle = 1e3 / np.asarray(ctx.costs.clock_hz, dtype=float)
        self.period_rate = 1.0 / np.asarray(ctx.periods_ms, dtype=float)  # frames per ms
        self.probabilities = np.asarray(ctx.probabilities, dtype=float).copy()
        share = np.ones(num_models)
        for m in range(num_models):
            parent = m
            while parent is not None:
                share[m] *= float(ctx.probabilities[parent])
                parent = ctx.parents[parent]
        self.triggered_share = share
        self._planned_share = share.copy()
        #: per model: variant latency on its fastest accelerator (ms) and accuracy
        self.latency_ms = [
            np.array([float(np.min(v.total_latency_cycles * ms_per_cycle)) for v in mc.variants])
            for mc in ctx.costs.models
        ]
        self.accuracy = [
            np.array([min(1.0, float(v.accuracy)) for v in mc.variants]) for mc in ctx.costs.models
        ]
        self.full = np.zeros(num_models, dtype=np.int64)
        self.assignment = self.full.copy()
        self.plans = self._plans()
        self.last_change_ms = -np.inf
        self.changes: list[tuple[float, tuple[int, ...]]] = []  # (time, new assignment)
        #: the latest scoring: plan -> (predicted UXCost, predicted mean violation rate,
        #: predicted delivered accuracy)
        self.predictions: dict[tuple[int, ...], tuple[float, float, float]] = {}
        self._digest = self._costs_digest()
        if len(self.plans) > 1:
            self.replan(0.0)

    @property
    def rate_per_ms(self) -> np.ndarray:
        return self.period_rate * self.triggered_share

    # --- predictions ------------------------------------------------------------------------
    def utilisation(self, assignment: np.ndarray | None = None) -> float:
        """Nominal utilisation ``sum_m rate_m L_m(v_m) / A`` (fastest accelerator; for reports)."""
        a = self.assignment if assignment is None else assignment
        lat = np.array([lat[v] for lat, v in zip(self.latency_ms, a, strict=True)])
        return float(np.sum(self.rate_per_ms * lat)) / self.num_acc

    def mean_accuracy(self, assignment: np.ndarray | None = None) -> float:
        """Nominal mean accuracy of ``assignment`` over the scenario's models."""
        a = self.assignment if assignment is None else assignment
        return float(np.mean([acc[v] for acc, v in zip(self.accuracy, a, strict=True)]))

    def _plans(self) -> np.ndarray:
        """Assignments within the accuracy budget (full models first)."""
        choices = [range(len(lat)) for lat in self.latency_ms]
        floor = 1.0 - self.accuracy_budget - 1e-9
        plans = []
        for plan in itertools.islice(itertools.product(*choices), MAX_PLANS):
            a = np.array(plan, dtype=np.int64)
            if self.mean_accuracy(a) >= floor:
                plans.append(a)
        return np.array(plans, dtype=np.int64)

    def _costs_digest(self) -> str:
        h = hashlib.sha1()
        for mc in self.ctx.costs.models:
            for v in mc.variants:
                h.update(np.ascontiguousarray(v.latency_prefix, dtype=float).tobytes())
                h.update(np.ascontiguousarray(v.energy_prefix, dtype=float).tobytes())
                h.update(repr(float(v.accuracy)).encode())
        h.update(np.asarray(self.ctx.costs.clock_hz, dtype=float).tobytes())
        h.update(np.asarray(self.ctx.periods_ms, dtype=float).tobytes())
        h.update(repr((self.ctx.model_ids, self.ctx.parents)).encode())
        return h.hexdigest()

    def predict(self, plan: np.ndarray) -> tuple[float, float, float]:
        """(UXCost, V, delivered accuracy) of a what-if run of ``plan`` (cached)."""
        probs = np.round(self.probabilities, 6)
        key = (
            self._digest, tuple(probs), self.lookahead_ms, self.factory_key,
            tuple(int(v) for v in plan),
        )  # fmt: skip
        if key in _PREDICTIONS:
            return _PREDICTIONS[key]
        ctx = self.ctx
        policy = self.policy_factory()
        fixed = tuple(int(v) for v in plan)
        policy.select_variant = lambda job, state: fixed[job.model]  # type: ignore[method-assign]
        seq = np.random.SeedSequence(WHATIF_SEED)
        trig, jit, pol = seq.spawn(3)
        policy.reset(
            RunContext(
                costs=ctx.costs, model_ids=ctx.model_ids, periods_ms=ctx.periods_ms,
                parents=ctx.parents, probabilities=probs, horizon_ms=self.lookahead_ms,
                xrbench=False, rng=np.random.default_rng(pol),
            )
        )  # fmt: skip
        engine = NativeEngine(
            model_ids=ctx.model_ids,
            fps=tuple(1000.0 / float(p) for p in ctx.periods_ms),
            parents=ctx.parents,
            probabilities=probs,
            costs=ctx.costs,
            policy=policy,
            horizon_ms=self.lookahead_ms,
            trigger_rng=np.random.default_rng(trig),
            jitter_rng=np.random.default_rng(jit),
            mechanics=FrameMechanics(),
        )
        frames = engine.run()[0]
        ux, _, v = frames_uxcost(frames)
        acc = float(delivered_accuracy(frames)["accuracy"].iloc[-1])
        if len(_PREDICTIONS) >= _MAX_CACHE:
            _PREDICTIONS.clear()
        _PREDICTIONS[key] = (ux, v, acc)
        return ux, v, acc

    # --- decisions --------------------------------------------------------------------------
    def observe(self, window: WindowMetrics) -> None:
        """Update the measured triggered share of every model's frames; re-plan if it moved."""
        d = window.delta
        frames = d.released + d.not_triggered
        has = frames > 0
        share = np.where(has, d.released / np.maximum(frames, 1), self.triggered_share)
        a = self.smoothing
        self.triggered_share = a * share + (1 - a) * self.triggered_share
        moved = np.abs(self.triggered_share - self._planned_share) > self.replan_share
        if len(self.plans) > 1 and moved.any():
            self.replan(window.end_ms)

    def _measured_probabilities(self) -> np.ndarray:
        """Cascade probabilities implied by the measured triggered shares."""
        probs = np.asarray(self.ctx.probabilities, dtype=float).copy()
        for m, parent in enumerate(self.ctx.parents):
            if parent is not None:
                parent_share = max(float(self.triggered_share[parent]), 1e-9)
                probs[m] = float(np.clip(self.triggered_share[m] / parent_share, 0.0, 1.0))
        return probs

    def replan(self, now_ms: float) -> None:
        """Choose the plan for the coming windows (see the module docstring)."""
        if now_ms - self.last_change_ms < self.dwell_ms:
            return
        if now_ms > 0:
            self.probabilities = self._measured_probabilities()
        self._planned_share = self.triggered_share.copy()
        self.predictions = {}
        full = self.predict(self.full)
        self.predictions[tuple(self.full)] = full
        best, best_ux = self.full, full[0]
        if np.isfinite(full[0]) and full[1] > 0:
            floor = 1.0 - self.accuracy_budget - 1e-9
            for plan in self.plans[1:]:
                ux, v, acc = self.predict(plan)
                self.predictions[tuple(int(x) for x in plan)] = (ux, v, acc)
                if np.isfinite(ux) and acc >= floor and ux < best_ux:
                    best, best_ux = plan, ux
            current = self.predictions.get(tuple(int(x) for x in self.assignment), full)[0]
            if not best_ux < current * (1.0 - self.hysteresis):
                best = self.assignment
        elif (self.assignment != self.full).any():
            best = self.full
        if (best != self.assignment).any():
            self._switch(best, now_ms)

    def _switch(self, assignment: np.ndarray, now_ms: float) -> None:
        self.assignment = np.asarray(assignment, dtype=np.int64).copy()
        self.last_change_ms = now_ms
        self.changes.append((now_ms, tuple(int(v) for v in self.assignment)))

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
