"""Online tuner of SDRM3's parameters theta (finite differences over windows of a run).

Once per window the tuner receives the UXCost measured over that window (the window's energy and
violations, :class:`scheduler.state.WindowMetrics`) and returns the theta for the next window. The
rule is coordinate-wise finite-difference descent with an adaptive step (Rprop-like):

- ``warmup`` windows at the start are ignored; the first window(s) after a (re)start measure the
  *baseline* f of the current theta. With ``cycle > 1`` (windows shorter than the workload's
  hyperperiod) f is kept per *slot* ``k mod cycle`` so that a window is only compared with windows
  releasing the same frames; an accepted move rescales every slot's f by the judged slot's ratio;
- *coarse search* first: for each tunable coordinate the values ``factor x theta_i`` of
  ``coarse[i]`` (clipped to the bounds) are probed one window each, in order; the first whose
  UXCost is below ``f x (1 - coarse_tolerance)`` (a clear gain, beyond window noise) is accepted and
  the coordinate's remaining coarse values are skipped. This reaches a distant better value (e.g.
  SDRM3's gamma = 0) that small finite differences would not;
- then one coordinate at a time is *probed*: theta_i + d_i s_i r_i for one window (``r_i`` is the
  width of the coordinate's bounds, ``s_i`` its step as a fraction of it, ``d_i = +-1`` its
  direction; the probe is clipped to the bounds). The one-sided difference decides: if the probe's
  UXCost is below ``f x (1 - tolerance)`` it is accepted (theta moves, f becomes the probe's
  UXCost, ``s_i x grow``, same direction next time); otherwise theta stays, ``s_i x shrink`` and the
  direction flips. Coordinates are visited round-robin;
- every window also multiplies all steps by ``decay`` (< 1), so exploration is concentrated in the
  first windows after a (re)start and the tuner settles within a bounded number of windows
  (``step0 x decay^k < min_step``: 6 windows with the defaults) even when noise keeps producing
  accepted probes;
- ``tunable`` (one bool per parameter) holds the others at theta0: they are never probed;
- ``windows`` (the run's length in windows, if known): no probe is started with fewer than
  ``exploit x cycle`` windows left after it, too few to earn back what a bad probe costs;
- a coordinate whose step fell below ``min_step`` is settled; once all are, theta is held and f is
  tracked as a moving average of the windows' UXCost;
- *workload change*: when ``patience`` consecutive windows measured with the accepted theta (held
  or baseline windows) deviate from f by more than ``jump`` (relative) in the same direction, the
  workload is taken to have changed (a model joined or left, a cascade probability moved): steps
  are reset to ``step0`` and a new baseline is measured.

Every window is recorded in :meth:`Tuner.trace_frame` (theta in effect, UXCost, baseline, phase,
event); :func:`plot_trace` draws it, :func:`settling_window` finds when a UXCost series settled.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from rtmm.errors import SimulationError
from rtmm.fileio import atomic_path

DEFAULT_NAMES = ("alpha", "beta", "gamma")


class Tuner:
    """Adaptive-step coordinate descent over bounded parameters, one window at a time."""

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
        jump: float = 0.5,
        patience: int = 2,
        smoothing: float = 0.5,
        decay: float = 0.7,
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
        if not 0 < shrink < 1 < grow or not 0 < min_step <= step0 <= max_step or not 0 < decay <= 1:
            raise SimulationError(
                f"tuner: grow {grow}, shrink {shrink}, decay {decay}, "
                f"steps {min_step}/{step0}/{max_step}",
                source="<api>",
                allowed="0 < shrink < 1 < grow, 0 < decay <= 1, 0 < min_step <= step0 <= max_step",
            )
        self.names = tuple(names)
        self.theta = np.clip(theta, self.bounds[:, 0], self.bounds[:, 1])
        self.step0, self.grow, self.shrink = step0, grow, shrink
        self.min_step, self.max_step = min_step, max_step
        self.tolerance, self.jump, self.patience = tolerance, jump, patience
        self.smoothing = smoothing
        self.decay = decay
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
        self.rows: list[dict] = []
        self._restart()

    # --- state machine ---------------------------------------------------------------------
    def _restart(self) -> None:
        self.steps = np.where(self.tunable, self.step0, 0.0)
        self.direction = np.ones(len(self.theta))
        self.coordinate = 0
        self.baselines = np.full(self.cycle, np.nan)
        self.phase = "baseline"
        self.candidate = self.theta.copy()
        self._streak = 0
        self.queue: list[tuple[int, float]] = []  # coarse candidates (coordinate, value), in order
        for i in np.flatnonzero(self.tunable):
            low, high = self.bounds[i]
            seen = {float(self.theta[i])}
            for f in self.coarse[i]:
                v = float(np.clip(f * self.theta[i], low, high))
                if v not in seen:
                    seen.add(v)
                    self.queue.append((int(i), v))

    @property
    def baseline(self) -> float:
        """Baseline f of the accepted theta for the current window's slot in the cycle."""
        return float(self.baselines[self._slot])

    def _rebase(self, uxcost: float) -> None:
        """An accepted move: the slot's baseline becomes ``uxcost``, the others scale with it."""
        f = self.baseline
        if self.cycle == 1 or not (np.isfinite(f) and f > 0):
            self.baselines[:] = np.nan
        else:
            self.baselines *= uxcost / f
        self.baselines[self._slot] = uxcost

    @property
    def settled(self) -> bool:
        return not self.queue and bool(np.all(self.steps < self.min_step))

    def _search_phase(self) -> str:
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
        event = ""
        if self._windows <= self.warmup:
            event = "warmup"
        elif not np.isfinite(uxcost):
            event = "no data"
        elif phase == "coarse":
            event = self._judge_coarse(uxcost)
        elif phase == "probe":
            event = self._judge_probe(uxcost)
        else:
            event = self._track(uxcost)
        if event not in ("no data", "restart", "warmup"):
            self.steps *= self.decay
            if self.phase == "probe" and self.settled:
                self.phase = "hold"
        if event == "warmup":
            pass
        elif self.phase != "hold" or event == "restart":
            self._propose()
        self.rows.append(
            {
                "window": len(self.rows),
                "end_ms": time_ms,
                "uxcost": uxcost,
                "baseline": self.baseline,
                "phase": phase,
                "event": event,
                **{f"{n}": float(v) for n, v in zip(self.names, used, strict=True)},
                **{f"accepted_{n}": float(v) for n, v in zip(self.names, self.theta, strict=True)},
                "step": float(self.steps.max()),
            }
        )
        return self.current

    def _judge_coarse(self, uxcost: float) -> str:
        i, _ = self.queue.pop(0)
        if uxcost <= self.baseline * (1.0 - self.coarse_tolerance):
            self.theta = self.candidate.copy()
            self._rebase(uxcost)
            self.queue = [(k, v) for k, v in self.queue if k != i]  # coordinate i is placed
            event = "accept"
        else:
            event = "reject"
        self.phase = self._search_phase()
        if self.phase == "hold":
            self.candidate = self.theta.copy()
        return event

    def _judge_probe(self, uxcost: float) -> str:
        i = self.coordinate
        if uxcost <= self.baseline * (1.0 - self.tolerance):
            self.theta = self.candidate.copy()
            self._rebase(uxcost)
            self.steps[i] = min(self.steps[i] * self.grow, self.max_step)
            event = "accept"
        else:
            self.steps[i] *= self.shrink
            self.direction[i] = -self.direction[i]
            event = "reject"  # a probe window cannot tell a jump from a bad probe
        self.coordinate = (i + 1) % len(self.theta)
        if self.settled:
            self.phase = "hold"
            self.candidate = self.theta.copy()
        return event

    def _is_jump(self, uxcost: float) -> bool:
        f = self.baseline
        return bool(np.isfinite(f) and f > 0 and abs(uxcost - f) > self.jump * f)

    def _track(self, uxcost: float) -> str:
        """A window run with the accepted theta: (re)measure the baseline, watch for a jump."""
        if self.phase == "baseline" or not np.isfinite(self.baseline):
            self.baselines[self._slot] = uxcost
            if np.all(np.isfinite(self.baselines)):
                self.phase = self._search_phase()
            else:
                self.phase = "baseline"
            return "baseline"
        if self._is_jump(uxcost):
            sign = 1 if uxcost > self.baseline else -1
            self._streak = self._streak + sign if self._streak * sign >= 0 else sign
            if abs(self._streak) >= self.patience:
                self._restart()
                self.baselines[self._slot] = uxcost
                if np.all(np.isfinite(self.baselines)):
                    self.phase = self._search_phase()
                return "restart"
            return "jump?"
        self._streak = 0
        a = self.smoothing
        self.baselines[self._slot] = a * uxcost + (1 - a) * self.baseline
        return "hold"

    def _propose(self) -> None:
        left = None if self.windows is None else self.windows - self._windows - 1
        short = left is not None and left < self.exploit * self.cycle
        if self.phase in ("coarse", "probe") and short:
            self.queue = []  # too few windows left to exploit what a probe could find
            self.steps[:] = 0.0
            self.phase = "hold"
        if self.phase == "coarse":
            i, value = self.queue[0]
            self.candidate = self.theta.copy()
            self.candidate[i] = value
            return
        if self.phase != "probe":
            self.candidate = self.theta.copy()
            return
        n = len(self.theta)
        for _ in range(n):
            if self.steps[self.coordinate] >= self.min_step:
                break
            self.coordinate = (self.coordinate + 1) % n
        i = self.coordinate
        low, high = self.bounds[i]
        width = high - low
        cand = self.theta.copy()
        cand[i] = np.clip(cand[i] + self.direction[i] * self.steps[i] * width, low, high)
        if cand[i] == self.theta[i]:  # at a bound: probe the other side
            self.direction[i] = -self.direction[i]
            cand[i] = np.clip(self.theta[i] + self.direction[i] * self.steps[i] * width, low, high)
        self.candidate = cand

    # --- outputs ---------------------------------------------------------------------------
    def trace_frame(self) -> pd.DataFrame:
        """One row per window: theta in effect, accepted theta, UXCost, baseline, phase, event."""
        cols = ["window", "end_ms", "uxcost", "baseline", "phase", "event", *self.names]
        cols += [f"accepted_{n}" for n in self.names] + ["step"]
        return pd.DataFrame(self.rows, columns=cols)


