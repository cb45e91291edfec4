"""Online tuning of SDRM3's theta by paired counterfactual replays (model-predictive tuning).

:class:`ReplayTuner` is the decision rule. Each window it is given the UXCost of the window
*replayed* (:mod:`scheduler.replay`) under the current theta and under its neighbours — theta with
one tunable coordinate moved by ``+- step_i x width_i`` (clipped to the bounds) — all on the same
recorded inputs. The log-ratio ``d_k = log c_k - log c_0`` of neighbour k to the current theta is
then a *paired* difference: arrivals, cascade outcomes and the starting queue are common to both,
so it measures the policy's effect on that window, not the window-to-window noise.

- *move*: over the windows since theta last moved (the last ``memory`` of them, at least
  ``evidence``), a neighbour qualifies if its mean ``d`` is at most ``log(1 - tolerance)`` and
  significantly below 0 (one-sided paired t-test at level ``alpha`` / number of neighbours; a
  single window when ``evidence`` is 1 counts as significant). Theta moves to the qualifying
  neighbour with the lowest mean. The replays are paired, so a real effect that holds window
  after window is significant after two windows; a neighbour that is better on some windows and
  worse on others is not;
- *steps*: a coordinate's step grows by ``grow`` (at most ``max_step``) when theta moves along it in
  the same direction as its previous move, and returns to ``step0`` when it moves the other way.
  Steps change on no other event: nothing decays with time, so theta stops moving only because no
  neighbour is better on the replays;
- a window without a finite positive UXCost for the current theta (nothing resolved) is skipped.

:class:`ReplayDriver` feeds it: it records what the policy observes during a window (the state at
its start, the frames that became ready, the cascade outcomes), builds the window's
:class:`~scheduler.replay.ReplayInputs` at its end, runs the replays and measures their CPU time
(a real cost of the method: ``cpu_s`` in the trace).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from rtmm.errors import SimulationError
from scheduler.replay import (
    ReplayInputs,
    WindowStart,
    fresh_job,
    replay_costs,
    snapshot,
)
from scheduler.state import FrameStatus, Job, SchedulerState

if TYPE_CHECKING:
    from scheduler.decisions import RunContext
    from scheduler.policies.base import Policy

_DONE = (FrameStatus.ON_TIME, FrameStatus.LATE)


class ReplayTuner:
    """Paired-replay neighbour search over bounded parameters (module docstring)."""

    def __init__(
        self,
        theta0: Sequence[float],
        bounds: np.ndarray,
        *,
        names: Sequence[str],
        step0: float = 0.1,
        grow: float = 1.5,
        max_step: float = 0.4,
        tolerance: float = 0.01,
        evidence: int = 2,
        alpha: float = 0.05,
        memory: int = 12,
        tunable: Sequence[bool] | None = None,
    ) -> None:
        self.bounds = np.asarray(bounds, dtype=float)
        theta = np.asarray(theta0, dtype=float)
        if self.bounds.shape != (len(theta), 2) or np.any(self.bounds[:, 1] <= self.bounds[:, 0]):
            raise SimulationError(
                f"replay tuner: bounds of shape {self.bounds.shape} for {len(theta)} parameters",
                source="<api>",
                allowed="[[low, high], ...] with low < high, one row per parameter",
            )
        ok = 0 < step0 <= max_step <= 1 and grow >= 1 and 0 <= tolerance < 1 and 0 < alpha < 0.5
        if not ok or not 1 <= int(evidence) <= int(memory):
            raise SimulationError(
                f"replay tuner: step0 {step0}, max_step {max_step}, grow {grow}, "
                f"tolerance {tolerance}, alpha {alpha}, evidence {evidence}, memory {memory}",
                source="<api>",
                allowed="0 < step0 <= max_step <= 1, grow >= 1, 0 <= tolerance < 1, "
                "0 < alpha < 0.5, 1 <= evidence <= memory",
            )
        self.names = tuple(names)
        self.theta = np.clip(theta, self.bounds[:, 0], self.bounds[:, 1])
        self.tunable = np.ones(len(theta), bool) if tunable is None else np.asarray(tunable, bool)
        self.step0, self.grow, self.max_step = step0, grow, max_step
        self.tolerance, self.evidence = tolerance, int(evidence)
        self.alpha, self.memory = alpha, int(memory)
        self.steps = np.where(self.tunable, step0, 0.0)
        self.last_direction = np.zeros(len(theta))
        self.history: list[np.ndarray] = []  # paired log-ratios per window since the last move
        self.rows: list[dict] = []

    @property
    def current(self) -> np.ndarray:
        return self.theta.copy()

    def candidates(self) -> list[np.ndarray]:
        """The current theta first, then each neighbour (one coordinate moved), no duplicates."""
        out = [self.theta.copy()]
        width = self.bounds[:, 1] - self.bounds[:, 0]
        for i in np.flatnonzero(self.tunable):
            for sign in (1.0, -1.0):
                cand = self.theta.copy()
                low, high = self.bounds[i]
                cand[i] = np.clip(cand[i] + sign * self.steps[i] * width[i], low, high)
                if all(not np.array_equal(cand, c) for c in out):
                    out.append(cand)
        return out

    def step(
        self,
        costs: Sequence[float] | np.ndarray,
        uxcost: float = float("nan"),
        time_ms: float = float("nan"),
        cpu_s: float = float("nan"),
    ) -> np.ndarray:
        """``costs`` = replayed UXCost of each of :meth:`candidates` (same order) for the window
        that just ended; ``uxcost`` its observed UXCost (recorded only). Returns the next theta."""
        cands = self.candidates()
        c = np.asarray(costs, dtype=float)
        if len(c) != len(cands):
            raise SimulationError(
                f"replay tuner: {len(c)} costs for {len(cands)} candidates", source="<api>"
            )
        used = self.theta.copy()
        event = "no data"
        if np.isfinite(c[0]) and c[0] > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(np.isfinite(c) & (c > 0), np.log(c / c[0]), np.inf)
            self.history.append(d)
            event = self._maybe_move(cands)
        self.rows.append(
            {
                "window": len(self.rows),
                "end_ms": time_ms,
                "uxcost": uxcost,
                "replay_uxcost": float(c[0]) if len(c) else float("nan"),
                "best_gain": float(1.0 - np.exp(np.min(self.history[-1]))) if self.history else 0.0,
                "candidates": len(cands),
                "cpu_s": cpu_s,
                "phase": "hold" if event != "move" else "move",
                "event": event,
                **{n: float(v) for n, v in zip(self.names, used, strict=True)},
                **{f"accepted_{n}": float(v) for n, v in zip(self.names, self.theta, strict=True)},
                "step": float(self.steps.max()),
            }
        )
        return self.current

    def _best(self) -> int | None:
        """The neighbour significantly better than theta by at least ``tolerance``, if any."""
        h = np.array(self.history[-self.memory :])[:, 1:]
        n = len(h)
        if n < self.evidence or h.shape[1] == 0 or not np.all(np.isfinite(h)):
            return None
        mean = h.mean(axis=0)
        se = h.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(h.shape[1])
        crit = stats.t.ppf(1.0 - self.alpha / h.shape[1], max(n - 1, 1)) if n > 1 else 0.0
        ok = (mean <= np.log1p(-self.tolerance)) & (mean + crit * se < 0.0)
        if not ok.any():
            return None
        return 1 + int(np.argmin(np.where(ok, mean, np.inf)))

    def _maybe_move(self, cands: list[np.ndarray]) -> str:
        k = self._best() if len(cands) > 1 else None
        if k is None:
            return "hold"
        moved = cands[k] - self.theta
        i = int(np.flatnonzero(moved)[0])
        direction = float(np.sign(moved[i]))
        if self.last_direction[i] == direction:
            self.steps[i] = min(self.steps[i] * self.grow, self.max_step)
        else:
            self.steps[i] = self.step0
        self.last_direction[i] = direction
        self.theta = cands[k].copy()
        self.history = []
        return "move"

    def trace_frame(self) -> pd.DataFrame:
        """One row per window: theta in effect and accepted, observed and replayed UXCost, the
        best neighbour's paired gain, the replays' CPU time."""
        cols = ["window", "end_ms", "uxcost", "replay_uxcost", "best_gain", "candidates", "cpu_s"]
        cols += ["phase", "event", *self.names, *(f"accepted_{n}" for n in self.names), "step"]
        return pd.DataFrame(self.rows, columns=cols)


class ReplayDriver:
    """Records a window's observations for :class:`ReplayTuner` and runs its replays.

    ``make_policy(theta)`` returns a fresh policy (tuner off) with that theta; ``observe_ready``
    is called for every job that becomes ready (from the policy's ``select_variant``);
    ``end_window`` at each window's end with the state then.
    """

    def __init__(
        self,
        ctx: RunContext,
        theta0: Sequence[float],
        bounds: np.ndarray,
        make_policy: Callable[[np.ndarray], Policy],
        *,
        window_ms: float,
        names: Sequence[str],
        memory: int = 30,
        **options,
    ) -> None:
        self.tuner = ReplayTuner(theta0, bounds, names=names, **options)
        self.make_policy = make_policy
        self.window_ms = float(window_ms)
        self.periods_ms = np.asarray(ctx.periods_ms, dtype=float)
        self.parents = tuple(ctx.parents)
        self.model_ids = tuple(ctx.model_ids)
        self.children = [
            tuple(c for c, p in enumerate(self.parents) if p == m) for m in range(len(self.parents))
        ]
        self.frames = [int(np.floor(ctx.horizon_ms / p + 1e-9)) for p in self.periods_ms]
        self.prior = np.asarray(ctx.probabilities, dtype=float)
        self.outcomes: list[deque[bool]] = [
            deque(maxlen=int(memory)) for _ in self.parents
        ]  # child fired or not
        self.seed = int(ctx.rng.integers(2**31))
        self.start = WindowStart(0.0, [], [])
        self.originals: list[Job] = []  # the real jobs present at the window's start
        self.ready: list[Job] = []  # real jobs that became ready since the window's start
        self.index = 0

    @property
    def theta(self) -> np.ndarray:
        return self.tuner.current

    def observe_ready(self, job: Job) -> None:
        self.ready.append(job)

    def end_window(self, uxcost: float, state: SchedulerState) -> np.ndarray:
        """Replay the window that ends now under each candidate; return the next theta."""
        t0 = time.process_time()
        end = float(state.now_ms)
        inputs = self._inputs(end)
        cands = self.tuner.candidates()
        if inputs.scored_count:
            costs = replay_costs(inputs, state, self.make_policy, cands)
        else:
            costs = np.full(len(cands), np.nan)
        self.start = snapshot(state)
        self.originals = [*state.ready, *(j for j in state.running if j is not None)]
        self.ready = [j for j in self.ready if j.ready_ms >= end]
        self.index += 1
        return self.tuner.step(costs, uxcost, end, time.process_time() - t0)

    def _inputs(self, end_ms: float) -> ReplayInputs:
        start = self.start
        new = [
            j for j in self.ready if j.ready_ms < end_ms and (j.model, j.frame) not in start.seen
        ]
        seen = start.seen | {(j.model, j.frame) for j in new}
        releases = [fresh_job(j) for j in new]
        parents = [*self.originals, *new]
        self._learn_triggers(parents, seen, end_ms)
        releases += self._drawn_children(parents, seen, end_ms)
        predicted = []
        taken = seen | {(j.model, j.frame) for j in releases}
        for j in releases:  # the next window releases what this one did, one window later
            k = int(round(self.window_ms / float(self.periods_ms[j.model])))
            key = (j.model, j.frame + k)
            if k >= 1 and j.frame + k < self.frames[j.model] and key not in taken:
                taken.add(key)
                predicted.append(fresh_job(j, k))
        return ReplayInputs(start, end_ms, tuple(releases), tuple(predicted))

    def _child_known(self, parent: Job, child: int, end_ms: float) -> bool:
        """Did the real run show by ``end_ms`` whether the child frame of ``parent`` fired?"""
        released = parent.frame * float(self.periods_ms[child]) <= end_ms
        return parent.status in _DONE and parent.completion_ms <= end_ms and released

    def _learn_triggers(self, parents: list[Job], seen: set, end_ms: float) -> None:
        """Trigger outcomes observed in this window (children of parents completed in it)."""
        for p in parents:
            for c in self.children[p.model]:
                if p.frame < self.frames[c] and self._child_known(p, c, end_ms):
                    self.outcomes[c].append((c, p.frame) in seen)

    def _rate(self, child: int) -> float:
        """Observed trigger rate of ``child`` (its recent outcomes; the scenario's prior first)."""
        seen = self.outcomes[child]
        return (float(self.prior[child]) + sum(seen)) / (1.0 + len(seen))

    def _drawn_children(self, parents: list[Job], seen: set, end_ms: float) -> list[Job]:
        """Children whose trigger the real run did not reveal, drawn at the observed rate."""
        rng = np.random.default_rng([self.seed, self.index])
        out: list[Job] = []
        work = list(parents)
        while work:
            p = work.pop()
            for c in self.children[p.model]:
                key = (c, p.frame)
                if key in seen or p.frame >= self.frames[c] or self._child_known(p, c, end_ms):
                    continue
                seen.add(key)
                if rng.random() < self._rate(c):
                    period = float(self.periods_ms[c])
                    release, deadline = p.frame * period, (p.frame + 1) * period
                    child = Job(
                        c, self.model_ids[c], p.frame, period, release, deadline, self.parents[c],
                        True,
                    )  # fmt: skip
                    out.append(child)
                    work.append(child)
        return out

    def trace_frame(self) -> pd.DataFrame:
        return self.tuner.trace_frame()
