"""Plots of sweep results (matplotlib, Agg canvas; no pyplot global state).

- :func:`plot_pareto`: every point of a sweep, the non-dominated front highlighted and joined;
- :func:`plot_heatmap`: a metric over two swept parameters (aggregated over the others);
- :func:`plot_scenario_scores`: XRBench Figure-5-style grouped bars of per-scenario scores for
  many systems (one group per system, one bar per scenario — or the other way round);
- :func:`plot_timeline`: a Gantt chart of one simulation's executed blocks per accelerator.

Every function takes DataFrames, returns the :class:`~matplotlib.figure.Figure`, and writes it
atomically to ``path`` when one is given (format from the suffix: .png, .pdf, .svg).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dse.pareto import mark_pareto
from rtmm.errors import SpecError
from rtmm.fileio import atomic_path
from scheduler.outputs import draw_blocks, model_colours

_FORMATS = ("png", "pdf", "svg")


def new_figure(width_in: float = 6.4, height_in: float = 4.8) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> None:
    """Write ``fig`` atomically; the format comes from the file suffix."""
    fmt = Path(path).suffix.lstrip(".").lower()
    if fmt not in _FORMATS:
        raise SpecError(f"unknown figure format '.{fmt}'", source=path, allowed=", ".join(_FORMATS))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi)


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise SpecError(
                f"{what}: no column '{col}'", allowed=", ".join(map(str, frame.columns))
            )


#: Store bookkeeping columns: never design parameters.
_NOT_PARAMETERS = ("seq", "point_id", "status", "error", "params_json", "metrics_json", "pareto")


def design_columns(frame: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """The design-parameter columns of a sweep frame that vary between its rows.

    With ``params_json`` (``dse.load(path, with_json=True)``) the parameters are its keys (their
    flattened columns); otherwise a column that is not store bookkeeping is taken as a parameter
    when it is not float-valued (metrics are floats) or when it is a float taking at most 12
    distinct values, fewer than half the rows (a swept grid axis, not a measured metric). Name the
    columns with ``annotate=`` where this guess is wrong.
    """
    if "params_json" in frame.columns and len(frame):
        import json

        keys: dict[str, None] = {}
        for text in frame["params_json"]:
            keys.update(dict.fromkeys(json.loads(text)))
        candidates = [k for k in keys if k in frame.columns]
        candidates += [c for c in frame.columns if "." in str(c) or "[" in str(c)]
    else:
        limit = min(12, len(frame) / 2)
        candidates = [
            c
            for c in frame.columns
            if not pd.api.types.is_float_dtype(frame[c]) or frame[c].nunique() <= limit
        ]
    out = []
    for col in dict.fromkeys(candidates):
        if col in _NOT_PARAMETERS or col in exclude:
            continue
        if frame[col].astype(str).nunique(dropna=False) > 1:
            out.append(col)
    return out


def _describe_filter(frame: pd.DataFrame, filtered_on: str | Mapping[str, Any] | None) -> str:
    if isinstance(filtered_on, Mapping):
        filtered_on = ", ".join(f"{k}={v}" for k, v in filtered_on.items())
    if filtered_on:
        return f"filtered on {filtered_on}"
    mixed = [
        f"{frame[c].nunique()} {c}s"
        for c in ("scenario", "system", "policy")
        if c in frame.columns and frame[c].nunique() > 1
    ]
    return "unfiltered: mixes " + ", ".join(mixed) if mixed else "all points"


def plot_pareto(
    frame: pd.DataFrame,
    x: str,
    y: str,
    directions: Mapping[str, str] | None = None,
    *,
    color_by: str | None = None,
    annotate: Sequence[str] | None = None,
    filtered_on: str | Mapping[str, Any] | None = None,
    max_labels: int = 20,
    ax=None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """Scatter of ``y`` against ``x`` with the Pareto front for ``directions`` highlighted.

    ``directions`` maps both columns to ``"min"``/``"max"`` (default: minimise ``x``, maximise
    ``y``, e.g. energy vs score). ``color_by`` colours the points by a parameter column. Each
    front point is labelled with its design parameters: the ``annotate`` columns, by default
    :func:`design_columns` of the front (at most ``max_labels`` points are labelled, spread along
    the front). The title says what the points were filtered on (``filtered_on``, e.g.
    ``"scenario=vr_gaming"``); unfiltered, it says which scenarios/systems/policies it mixes.
    """
    _require(frame, [x, y] + ([color_by] if color_by else []) + list(annotate or ()), "plot_pareto")
    directions = dict(directions or {x: "min", y: "max"})
    marked = mark_pareto(frame, {x: directions[x], y: directions[y]})
    fig = ax.figure if ax is not None else new_figure(8.0, 5.6)
    ax = ax or fig.add_subplot()
    rest = marked[~marked["pareto"]]
    if color_by is None:
        ax.scatter(rest[x], rest[y], s=12, color="0.7", label="dominated design points")
    else:
        for value, group in rest.groupby(color_by, sort=True, dropna=False):
            ax.scatter(group[x], group[y], s=12, alpha=0.6, label=f"{color_by}={value}")
    front = marked[marked["pareto"]].sort_values(x)
    ax.plot(front[x], front[y], "-o", color="tab:red", ms=5, lw=1.5, label="Pareto front")
    labels = list(annotate) if annotate is not None else design_columns(frame, exclude=(x, y))
    if labels and len(front):
        picked = np.unique(np.linspace(0, len(front) - 1, min(len(front), max_labels)).round())
        for k, i in enumerate(picked.astype(int)):
            row = front.iloc[i]
            text = "\n".join(f"{c}={_short(row[c])}" for c in labels)
            ax.annotate(
                text, (row[x], row[y]), xytext=(6, 10 if k % 2 else -14),
                textcoords="offset points", fontsize=6, color="tab:red",
                arrowprops={"arrowstyle": "-", "color": "tab:red", "lw": 0.5},
            )  # fmt: skip
    ax.set_xlabel(f"{x} ({directions[x]})")
    ax.set_ylabel(f"{y} ({directions[y]})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", title=_describe_filter(frame, filtered_on), title_fontsize="small")
    count = f"{len(front)} of {len(frame)} points on the front"
    ax.set_title(title or f"{count} ({_describe_filter(frame, filtered_on)})", fontsize=9)
    if path is not None:
        save_figure(fig, path)
    return fig


def _short(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.4g}"
    return str(value)


def plot_heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    *,
    agg: str = "mean",
    ax=None,
    path: str | os.PathLike | None = None,
    cmap: str = "viridis",
    annotate: bool = True,
) -> Figure:
    """``metric`` over the values of two parameters ``x`` and ``y`` (``agg`` over the rest)."""
    _require(frame, [x, y, metric], "plot_heatmap")
    table = frame.pivot_table(index=y, columns=x, values=metric, aggfunc=agg)
    fig = ax.figure if ax is not None else new_figure()
    ax = ax or fig.add_subplot()
    data = table.to_numpy(dtype=float)
    image = ax.imshow(data, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns], rotation=45)
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(image, ax=ax, label=f"{agg} {metric}")
    if annotate and data.size <= 400:
        finite = data[np.isfinite(data)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), v in np.ndenumerate(data):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize="x-small",
                        color="white" if v < mid else "black")  # fmt: skip
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_scenario_scores(
    frame: pd.DataFrame,
    *,
    system: str = "system",
    scenario: str = "scenario",
    score: str = "score",
    group_by: str = "system",
    ax=None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """XRBench Figure-5 style: grouped bars of ``score`` per (system, scenario).

    ``group_by="system"``: one group per system (in order of appearance), one bar per scenario;
    ``group_by="scenario"``: the transpose. Repeated (system, scenario) rows (seeds) are averaged.
    """
    _require(frame, [system, scenario, score], "plot_scenario_scores")
    if group_by not in ("system", "scenario"):
        raise SpecError(f"bad group_by '{group_by}'", allowed="system, scenario")
    outer, inner = (system, scenario) if group_by == "system" else (scenario, system)
    table = frame.pivot_table(index=outer, columns=inner, values=score, aggfunc="mean", sort=False)
    n_groups, n_bars = table.shape
    fig = (
        ax.figure
        if ax is not None
        else new_figure(max(6.4, 0.5 * n_groups * max(1, n_bars) / 2), 4.8)
    )
    ax = ax or fig.add_subplot()
    width = 0.8 / max(1, n_bars)
    pos = np.arange(n_groups)
    for k, col in enumerate(table.columns):
        ax.bar(
            pos + (k - (n_bars - 1) / 2) * width, table[col].to_numpy(float), width, label=str(col)
        )
    ax.set_xticks(pos, [str(i) for i in table.index], rotation=45 if n_groups > 8 else 0)
    ax.set_ylabel(score)
    ax.set_xlabel(outer)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="x-small", ncols=min(4, n_bars), title=inner)
    if title:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_timeline(
    timeline: pd.DataFrame | Any,
    *,
    ax=None,
    path: str | os.PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """Gantt chart of a simulation timeline (columns ``accelerator``, ``model``, ``dispatch_ms``,
    ``completion_ms``; one bar per executed block, one colour per model), or of a simulation
    result (its ``timeline``), e.g. ``plot_timeline(dse.evaluate.simulate_point(point))``.

    The blocks are one PolyCollection (:func:`scheduler.outputs.draw_blocks`), so long runs draw
    fast. For a result's full chart (deadlines, starved models, window) use
    :func:`scheduler.outputs.plot_gantt`."""
    if not isinstance(timeline, pd.DataFrame) and hasattr(timeline, "timeline"):
        timeline = timeline.timeline
    _require(timeline, ["accelerator", "model", "dispatch_ms", "completion_ms"], "plot_timeline")
    fig = ax.figure if ax is not None else new_figure(10, 3)
    ax = ax or fig.add_subplot()
    models = sorted(timeline["model"].unique())
    colours = model_colours(models)
    draw_blocks(ax, timeline, colours, height=0.6)
    accs = sorted(timeline["accelerator"].unique())
    names = (
        timeline.drop_duplicates("accelerator").set_index("accelerator")["accelerator_name"]
        if "accelerator_name" in timeline.columns
        else None
    )
    ax.set_yticks(accs, [str(names[a]) if names is not None else str(a) for a in accs])
    if len(timeline):
        start = float(timeline["dispatch_ms"].min())
        ax.set_xlim(min(0.0, start), float(timeline["completion_ms"].max()))
        ax.set_ylim(min(accs) - 0.6, max(accs) + 0.6)
    ax.set_xlabel("simulated time (ms)")
    ax.set_ylabel("accelerator")
    handles = [Patch(color=colours[m], label=m) for m in models]
    ax.legend(handles=handles, fontsize="x-small", ncols=min(6, max(1, len(models))),
              loc="upper right")  # fmt: skip
    if title:
        ax.set_title(title)
    if path is not None:
        save_figure(fig, path)
    return fig
