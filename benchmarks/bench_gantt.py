"""Gantt drawing speed: 10,000 executed blocks drawn in <= 0.3 s (issue 15).

    python benchmarks/bench_gantt.py [--blocks 10000] [--repeat 5] [--out gantt.png]

Builds a synthetic :class:`~scheduler.result.SimulationResult` (4 accelerators, 6 models, blocks
back to back with small gaps, one frame per 5 blocks, deadlines 10 ms after release; one model
never runs, so the "starved" legend entry is exercised) and times :func:`plot_gantt`:

- ``draw``: building the figure and rendering it on the Agg canvas (``fig.canvas.draw()``),
  the target's measure;
- ``png``: the same plus encoding and writing the PNG at 120 dpi (what ``rtmm simulate`` does).

For reference it times bare axes alone, the blocks on bare axes with :func:`draw_blocks` (one
compound path per model), and with the previous method (``broken_barh`` per model and
accelerator: one path per block). Prints the median wall-clock and CPU (process) time of
``--repeat`` runs per line; CPU time is the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg

from scheduler.outputs import draw_blocks, model_colours, new_figure, plot_gantt
from scheduler.result import FRAME_COLUMNS, TIMELINE_COLUMNS, SimulationResult

MODELS = ("ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn", "KD_res8_narrow", "SR_FSRCNN", "idle")
ACCELERATORS = ("acc0-WS", "acc1-OS", "acc2-WS", "acc3-OS")


def synthetic_result(blocks: int, seed: int = 0) -> SimulationResult:
    rng = np.random.default_rng(seed)
    n_acc = len(ACCELERATORS)
    acc = np.arange(blocks) % n_acc
    dur = rng.uniform(0.05, 0.3, blocks)
    start = np.zeros(blocks)
    for a in range(n_acc):
        mine = acc == a
        ends = np.cumsum(dur[mine] + rng.uniform(0.0, 0.05, mine.sum()))
        start[mine] = ends - dur[mine]
    model = np.array(MODELS[:-1])[rng.integers(0, len(MODELS) - 1, blocks)]
    frame = np.arange(blocks) // 5
    timeline = pd.DataFrame(
        {
            "accelerator": acc,
            "model": model,
            "frame": frame,
            "block": np.arange(blocks) % 5,
            "release_ms": start,
            "dispatch_ms": start,
            "deadline_ms": start + 10.0,
            "completion_ms": start + dur,
            "energy_nj": dur * 1e3,
            "accelerator_name": np.array(ACCELERATORS)[acc],
            "first_layer": 0,
            "n_layers": 1,
        }
    )
    timeline = timeline[[c for c in TIMELINE_COLUMNS if c in timeline.columns]]
    released = timeline.drop_duplicates(["model", "frame"])
    frames = pd.DataFrame({c: np.nan for c in FRAME_COLUMNS}, index=range(len(released) + 20))
    frames["model"] = [*released["model"], *["idle"] * 20]
    frames["frame"] = [*released["frame"], *range(20)]
    frames["status"] = ["on_time"] * len(released) + ["dropped"] * 20
    frames["deadline_ms"] = [*released["deadline_ms"], *np.arange(20) * 33.3]
    end = float(timeline["completion_ms"].max())
    return SimulationResult(
        scenario="synthetic", system="four-acc", policy="none", mode="native", horizon_ms=end,
        seed=seed, model_ids=MODELS, periods_ms=(33.3,) * len(MODELS),
        accelerator_names=ACCELERATORS, frames=frames, timeline=timeline, end_ms=end,
    )  # fmt: skip


def _broken_barh(ax, result: SimulationResult, colours: dict) -> None:
    """The previous method: one ``broken_barh`` (one path per block) per model and accelerator."""
    tl = result.timeline
    for m, rows in tl.groupby("model"):
        for a, part in rows.groupby("accelerator"):
            spans = np.column_stack(
                [part["dispatch_ms"], part["completion_ms"] - part["dispatch_ms"]]
            )
            ax.broken_barh(spans, (a - 0.4, 0.8), facecolors=colours[m], edgecolor="none")


def _bare_axes(result: SimulationResult):
    fig = new_figure((12, 4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xlim(0, result.end_ms)
    ax.set_ylim(-0.6, len(result.accelerator_names) - 0.4)
    return fig, ax


def _median(fn, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of ``fn()`` over ``repeat`` calls."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", help="also keep one PNG here")
    args = parser.parse_args()
    result = synthetic_result(args.blocks)
    colours = model_colours(result.model_ids)

    def gantt():
        FigureCanvasAgg(plot_gantt(result)).draw()

    def bare():
        _bare_axes(result)[0].canvas.draw()

    def blocks(method):
        fig, ax = _bare_axes(result)
        method(ax)
        fig.canvas.draw()

    with tempfile.TemporaryDirectory() as tmp:
        png = Path(args.out or Path(tmp) / "gantt.png")
        gantt()  # warm-up: imports, font cache
        rows = {
            "plot_gantt, whole figure drawn": _median(gantt, args.repeat),
            "plot_gantt + PNG at 120 dpi": _median(lambda: plot_gantt(result, png), args.repeat),
            "bare axes drawn (no blocks)": _median(bare, args.repeat),
            "bare axes + blocks, draw_blocks": _median(
                lambda: blocks(lambda ax: draw_blocks(ax, result.timeline, colours)), args.repeat
            ),
            "bare axes + blocks, broken_barh (previous)": _median(
                lambda: blocks(lambda ax: _broken_barh(ax, result, colours)), args.repeat
            ),
        }
    for what, (wall, cpu) in rows.items():
        print(f"{args.blocks} blocks: {what:44s} wall {wall:.3f} s  cpu {cpu:.3f} s")
    print("target: the whole figure drawn in <= 0.3 s")


if __name__ == "__main__":
    main()
