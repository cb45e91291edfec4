"""Run outputs: timeline CSV, Perfetto trace, Gantt chart, score bars; written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from rtmm.fileio import atomic_path, atomic_write_csv, atomic_write_text
from scheduler.metrics import SUMMARY_COLUMNS
from scheduler.result import SimulationResult

#: XRBench's per-scenario figure colours (RT, EN, QoE/UX, overall).
SCORE_COLOURS = ("#D5896F", "#DAB785", "#70A288", "#04395E")


def timeline_table(result: SimulationResult) -> pd.DataFrame:
    """The timeline with the columns of the ``timeline.csv`` contract first."""
    tl = result.timeline
    cols = ["accelerator", "model", "frame", "block", "release_ms", "dispatch_ms", "deadline_ms"]
    cols += ["completion_ms", "energy_nj", "accelerator_name", "first_layer", "n_layers"]
    return tl[cols]


def trace_events(result: SimulationResult) -> dict:
    """Chrome/Perfetto trace: one ``"X"`` event per block (µs), one thread per accelerator.

    Deadline misses are visible as the ``late`` flag in each event's args; process/thread names
    are set with ``"M"`` metadata events.
    """
    tl = result.timeline
    status = result.frames.set_index(["model", "frame"])["status"]
    events: list[dict] = [
        {"name": "process_name", "ph": "M", "pid": 0, "args": {"name": result.system}},
    ]
    for a, name in enumerate(result.accelerator_names):
        events.append(
            {"name": "thread_name", "ph": "M", "pid": 0, "tid": a, "args": {"name": f"{a}: {name}"}}
        )
    for row in tl.itertuples(index=False):
        events.append(
            {
                "name": f"{row.model}#{row.frame}.{row.block}",
                "cat": row.model,
                "ph": "X",
                "ts": row.dispatch_ms * 1e3,
                "dur": (row.completion_ms - row.dispatch_ms) * 1e3,
                "pid": 0,
                "tid": int(row.accelerator),
                "args": {
                    "layers": f"{row.first_layer}..{row.first_layer + row.n_layers - 1}",
                    "release_ms": row.release_ms,
                    "deadline_ms": row.deadline_ms,
                    "energy_nj": row.energy_nj,
                    "frame_status": str(status.get((row.model, row.frame), "")),
                },
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def write_trace(result: SimulationResult, path: str | os.PathLike) -> None:
    atomic_write_text(path, json.dumps(trace_events(result)))


def new_figure(figsize: tuple[float, float]):
    """A figure that is not registered with pyplot (no global state, no backend switch)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def _save(fig, path: str | os.PathLike | None) -> None:
    if path is not None:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=120)


def plot_gantt(
    result: SimulationResult, path: str | os.PathLike | None = None, max_ms: float | None = None
):
    """Gantt chart: one row per accelerator, one bar per block coloured by model, deadlines ticked.

    Deadlines of each model's frames are drawn as small markers above the rows in the model colour.
    Writes a PNG to ``path`` (atomically) when given; returns the Figure.
    """
    import matplotlib
    from matplotlib.patches import Rectangle

    tl = result.timeline
    models = sorted(result.model_ids)
    cmap = matplotlib.colormaps["tab10"]
    colour = {m: cmap(i % 10) for i, m in enumerate(models)}
    num_acc = len(result.accelerator_names)
    end = max_ms or max(result.end_ms, float(tl["completion_ms"].max()) if len(tl) else 1.0)
    fig = new_figure((12, 1.0 + 0.6 * (num_acc + 1)))
    ax = fig.subplots()
    for m in models:
        mine = tl[tl["model"] == m]
        for a in range(num_acc):
            rows = mine[mine["accelerator"] == a]
            if len(rows):
                spans = np.column_stack(
                    [rows["dispatch_ms"], rows["completion_ms"] - rows["dispatch_ms"]]
                )
                ax.broken_barh(spans, (a - 0.4, 0.8), facecolors=colour[m], edgecolor="none")
    frames = result.frames
    for i, m in enumerate(models):
        deadlines = frames.loc[frames["model"] == m, "deadline_ms"].to_numpy(float)
        y = num_acc - 0.2 + 0.6 * i / max(1, len(models))
        ax.plot(deadlines, np.full(len(deadlines), y), "|", color=colour[m], markersize=8)
    ax.set_yticks(range(num_acc), [f"{a}: {n}" for a, n in enumerate(result.accelerator_names)])
    ax.set_xlim(0, end)
    ax.set_ylim(-0.6, num_acc + 0.6)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{result.scenario} on {result.system} ({result.policy}, {result.mode})")
    handles = [Rectangle((0, 0), 1, 1, color=colour[m]) for m in models]
    ax.legend(handles, models, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7)
    fig.tight_layout()
    _save(fig, path)
    return fig


def plot_scores(summary: pd.DataFrame, path: str | os.PathLike | None = None, title: str = ""):
    """Grouped bars per model and for the scenario: RT, EN, QoE, score (XRBench's figure style).

    Writes a PNG to ``path`` (atomically) when given; returns the Figure.
    """
    labels = [m if m else "scenario" for m in summary["model"]]
    x = np.arange(len(labels))
    width = 0.2
    fig = new_figure((max(5.0, 1.3 * len(labels)) + 1.0, 3.2))
    ax = fig.subplots()
    metrics = ("rt", "en", "qoe", "score")
    for k, (col, colour) in enumerate(zip(metrics, SCORE_COLOURS, strict=True)):
        ax.bar(x + (k - 1.5) * width, summary[col].fillna(0), width, color=colour, label=col)
    ax.set_xticks(x, [lab.split("_")[0] for lab in labels])
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title, fontsize=9, pad=6)
    fig.tight_layout()
    _save(fig, path)
    return fig


def write_outputs(result: SimulationResult, out_dir: str | os.PathLike, plots: bool = True):
    """Write summary.csv, frames.csv, timeline.csv, utilisation.csv, trace.json and the PNG plots.

    Returns the list of written paths.
    """
    out = Path(out_dir)
    summary = result.summary()
    extra = [c for c in summary.columns if c not in SUMMARY_COLUMNS]
    paths = {
        "summary.csv": summary[list(SUMMARY_COLUMNS) + extra],
        "timeline.csv": timeline_table(result),
        "frames.csv": result.frames,
        "utilisation.csv": result.utilisation(),
    }
    written = []
    for name, frame in paths.items():
        atomic_write_csv(out / name, frame)
        written.append(out / name)
    write_trace(result, out / "trace.json")
    written.append(out / "trace.json")
    if plots:
        plot_gantt(result, out / "gantt.png")
        title = f"{result.scenario} on {result.system} ({result.policy})"
        plot_scores(summary, out / "scores.png", title)
        written += [out / "gantt.png", out / "scores.png"]
    return written
