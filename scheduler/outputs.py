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
#: The summary columns plotted by :func:`plot_scores` and their legend text.
SCORE_LABELS = {
    "rt": "real-time (RT)",
    "en": "energy (EN)",
    "qoe": "QoE",
    "score": "XRBench score",
}


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


def engine_label(mode: str) -> str:
    """What the simulator engine did, in words that cannot be mistaken for a cost analysis."""
    return {
        "native": "native (layer-block dispatch)",
        "xrbench": "xrbench-compatible (whole-model dispatch)",
    }.get(mode, mode)


def model_colours(models) -> dict[str, tuple]:
    """One tab10/tab20 colour per model, in the given order (stable across figures of a run)."""
    import matplotlib

    models = list(models)
    cmap = matplotlib.colormaps["tab10" if len(models) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(models)}


def draw_blocks(ax, timeline: pd.DataFrame, colours: dict, height: float = 0.8) -> None:
    """Every executed block as a rectangle (rows = accelerator index), in ONE PolyCollection
    holding one compound path per model (all that model's rectangles as closed sub-paths).

    A handful of compound paths is what keeps a 10,000-block Gantt chart fast: a Rectangle patch
    per block (``ax.barh``) is ~100x slower to draw and even one path per block costs ~2x more
    (``benchmarks/bench_gantt.py``). Antialiasing is off: the rectangles are axis-aligned and
    adjacent blocks stay crisp. Data limits are updated from the extremes only.
    """
    import matplotlib.colors
    from matplotlib.collections import PolyCollection
    from matplotlib.path import Path as MplPath

    if len(timeline) == 0:
        return
    x0 = timeline["dispatch_ms"].to_numpy(float)
    x1 = timeline["completion_ms"].to_numpy(float)
    y = timeline["accelerator"].to_numpy(float)
    lo, hi = y - height / 2, y + height / 2
    corners = ((x0, lo), (x0, hi), (x1, hi), (x1, lo), (x0, lo))
    verts = np.stack([np.column_stack(c) for c in corners], axis=1)  # (n, 5, 2)
    rect = np.array([MplPath.MOVETO, *[MplPath.LINETO] * 3, MplPath.CLOSEPOLY], MplPath.code_type)
    codes, models = pd.factorize(timeline["model"])
    paths, path_codes = [], []
    for k in range(len(models)):
        mine = verts[codes == k]
        paths.append(mine.reshape(-1, 2))
        path_codes.append(np.tile(rect, len(mine)))
    faces = [matplotlib.colors.to_rgba(colours[m]) for m in models]
    blocks = PolyCollection([], facecolors=faces, edgecolors="none", antialiased=False)
    blocks.set_verts_and_codes(paths, path_codes)
    ax.add_collection(blocks, autolim=False)
    ax.update_datalim([(x0.min(), lo.min()), (x1.max(), hi.max())])


def _frame_counts(result: SimulationResult) -> dict[str, tuple[int, int]]:
    """Per model: (released frames, frames that ran at least one block)."""
    frames = result.frames
    released = frames.loc[frames["status"] != "not_triggered", ["model", "frame"]]
    ran = result.timeline[["model", "frame"]].drop_duplicates()
    ran = ran.merge(released, on=["model", "frame"])
    n_released = released.groupby("model").size()
    n_ran = ran.groupby("model").size()
    return {m: (int(n_released.get(m, 0)), int(n_ran.get(m, 0))) for m in result.model_ids}


def gantt_labels(result: SimulationResult) -> dict[str, str]:
    """Legend text per model: the model, and how many of its frames ran; a model none of whose
    released frames ran is called out as starved (and a cascade child never triggered says so)."""
    labels = {}
    for m, (released, ran) in _frame_counts(result).items():
        if released == 0:
            labels[m] = f"{m}: never triggered (0 frames)"
        elif ran == 0:
            labels[m] = f"{m}: starved (0 of {released} frames)"
        else:
            labels[m] = f"{m} ({ran} of {released} frames ran)"
    return labels


