"""Plots of cost tables (matplotlib figures outside pyplot; each function returns a Figure).

- :func:`layer_breakdown` — per-layer latency bars and stacked energy-breakdown bars of one model
  on one or several accelerators (a cost table from :mod:`costmodel.table`).
- :func:`compare_analyses` — two cost tables of the same layers side by side (e.g. ``maestro`` vs
  ``native``) with the per-layer ratio.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from costmodel.maestro import ENERGY_PARTS
from rtmm.errors import RtmmError

_KEYS = ["model", "layer_idx", "accelerator"]


def _check(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise RtmmError(
            f"{what} lacks column(s) {', '.join(missing)}",
            source="<plot>",
            allowed="a cost table from costmodel.table",
        )


def layer_breakdown(costs: pd.DataFrame, model: str | None = None) -> Figure:
    """Latency (top) and energy by part (bottom) per layer; one bar group per accelerator."""
    parts = [f"energy_{p}_pj" for p in ENERGY_PARTS]
    _check(costs, [*_KEYS, "accelerator_name", "latency_cycles", *parts], "cost table")
    model = model or str(costs.model.iloc[0])
    frame = costs[costs.model == model].sort_values(["layer_idx", "accelerator"])
    if frame.empty:
        raise RtmmError(f"cost table has no rows for model '{model}'", source="<plot>")
    accs = list(dict.fromkeys(frame.accelerator_name))
    layers = np.sort(frame.layer_idx.unique())
    width = 0.8 / len(accs)
    size = (max(6, 0.25 * len(layers) + 3), 7)
    fig = Figure(figsize=size)
    top, bottom = fig.subplots(2, 1, sharex=True)
    colours = matplotlib.colormaps["tab10"]
    for a, name in enumerate(accs):
        rows = frame[frame.accelerator_name == name].set_index("layer_idx").reindex(layers)
        x = np.arange(len(layers)) + (a - (len(accs) - 1) / 2) * width
        top.bar(x, rows.latency_cycles, width, label=name)
        base = np.zeros(len(layers))
        for p, part in enumerate(parts):
            values = rows[part].fillna(0).to_numpy() / 1e3
            label = ENERGY_PARTS[p] if a == 0 else None
            bottom.bar(x, values, width, bottom=base, color=colours(p), label=label)
            base += values
    top.set_ylabel("latency [cycles]")
    top.legend(fontsize="small")
    top.set_title(f"{model}: per-layer cost")
    bottom.set_ylabel("energy [nJ]")
    bottom.set_xlabel("layer index")
    bottom.legend(fontsize="small", ncol=len(parts))
    fig.tight_layout()
    return fig


def compare_analyses(
    first: pd.DataFrame,
    second: pd.DataFrame,
    labels: tuple[str, str] | None = None,
    metric: str = "latency_cycles",
) -> Figure:
    """Side-by-side bars of ``metric`` per layer for two cost tables, and their ratio."""
    for frame, what in ((first, "first table"), (second, "second table")):
        _check(frame, [*_KEYS, metric], what)
    labels = labels or (
        str(first.analysis.iloc[0]) if "analysis" in first else "first",
        str(second.analysis.iloc[0]) if "analysis" in second else "second",
    )
    merged = first.merge(second, on=_KEYS, suffixes=("_a", "_b"))
    if merged.empty:
        raise RtmmError(
            "the two cost tables share no (model, layer_idx, accelerator)", source="<plot>"
        )
    x = np.arange(len(merged))
    a, b = merged[f"{metric}_a"].to_numpy(float), merged[f"{metric}_b"].to_numpy(float)
    fig = Figure(figsize=(max(6, 0.2 * len(x) + 3), 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.bar(x - 0.2, a, 0.4, label=labels[0])
    top.bar(x + 0.2, b, 0.4, label=labels[1])
    top.set_ylabel(metric)
    top.legend(fontsize="small")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(a != 0, b / a, np.nan)
    bottom.plot(x, ratio, marker=".", linestyle="none")
    bottom.axhline(1.0, color="grey", linewidth=0.8)
    bottom.set_ylabel(f"{labels[1]} / {labels[0]}")
    bottom.set_xlabel("row (model, layer, accelerator)")
    fig.tight_layout()
    return fig
