"""Reading a :class:`scheduler.tuner.Tuner` trace (:meth:`~scheduler.tuner.Tuner.trace_frame`):
when a UXCost series settled (:func:`settling_window`), what each accepted theta is worth run on
its own (:func:`static_uxcost_trace`), and the two-panel figure of a run (:func:`plot_trace`;
matplotlib imported only there, through :func:`scheduler.outputs.new_figure`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from rtmm.fileio import atomic_path
from scheduler.tuner import DEFAULT_NAMES


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
