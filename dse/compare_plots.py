"""Figures of ``rtmm compare``: per-scenario metrics of every policy, the tuner's convergence.

- :func:`plot_uxcost_bars`: per system, four stacked panels sharing the scenario axis — UXCost as a
  ratio to the best policy of each scenario (linear axis, 1 = best), XRBench score, miss rate and
  drop rate — so UXCost is never shown without what it is made of. Colours come from qualitative
  palettes (Tableau 10, then Dark2), policies beyond them are hatched.
- :func:`plot_tuner_convergence`: per system, the window UXCost of SDRM3's online tuner relative
  to its final running mean against simulated time, and its parameters theta against time.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from rtmm.fileio import atomic_path
from scheduler.outputs import new_figure
from scheduler.policies.sdrm3_terms import THETA_NAMES
from scheduler.tuner_trace import settling_window

#: What each tuned parameter weighs in SDRM3's MapScore (for the tuner plot's legend).
THETA_MEANING = {
    "alpha": "alpha (starvation weight)",
    "beta": "beta (energy-overhead weight)",
    "gamma": "gamma (accelerator-switch weight)",
}
#: Windows of the trailing running mean drawn in the tuner convergence plot.
SMOOTH_WINDOWS = 5
_HATCHES = ("", "//", "..", "xx")


def _colours(name: str) -> np.ndarray:
    """Every colour of a qualitative colour map (RGBA rows)."""
    cmap = matplotlib.colormaps[name]
    return cmap(np.arange(cmap.N))


def policy_style(k: int) -> dict:
    """Distinguishable colour (and hatch beyond 18 policies) of the k-th policy."""
    palette = [tuple(c) for name in ("tab10", "Dark2") for c in _colours(name)]
    return {"color": palette[k % len(palette)], "hatch": _HATCHES[(k // len(palette)) % 4]}


def plot_uxcost_bars(summary: pd.DataFrame, system: str, path: Path) -> None:
    s = summary[summary["system"] == system]
    scenarios = list(dict.fromkeys(s["scenario"]))
    pols = list(dict.fromkeys(s["policy"]))
    width = 0.8 / max(1, len(pols))
    fig = new_figure((max(8, 2.0 * len(scenarios)), 8.0))
    axes = fig.subplots(4, 1, sharex=True)
    x = np.arange(len(scenarios))
    best = {sc: float(s[s["scenario"] == sc]["uxcost"].min()) for sc in scenarios}
    panels = (
        ("uxcost", "UXCost / best of scenario\n(lower is better)"),
        ("score", "XRBench score (0-1)"),
        ("miss_rate", "miss rate"),
        ("drop_rate", "drop rate"),
    )
    for k, p in enumerate(pols):
        mine = s[s["policy"] == p].set_index("scenario")
        offset = (k - (len(pols) - 1) / 2) * width
        for ax, (col, _) in zip(axes, panels, strict=True):
            vals = [
                float(mine.loc[sc, col]) / (best[sc] if col == "uxcost" else 1.0)
                if sc in mine.index
                else np.nan
                for sc in scenarios
            ]
            ax.bar(x + offset, vals, width, label=p, edgecolor="white", lw=0.3, **policy_style(k))
    for ax, (_, label) in zip(axes, panels, strict=True):
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", color="0.9", zorder=0)
    axes[0].axhline(1.0, color="k", lw=0.6)
    axes[-1].set_xticks(x, scenarios, fontsize=8)
    axes[0].set_title(
        f"{system}: every policy with the same engine mechanics (geomean / mean over seeds)",
        fontsize=9,
    )
    axes[0].legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def running_mean(values: np.ndarray, k: int = SMOOTH_WINDOWS) -> np.ndarray:
    """Trailing mean over the last ``k`` finite values (fewer at the start; NaN if none)."""
    v = np.asarray(values, dtype=float)
    out = np.full(len(v), np.nan)
    for i in range(len(v)):
        seg = v[max(0, i - k + 1) : i + 1]
        seg = seg[np.isfinite(seg)]
        if len(seg):
            out[i] = seg.mean()
    return out


def plot_tuner_convergence(traces: pd.DataFrame, path: Path, policy: str = "sdrm3") -> None:
    """Per system (columns): window UXCost / final running mean (top) and theta (bottom), seed 0.

    Dots are single windows, lines the running mean of the last :data:`SMOOTH_WINDOWS` windows,
    the filled marker the settle window (from then on the running mean stays within 5 % of its
    final value, grey band). x is simulated time in ms (end of each window).
    """
    t = traces[traces["policy"] == policy]
    if not len(t):
        t = traces
    seed = int(t["seed"].min())
    t = t[t["seed"] == seed]
    systems = list(dict.fromkeys(t["system"]))
    scenarios = list(dict.fromkeys(t["scenario"]))
    fig = new_figure((5.6 * len(systems), 6.4))
    axes = fig.subplots(2, len(systems), sharex="col", squeeze=False)
    styles = ("-", "--", ":")
    for col, system in enumerate(systems):
        top, bottom = axes[0, col], axes[1, col]
        top.axhspan(0.95, 1.05, color="0.88", zorder=0)
        for j, scenario in enumerate(scenarios):
            g = t[(t["system"] == system) & (t["scenario"] == scenario)].sort_values("window")
            if not len(g):
                continue
            ms = g["end_ms"].to_numpy(float)
            ux = g["uxcost"].to_numpy(float)
            smooth = running_mean(ux)
            finite = np.isfinite(smooth)
            ref = smooth[finite][-1] if finite.any() and smooth[finite][-1] > 0 else 1.0
            c = policy_style(j)["color"]
            top.plot(ms, ux / ref, ".", color=c, alpha=0.3, markersize=3)
            label = scenario
            if finite.any():
                settle = settling_window(smooth[finite])
                label = f"{scenario} (settled at {ms[finite][settle]:.0f} ms)"
                top.plot(ms[finite][settle], smooth[finite][settle] / ref, "o", color=c, ms=6)
            top.plot(ms, smooth / ref, "-", color=c, lw=1.4, label=label)
            for k, name in enumerate(THETA_NAMES):
                bottom.plot(
                    ms, g[name], styles[k % 3], color=c, lw=1.1, drawstyle="steps-post",
                    label=THETA_MEANING.get(name, name) if j == 0 else None,
                )  # fmt: skip
        top.set_ylim(0.0, 2.5)
        top.set_title(f"{system}: window UXCost / final running mean (seed {seed})", fontsize=9)
        top.legend(fontsize=6, loc="upper right")
        bottom.set_ylabel("theta in effect", fontsize=8)
        bottom.legend(fontsize=6, loc="upper right", title="line style", title_fontsize=6)
        bottom.set_xlabel("simulated time (ms)", fontsize=8)
    axes[0, 0].set_ylabel(f"UXCost ratio (dots: windows,\nline: mean of last {SMOOTH_WINDOWS})")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
