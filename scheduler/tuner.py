"""Online tuner of SDRM3's parameters theta (finite differences over windows of a run).

Once per window the tuner receives the UXCost measured over that window (the window's energy and
violations, :class:`scheduler.state.WindowMetrics`) and returns the theta for the next window. The
rule is coordinate-wise finite-difference descent with an adaptive step (Rprop-like) whose moves
and step sizes change only on statistical evidence; nothing changes with the passing of time:

- UXCost is compared in log space (it is a product, and its noise is roughly proportional to it).
  ``warmup`` windows at the start are ignored, and so is a window without a finite positive
  UXCost (nothing resolved in it). With ``cycle > 1`` (windows shorter than the
  workload's hyperperiod) windows are compared per *slot* ``k mod cycle`` so that a window is only
  compared with windows releasing the same frames;
- *baseline*: after a (re)start ``baseline_rounds`` windows per slot run the accepted theta. Their
  per-slot means are the baseline f; the spread around them estimates the window noise sigma
  (pooled over slots and over the accepted thetas since the last restart, at least
  ``noise_floor``);
- *probe*: a candidate theta runs up to ``probe_rounds`` windows per slot. Its mean log difference
  d to the slots' baselines is judged with a one-sided two-sample t-test (standard error from sigma,
  the probe's and the baselines' sample sizes; critical value of Student's t at level ``alpha``,
  ``scipy.stats.t``): the probe is *accepted* only if it is significantly better and its gain
  ``1 - exp(d)`` is at least ``tolerance``; it is *rejected* as soon as it is significantly worse,
  or at its end otherwise. An accepted theta's probe windows become its baseline;
- *coarse search* first (optional): for each tunable coordinate the values ``factor x theta_i`` of
  ``coarse[i]`` (clipped to the bounds) are probed in order, with the same test and
  ``coarse_tolerance`` as minimum gain; the first accepted one places the coordinate. This reaches
  a distant better value that small finite differences would not;
- then one coordinate at a time is probed at theta_i + d_i s_i r_i (``r_i`` the width of the
  coordinate's bounds, ``s_i`` its step as a fraction of it, ``d_i = +-1`` its direction; clipped
  to the bounds). Accepted: theta moves, ``s_i x grow`` (at most ``max_step``), same direction
  next time. Rejected: ``s_i x shrink`` and the direction flips. Steps change on no other event;
  coordinates are visited round-robin, skipping those whose step is below ``min_step``;
- *settled* when every tunable coordinate's step fell below ``min_step`` (through rejections) and
  no coarse value is left: theta is then held;
- *workload change*: windows that run the held theta feed a two-sided CUSUM (Page's test) of their
  standardised residuals ``(log u - f) / (sigma sqrt(1 + 1/n))``, reference ``cusum_k``, threshold
  ``cusum_h`` (in sigma units). An alarm means the workload changed (a model joined or left, a
  cascade probability moved): the steps return to ``step0``, the noise estimate is discarded and a
  new baseline is measured, then exploration starts again;
- ``tunable`` (one bool per parameter) holds the others at theta0: they are never probed;
- ``windows`` (the run's length in windows, if known): no probe is started that would leave fewer
  than ``exploit x cycle`` windows after it, too few to earn back what a bad probe costs.

Every window is recorded in :meth:`Tuner.trace_frame` (theta in effect, UXCost, baseline, noise,
CUSUM statistic, phase, event); :mod:`scheduler.tuner_trace` draws it (``plot_trace``) and finds
when a UXCost series settled (``settling_window``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from rtmm.errors import SimulationError

DEFAULT_NAMES = ("alpha", "beta", "gamma")


class Tuner:
    """Evidence-driven adaptive-step coordinate descent over bounded parameters."""

    def __init__(
        self,
        theta0: Sequence[float],
        bounds: np.ndarray | None = None,
        *,
        names: Sequence[str] = DEFAULT_NAMES,
        step0: float = 0.2,
        grow: float = 1.5,
        shrink: float = 0.5,
        min_step: float = 0.03,
        max_step: float = 0.5,
        tolerance: float = 0.02,
        alpha: float = 0.05,
        baseline_rounds: int = 6,
        probe_rounds: int = 3,
        noise_floor: float = 0.01,
        memory: int = 20,
        cusum_k: float = 0.5,
        cusum_h: float = 8.0,
        tunable: Sequence[bool] | None = None,
        coarse: Sequence[Sequence[float]] | None = None,
        coarse_tolerance: float = 0.2,
        cycle: int = 1,
        warmup: int = 0,
        windows: int | None = None,
        exploit: int = 3,
    ) -> None:
        if bounds is None:
            raise SimulationError("tuner: no bounds", source="<api>", allowed="[k x 2] array")
        self.bounds = np.asarray(bounds, dtype=float)
        theta = np.asarray(theta0, dtype=float)
        if self.bounds.shape != (len(theta), 2) or np.any(self.bounds[:, 1] <= self.bounds[:, 0]):
            raise SimulationError(
                f"tuner: bounds of shape {self.bounds.shape} for {len(theta)} parameters",
                source="<api>",
                allowed="[[low, high], ...] with low < high, one row per parameter",
            )
        if not 0 < shrink < 1 < grow or not 0 < min_step <= step0 <= max_step:
            raise SimulationError(
                f"tuner: grow {grow}, shrink {shrink}, steps {min_step}/{step0}/{max_step}",
                source="<api>",
                allowed="0 < shrink < 1 < grow, 0 < min_step <= step0 <= max_step",
            )
        if not (0 < alpha < 0.5 and 0 <= tolerance < 1 and noise_floor > 0 and cusum_h > 0):
            raise SimulationError(
                f"tuner: alpha {alpha}, tolerance {tolerance}, noise_floor {noise_floor}, "
                f"cusum_h {cusum_h}",
                source="<api>",
                allowed="0 < alpha < 0.5, 0 <= tolerance < 1, noise_floor > 0, cusum_h > 0",
            )
        if int(baseline_rounds) < 2 or int(probe_rounds) < 1 or int(memory) < baseline_rounds:
            raise SimulationError(
                f"tuner: baseline_rounds {baseline_rounds}, probe_rounds {probe_rounds}, "
                f"memory {memory}",
                source="<api>",
                allowed="baseline_rounds >= 2, probe_rounds >= 1, memory >= baseline_rounds",
            )
        self.names = tuple(names)
        self.theta = np.clip(theta, self.bounds[:, 0], self.bounds[:, 1])
        self.step0, self.grow, self.shrink = step0, grow, shrink
        self.min_step, self.max_step = min_step, max_step
        self.tolerance, self.alpha, self.noise_floor = tolerance, alpha, noise_floor
        self.baseline_rounds, self.probe_rounds = int(baseline_rounds), int(probe_rounds)
        self.memory = int(memory)
        self.cusum_k, self.cusum_h = cusum_k, cusum_h
        mask = np.ones(len(theta), dtype=bool) if tunable is None else np.asarray(tunable, bool)
        self.tunable = mask
        if self.tunable.shape != (len(theta),) or not self.tunable.any():
            raise SimulationError(
                f"tuner: tunable mask {tunable!r} for {len(theta)} parameters",
                source="<api>",
                allowed="one bool per parameter, at least one True",
            )
        self.coarse = [tuple(float(f) for f in c) for c in (coarse or [()] * len(theta))]
        if len(self.coarse) != len(theta) or not 0 <= coarse_tolerance < 1:
            raise SimulationError(
                f"tuner: coarse factors {coarse!r}, coarse_tolerance {coarse_tolerance}",
                source="<api>",
                allowed="one sequence of factors per parameter, 0 <= coarse_tolerance < 1",
            )
        self.coarse_tolerance = coarse_tolerance
        if int(cycle) < 1 or int(warmup) < 0:
            raise SimulationError(
                f"tuner: cycle {cycle}, warmup {warmup}", source="<api>", allowed="cycle >= 1, >= 0"
            )
        self.cycle, self.warmup = int(cycle), int(warmup)
        self.windows, self.exploit = windows, int(exploit)
        self._windows = 0
        self._slot = 0
        self._closing = False  # too few windows left to start a probe
        self.rows: list[dict] = []
        self._restart()

    # --- state machine ---------------------------------------------------------------------
    def _restart(self) -> None:
        """Forget the workload: steps at least ``step0``, a new baseline and noise estimate."""
        previous = getattr(self, "steps", np.zeros(len(self.theta)))
        self.steps = np.where(self.tunable, np.maximum(previous, self.step0), 0.0)
        self.direction = np.ones(len(self.theta))
        self.coordinate = 0
        self.epoch: list[list[float]] = [[] for _ in range(self.cycle)]  # log UXCost per slot
        self._pooled_ss, self._pooled_df = 0.0, 0  # noise of earlier accepted thetas
        self.trial: list[tuple[int, float]] = []  # (slot, log UXCost) of the running probe
        self.cusum = np.zeros(2)  # upper, lower
        self.phase = "baseline"
        self.candidate = self.theta.copy()
        self.queue: list[tuple[int, float]] = []  # coarse candidates (coordinate, value), in order
        for i in np.flatnonzero(self.tunable):
            low, high = self.bounds[i]
            seen = {float(self.theta[i])}
            for f in self.coarse[i]:
                v = float(np.clip(f * self.theta[i], low, high))
                if v not in seen:
                    seen.add(v)
                    self.queue.append((int(i), v))

    def _slot_mean(self, slot: int) -> float:
        values = self.epoch[slot]
        return float(np.mean(values)) if values else float("nan")

    @property
    def baseline(self) -> float:
        """Baseline f (geometric mean UXCost) of the accepted theta for the current slot."""
        return float(np.exp(self._slot_mean(self._slot)))

    @staticmethod
    def _within(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
        """Sum of squares around each group's mean and its degrees of freedom."""
        ss, df = 0.0, 0
        for values in groups:
            if len(values) > 1:
                ss += float(np.sum((np.asarray(values) - np.mean(values)) ** 2))
                df += len(values) - 1
        return ss, df

    def _trial_groups(self) -> list[list[float]]:
        return [[v for s, v in self.trial if s == slot] for slot in range(self.cycle)]

    def _noise(self) -> tuple[float, int]:
        """(sigma of log UXCost, degrees of freedom): within-slot spread since the restart, pooled
        over the accepted thetas and the running probe (a pooled two-sample estimate)."""
        ss, df = self._within([*self.epoch, *self._trial_groups()])
        ss, df = ss + self._pooled_ss, df + self._pooled_df
        sigma = np.sqrt(ss / df) if df > 0 else 0.0
        return max(float(sigma), self.noise_floor), df

    @property
    def settled(self) -> bool:
        return not self.queue and bool(np.all(self.steps < self.min_step))

    def _search_phase(self) -> str:
        if self._closing:
            return "hold"
        if self.queue:
            return "coarse"
        return "hold" if self.settled else "probe"

    @property
    def current(self) -> np.ndarray:
        """The theta in effect for the coming window."""
        return self.candidate.copy()

    def step(self, uxcost: float, time_ms: float = float("nan")) -> np.ndarray:
        """Observe the UXCost of the window that just ended; return theta for the next one."""
        phase, used = self.phase, self.candidate.copy()
        self._slot = self._windows % self.cycle
        self._windows += 1
        if self._windows <= self.warmup:
            event = "warmup"
        elif not (np.isfinite(uxcost) and uxcost > 0):
            event = "no data"
        elif phase in ("coarse", "probe"):
            event = self._judge(float(np.log(uxcost)))
        else:
            event = self._track(float(np.log(uxcost)))
        if not self.trial and event != "warmup":
            self._propose()
        sigma, _ = self._noise()
        self.rows.append(
            {
                "window": len(self.rows),
                "end_ms": time_ms,
                "uxcost": uxcost,
                "baseline": self.baseline,
                "noise": sigma,
                "cusum": float(self.cusum.max()),
                "phase": phase,
                "event": event,
                **{f"{n}": float(v) for n, v in zip(self.names, used, strict=True)},
                **{f"accepted_{n}": float(v) for n, v in zip(self.names, self.theta, strict=True)},
                "step": float(self.steps.max()),
            }
        )
        return self.current

    def _difference(self) -> tuple[float, float, float]:
        """(mean log difference d of the probe to the baselines, its standard error, t critical)."""
        slots = np.array([s for s, _ in self.trial])
        x = np.array([v for _, v in self.trial])
        means = np.array([self._slot_mean(s) for s in range(self.cycle)])
        sizes = np.array([len(e) for e in self.epoch], dtype=float)
        n = len(x)
        d = float(np.mean(x - means[slots]))
        counts = np.bincount(slots, minlength=self.cycle)
        sigma, df = self._noise()
        with np.errstate(divide="ignore", invalid="ignore"):  # a slot without baseline: se = inf
            spread = np.where(counts > 0, counts**2 / sizes, 0.0)
        se = sigma * np.sqrt(n + np.sum(spread)) / n
        crit = stats.t.ppf(1.0 - self.alpha / self.probe_rounds, max(df, 1))
        return d, float(se), float(crit)

    def _judge(self, log_ux: float) -> str:
        """One more window of the running probe: a sequential test, decided as soon as it can be.

        Rejected as soon as its gain is significantly below the minimum gain (at any window);
        accepted at the end of a round (one window per slot) once it is significantly better with
        at least the minimum gain; rejected after ``probe_rounds`` rounds otherwise. Each round's
        look is tested at ``alpha / probe_rounds`` (Bonferroni), so repeated looks do not raise
        the chance of accepting a probe that is no better.
        """
        self.trial.append((self._slot, log_ux))
        d, se, crit = self._difference()
        floor = float(
            np.log1p(-(self.coarse_tolerance if self.phase == "coarse" else self.tolerance))
        )
        if d - crit * se > floor:
            return self._decide(accept=False)
        if len(self.trial) % self.cycle:
            return "probe"
        if d < -crit * se and d <= floor:
            return self._decide(accept=True)
        if len(self.trial) >= self.probe_rounds * self.cycle:
            return self._decide(accept=False)
        return "probe"

    def _decide(self, accept: bool) -> str:
        trial, self.trial = self.trial, []
        if self.phase == "coarse":
            i, _ = self.queue.pop(0)
            if accept:
                self.queue = [(k, v) for k, v in self.queue if k != i]  # coordinate i is placed
        else:
            i = self.coordinate
            if accept:
                self.steps[i] = min(self.steps[i] * self.grow, self.max_step)
            else:
                self.steps[i] *= self.shrink
                self.direction[i] = -self.direction[i]
            self.coordinate = (i + 1) % len(self.theta)
        if accept:  # the probe's windows become the new theta's baseline
            self.theta = self.candidate.copy()
            ss, df = self._within(self.epoch)
            self._pooled_ss, self._pooled_df = self._pooled_ss + ss, self._pooled_df + df
            self.epoch = [[] for _ in range(self.cycle)]
            for slot, value in trial:
                self.epoch[slot].append(value)
        short = accept and min(map(len, self.epoch)) < self.baseline_rounds
        self.phase = "baseline" if short else self._search_phase()
        return "accept" if accept else "reject"

    def _track(self, log_ux: float) -> str:
        """A window run with the accepted theta: baseline sample, or CUSUM watch while held."""
        values = self.epoch[self._slot]
        if self.phase == "baseline" or not values:
            values.append(log_ux)
            if self.phase == "baseline" and min(map(len, self.epoch)) >= self.baseline_rounds:
                self.phase = self._search_phase()
            return "baseline"
        sigma, df = self._noise()
        t = (log_ux - float(np.mean(values))) / (sigma * np.sqrt(1.0 + 1.0 / len(values)))
        # a new window's residual follows Student's t with the noise estimate's degrees of freedom:
        # map it to a standard normal score so that a small baseline does not raise false alarms
        z = float(np.clip(stats.norm.ppf(stats.t.cdf(t, max(df, 1))), -8.0, 8.0))
        self.cusum = np.maximum(0.0, self.cusum + np.array([z, -z]) - self.cusum_k)
        if self.cusum.max() > self.cusum_h:
            self._restart()
            self.epoch[self._slot].append(log_ux)
            return "restart"
        values.append(log_ux)
        if len(values) > self.memory:
            values.pop(0)
        return "hold"

    def _propose(self) -> None:
        """Set the theta of the coming window: the next probe's, or the accepted one."""
        left = None if self.windows is None else self.windows - self._windows
        length = self.probe_rounds * self.cycle
        short = left is not None and left - length < self.exploit * self.cycle
        if self.phase in ("coarse", "probe") and short:
            self._closing = True  # too few windows left to exploit what a probe could find
            self.phase = "hold"
        self.candidate = self.theta.copy()
        if self.phase == "coarse":
            i, value = self.queue[0]
            self.candidate[i] = value
            return
        if self.phase != "probe":
            return
        n = len(self.theta)
        for _ in range(n):
            if self.steps[self.coordinate] >= self.min_step:
                break
            self.coordinate = (self.coordinate + 1) % n
        i = self.coordinate
        low, high = self.bounds[i]
        width = high - low
        cand = self.candidate
        cand[i] = np.clip(cand[i] + self.direction[i] * self.steps[i] * width, low, high)
        if cand[i] == self.theta[i]:  # at a bound: probe the other side
            self.direction[i] = -self.direction[i]
            cand[i] = np.clip(self.theta[i] + self.direction[i] * self.steps[i] * width, low, high)

    # --- outputs ---------------------------------------------------------------------------
    def trace_frame(self) -> pd.DataFrame:
        """One row per window: theta in effect, accepted theta, UXCost, baseline, noise, phase."""
        cols = ["window", "end_ms", "uxcost", "baseline", "noise", "cusum", "phase", "event"]
        cols += [*self.names, *(f"accepted_{n}" for n in self.names), "step"]
        return pd.DataFrame(self.rows, columns=cols)
