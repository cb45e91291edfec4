"""SDRM3's windows: what the policy adapts once per window (theta, the Supernet selector's view).

``tuner=True`` (the registered ``sdrm3``) adapts theta online with :class:`scheduler.tuner.Tuner`
every window (default: :func:`~.sdrm3_terms.tuner_window_ms`) from the window's UXCost
(:func:`scheduler.metrics.running_uxcost`), comparing windows of the same slot of the hyperperiod
(:func:`~.sdrm3_terms.tuner_cycle`). ``tuner_options={"method": "replay", ...}`` uses instead
:class:`scheduler.replay_tuner.ReplayTuner`: each window is replayed from its recorded start under
theta and its neighbours (:mod:`scheduler.replay`, on copies of this policy made by
:meth:`SDRM3Windows._replay_policy`) and theta moves on the paired differences (off by default: it
did not meet issue 12's settling target either, at ~7x the CPU time; ``benchmarks/RESULTS.md``,
"Issue 12d"). The Supernet selector (:mod:`scheduler.supernet_selector`) observes each window too.

Windows are the engine's when it delivers them (``simulate(window_ms=...)``, :meth:`on_window`),
else the policy cuts its own at decision points (:meth:`_own_windows`).
:class:`SDRM3Windows` is a mixin of :class:`~scheduler.policies.sdrm3.SDRM3`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from scheduler.metrics import running_uxcost
from scheduler.policies.base import RunContext
from scheduler.policies.sdrm3_terms import (
    THETA_BOUNDS,
    THETA_NAMES,
    Theta,
    tuner_cycle,
    tuner_window_ms,
)
from scheduler.replay_tuner import ReplayDriver
from scheduler.state import RunningMetrics, SchedulerState, WindowMetrics
from scheduler.tuner import Tuner

#: The online tuner of ``sdrm3`` (``tuner_options["method"]``): ``"evidence"``
#: (:class:`scheduler.tuner.Tuner`, windows compared across time) or ``"replay"``
#: (:class:`scheduler.replay_tuner.ReplayTuner`, paired counterfactual replays of each window).
TUNER_METHOD = "evidence"


class SDRM3Windows:
    """The per-window adaptation of SDRM3: its windows, the tuners of theta, the selector's view."""

    # Set by SDRM3.__init__/reset.
    ctx: RunContext
    theta0: Theta
    theta: Theta
    use_tuner: bool
    window_ms_option: float | None
    tuner_options: dict
    selector: Any

    def _reset_windows(self, ctx: RunContext) -> None:
        """Start a run's windows and, with ``use_tuner`` (not under XRBench), its tuner."""
        self.window_ms = self.window_ms_option or tuner_window_ms(ctx.periods_ms)
        self._engine_windows = False
        self._next_window = self.window_ms
        self._window_index = 0
        self._snapshot: RunningMetrics | None = None
        self.tuner = None
        self.replay = None
        options = dict(self.tuner_options)
        if self.use_tuner and not ctx.xrbench and options.pop("method", TUNER_METHOD) == "replay":
            self.replay = ReplayDriver(
                ctx, self.theta0.as_array(), THETA_BOUNDS, self._replay_policy,
                window_ms=self.window_ms, names=THETA_NAMES, **options,
            )  # fmt: skip
        elif self.use_tuner and not ctx.xrbench:
            cycle = tuner_cycle(ctx.periods_ms, self.window_ms)
            options = {
                "bounds": THETA_BOUNDS,
                "names": THETA_NAMES,
                "cycle": cycle,
                "warmup": 1 if cycle > 1 else 0,
                "windows": int(ctx.horizon_ms / self.window_ms + 1e-9),
                **options,
            }
            bounds = options.pop("bounds")
            self.tuner = Tuner(self.theta0.as_array(), bounds, **options)

    def _replay_policy(self, theta: np.ndarray) -> Any:
        """A fresh copy of this policy with ``theta`` and no tuner (for the replay tuner)."""
        clone: Any = copy.copy(self)
        clone.use_tuner, clone.use_supernet = False, False
        clone.theta0 = Theta.from_array(theta)
        clone.reset(self.ctx)
        return clone

    def on_window(self, window: WindowMetrics, state: SchedulerState) -> None:
        """Engine windows (``simulate(window_ms=...)``) replace the policy's own windows."""
        self._engine_windows = True
        self._observe_window(window, state)

    def _observe_window(self, window: WindowMetrics, state: SchedulerState) -> None:
        if self.tuner is not None:
            cost = running_uxcost(window.delta)[0]
            self.theta = Theta.from_array(self.tuner.step(cost, window.end_ms))
        if self.replay is not None:
            cost = running_uxcost(window.delta)[0]
            self.theta = Theta.from_array(self.replay.end_window(cost, state))
        if self.selector is not None:
            self.selector.observe(window)

    def _windows_until_now(self, state: SchedulerState) -> None:
        """Cut the policy's own windows up to now if something adapts per window and the engine
        delivers no windows."""
        tuned = self.tuner is not None or self.replay is not None
        if not self._engine_windows and (tuned or self.selector is not None):
            self._own_windows(state)

    def _own_windows(self, state: SchedulerState) -> None:
        """Cut windows at decision points when the engine does not deliver them."""
        if self._snapshot is None:
            self._snapshot = RunningMetrics.zeros(len(state.model_ids))
        while state.now_ms >= self._next_window:
            delta = state.metrics - self._snapshot
            self._snapshot = state.metrics.copy()
            start = self._next_window - self.window_ms
            window = WindowMetrics(self._window_index, start, self._next_window, delta)
            self._observe_window(window, state)
            self._window_index += 1
            self._next_window += self.window_ms
