"""SDRM3's starvation guard (option ``guard`` of :mod:`.sdrm3`): a model whose last ``frames``
frames were all lost (late or dropped) is *starving*, until one of its frames completes on time.

While a model starves, SDRM3 (see :meth:`~.sdrm3.SDRM3.decide`)

- takes its ready jobs' pairs before every other pair (their MapScore is raised by a constant
  larger than any spread of MapScores; infeasible pairs stay excluded),
- never holds them back by exclusive-work protection or energy-aware deferral, and
- protects its expected frames on the accelerator where a whole frame finishes first, as if the
  model were pinned there (if a frame fits its period there; root models only, like the pins).

The rule has one parameter, ``frames``, the same for every model, scenario and system; it reads
only the engine's running per-model counters (``SchedulerState.metrics.lost_streak``), so it has
no state of its own (a replay started from the engine's counters decides as the real run).
"""

from __future__ import annotations

import numpy as np

from scheduler.state import RunningMetrics


def starving_models(metrics: RunningMetrics, frames: int) -> np.ndarray:
    """Per model, True if its frames lost since its latest on-time frame (the engine's
    ``lost_streak``) reach ``frames``."""
    return np.asarray(metrics.lost_streak) >= frames


def guard_pins(
    pinned: np.ndarray, starving: np.ndarray, full_ms: np.ndarray, periods_ms: np.ndarray
) -> np.ndarray:
    """The pins protection uses: each starving model is pinned to the accelerator where a whole
    frame finishes first when a frame fits its period there; the others keep ``pinned``."""
    fastest = np.argmin(full_ms, axis=1)
    fits = full_ms[np.arange(len(full_ms)), fastest] <= np.asarray(periods_ms, dtype=float)
    return np.where(np.asarray(starving) & fits, fastest, pinned)