def settling_window(values: Sequence[float], tolerance: float = 0.05) -> int:
    """First index after which every value stays within ``tolerance`` of the last value.

    Returns 0 for an empty or constant series; non-finite values count as outside the band.
    """
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return 0
    final = v[-1]
    inside = np.isfinite(v) & (np.abs(v - final) <= tolerance * abs(final))
    outside = np.flatnonzero(~inside)
    return 0 if len(outside) == 0 else int(outside[-1]) + 1


def static_uxcost_trace(
    trace: pd.DataFrame,
    evaluate: Callable[[np.ndarray], float],
    names: Sequence[str] = DEFAULT_NAMES,
) -> np.ndarray:
    """UXCost of the theta *accepted* after each window, each evaluated with ``evaluate(theta)``.

    ``evaluate`` runs the workload with a fixed theta (e.g. a full simulation with the tuner off),
    so the series measures what the tuner's choice is worth, free of window-to-window noise.
    Identical thetas are evaluated once.
    """
    cache: dict[tuple, float] = {}
    out = []
    for row in trace.itertuples(index=False):
        theta = tuple(round(float(getattr(row, f"accepted_{n}")), 12) for n in names)
        if theta not in cache:
            cache[theta] = float(evaluate(np.array(theta)))
        out.append(cache[theta])
    return np.array(out)


def plot_trace(
    trace: pd.DataFrame,
    path: str | os.PathLike,
    title: str = "",
    names: Sequence[str] = DEFAULT_NAMES,
) -> None:
    """Two panels: window UXCost (and baseline) per window; theta in effect per window."""
    from scheduler.outputs import new_figure

    fig = new_figure((7, 5))
    top, bottom = fig.subplots(2, 1, sharex=True)
    w = trace["window"].to_numpy()
    top.plot(w, trace["uxcost"], "o-", label="window UXCost", color="#04395E")
    top.plot(w, trace["baseline"], "--", label="baseline f", color="#D5896F")
    for ev, marker in (("accept", "^"), ("restart", "x")):
        sel = trace["event"] == ev
        top.plot(w[sel], trace.loc[sel, "uxcost"], marker, color="k", label=ev, linestyle="none")
    top.set_ylabel("UXCost")
    top.set_yscale("log")
    top.legend(fontsize=7)
    for n in names:
        bottom.plot(w, trace[n], "o-", label=n, markersize=3)
    bottom.set_xlabel("window")
    bottom.set_ylabel("theta")
    bottom.legend(fontsize=7, ncol=4)
    if title:
        top.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