def plot_gantt(
    result: SimulationResult,
    path: str | os.PathLike | None = None,
    max_ms: float | None = None,
    *,
    analysis: str | None = None,
):
    """Gantt chart: one row per accelerator, one bar per block coloured by model, deadlines ticked.

    ``max_ms`` shows only the first ``max_ms`` of the run, and the title then says "first X of Y
    ms"; otherwise the whole run is drawn and the title says so. Each model's frame deadlines are
    ticks in the model colour above the rows (a legend entry explains them); the legend says how
    many of each model's frames ran and calls a model that never ran "starved". ``analysis`` (the
    cost analysis behind the block lengths) goes into the title when given. Writes a PNG to
    ``path`` (atomically) when given; returns the Figure.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    tl = result.timeline
    models = list(result.model_ids)
    colour = model_colours(models)
    num_acc = len(result.accelerator_names)
    run_ms = max(result.end_ms, float(tl["completion_ms"].max()) if len(tl) else 0.0) or 1.0
    end = min(max_ms, run_ms) if max_ms else run_ms
    shown = tl[tl["dispatch_ms"] < end] if end < run_ms else tl
    height_in = 1.6 + 0.6 * (num_acc + 1)
    fig = new_figure((12, height_in))
    ax = fig.subplots()
    draw_blocks(ax, shown, colour)
    frames = result.frames
    for i, m in enumerate(models):
        deadlines = frames.loc[frames["model"] == m, "deadline_ms"].to_numpy(float)
        deadlines = deadlines[deadlines <= end]
        y = num_acc - 0.2 + 0.6 * i / max(1, len(models))
        ax.plot(deadlines, np.full(len(deadlines), y), "|", color=colour[m], markersize=8)
    ax.set_yticks(range(num_acc), [f"{a}: {n}" for a, n in enumerate(result.accelerator_names)])
    ax.set_xlim(0, end)
    ax.set_ylim(-0.6, num_acc + 0.6)
    ax.set_xlabel("simulated time (ms)")
    ax.set_ylabel("accelerator")
    window = (
        f"first {end:,.0f} of {run_ms:,.0f} ms" if end < run_ms else f"whole run, {run_ms:,.0f} ms"
    )
    what = f"engine: {engine_label(result.mode)}"
    if analysis:
        what += f"; cost analysis: {analysis}"
    ax.set_title(
        f"{result.scenario} on {result.system}, {result.policy} ({window})\n{what}", fontsize=9
    )
    labels = gantt_labels(result)
    handles: list = [Patch(color=colour[m], label=labels[m]) for m in models]
    handles.append(
        Line2D([], [], marker="|", linestyle="none", color="0.2", markersize=8,
               label="frame deadline (tick in model colour)")
    )  # fmt: skip
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.005, 1.0),
        fontsize=7,
        title="frame counts: whole run" if end < run_ms else None,
        title_fontsize=7,
    )
    # fixed margins instead of tight_layout, which would lay out every text twice (~0.2 s)
    longest_legend = max(len(h.get_label()) for h in handles)
    longest_tick = max(len(f"{a}: {n}") for a, n in enumerate(result.accelerator_names))
    fig.subplots_adjust(
        left=min(0.35, (0.55 + 0.075 * longest_tick) / 12),
        right=max(0.45, 1 - (0.45 + 0.06 * longest_legend) / 12),
        bottom=0.55 / height_in,
        top=1 - 0.6 / height_in,
    )
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
    for k, (col, colour) in enumerate(zip(SCORE_LABELS, SCORE_COLOURS, strict=True)):
        ax.bar(
            x + (k - 1.5) * width,
            summary[col].fillna(0),
            width,
            color=colour,
            label=SCORE_LABELS[col],
        )
    ax.set_xticks(x, [lab.split("_")[0] for lab in labels])
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (0-1, higher is better)")
    ax.set_xlabel("model (scenario = whole scenario)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if title:
        ax.set_title(title, fontsize=9, pad=6)
    fig.tight_layout()
    _save(fig, path)
    return fig


def write_outputs(
    result: SimulationResult,
    out_dir: str | os.PathLike,
    plots: bool = True,
    *,
    run: dict | None = None,
):
    """Write summary.csv, frames.csv, timeline.csv, utilisation.csv, trace.json, run.json and the
    PNG plots.

    ``run.json`` records what produced the numbers: the engine (``engine_label``), the cost
    analysis and the run's inputs. ``run`` (from the CLI) supplies those; without it the cost
    analysis is recorded as ``"not recorded"`` rather than guessed. Returns the written paths.
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
    info = {
        "scenario": result.scenario,
        "system": result.system,
        "policy": result.policy,
        "engine": engine_label(result.mode),
        "cost_analysis": "not recorded",
        "horizon_ms": result.horizon_ms,
        "seed": result.seed,
        **(run or {}),
    }
    atomic_write_text(out / "run.json", json.dumps(info, indent=2) + "\n")
    written.append(out / "run.json")
    if plots:
        analysis = info["cost_analysis"] if run else None
        plot_gantt(result, out / "gantt.png", analysis=analysis)
        title = f"{result.scenario} on {result.system} ({result.policy})\n"
        title += f"engine: {info['engine']}" + (f"; cost analysis: {analysis}" if analysis else "")
        plot_scores(summary, out / "scores.png", title)
        written += [out / "gantt.png", out / "scores.png"]
    return written
