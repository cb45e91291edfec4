"""One point of ``rtmm compare`` in a worker: simulate, score, and pack what the outputs need.

:func:`evaluate` is the comparison's evaluator for :func:`dse.runner.run_points`. It returns the
run's metrics (the ``runs.csv`` row, plus the ideal load of its scenario on its system) and, as
artifacts kept in the results store, the SDRM3 tuner's trace (``tuner``), the Supernet
selector's accuracy table (``accuracy``) and — for the points that may be drawn as a Gantt chart —
the run's frame and block tables (``run``, :func:`encode_result`). Tables are stored as CSV, whose
floats round-trip exactly, so the figures and tables are drawn from the store alone.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from dse.compare_points import AS_PUBLISHED, FAIR, FISSION_POLICIES, Point, cost_arrays
from dse.compare_stats import ideal_load
from dse.runner import Evaluation
from hardware_db import library
from scheduler import policies, simulate
from scheduler.fission import fission_system
from scheduler.result import SimulationResult
from scheduler.simulate import scenario_arrays
from scheduler.state import FrameStatus
from scheduler.supernet_selector import delivered_accuracy
from scheduler.uxcost_bound import uxcost_bound
from workloads import scenario as scenario_lib

#: Metrics of a run (the ``runs.csv`` columns after the row identity).
RUN_METRICS = ("uxcost", "score", "miss_rate", "drop_rate", "energy_mj", "e_norm", "v")
#: UXCost bounds already computed in this process, by the point without its policy (all policies
#: of one (scenario, system, analysis, seed, horizon, jitter) release the same frames).
_BOUNDS: dict[tuple, float] = {}
#: Context fields of a :class:`SimulationResult` besides its two tables.
_CONTEXT = ("scenario", "system", "policy", "mode", "horizon_ms", "seed", "model_ids",
            "periods_ms", "accelerator_names", "end_ms")  # fmt: skip


def simulate_point(point: Point) -> tuple[SimulationResult, Any]:
    """Simulate one point; return the result and the policy object (for its tuner/selector)."""
    scenario = scenario_lib.load(point.scenario)
    system = library.get_system(point.system)
    partition = None
    if point.policy in FISSION_POLICIES:
        system, partition = fission_system(system)
    policy = policies.get(point.policy, **dict(point.policy_params))
    result = simulate(
        scenario,
        system,
        policy,
        costs=cost_arrays(scenario, system, point.analysis),
        horizon_ms=point.horizon_ms,
        seed=point.seed,
        jitter_ms=point.jitter_ms,
        offchip_contention=point.contention,
        mechanics=(
            AS_PUBLISHED if point.published else replace(FAIR, **dict(point.mechanics_overrides))
        ),
        partition=partition,
    )
    return result, policy


def scenario_load(scenario_spec: str, system_spec: str, analysis: str) -> float:
    """Ideal load of a scenario on a (whole, not split) system (:func:`ideal_load`)."""
    scenario = scenario_lib.load(scenario_spec)
    _, fps, parents, prob = scenario_arrays(scenario)
    periods = np.array([1000.0 / f for f in fps])
    costs = cost_arrays(scenario, library.get_system(system_spec), analysis)
    return ideal_load(costs, periods, parents, prob)


def run_bound(point: Point, result: SimulationResult) -> float:
    """The lower bound on any full-model schedule's UXCost for the run's released frames, on the
    whole system (:mod:`scheduler.uxcost_bound`); ``nan`` for XRBench-compatible runs."""
    if (result.frames["status"] == FrameStatus.UNFINISHED).any():
        return float("nan")
    key = (point.scenario, point.system, point.analysis, point.seed, point.horizon_ms,
           point.jitter_ms, point.published)  # fmt: skip
    if key not in _BOUNDS:
        scenario = scenario_lib.load(point.scenario)
        costs = cost_arrays(scenario, library.get_system(point.system), point.analysis)
        _BOUNDS[key] = uxcost_bound(result.frames, costs).uxcost
    return _BOUNDS[key]


def evaluate(point: Point) -> Evaluation:
    """Metrics and artifacts of one point (module docstring)."""
    result, policy = simulate_point(point)
    summary = result.summary()
    s = summary.iloc[-1]
    acc = delivered_accuracy(result.frames)
    starved = summary.loc[(summary["model"] != "") & (summary["starved"] > 0), "model"]
    metrics: dict[str, Any] = {k: float(s[k]) for k in RUN_METRICS}
    metrics.update(
        accuracy=float(acc["accuracy"].iloc[-1]),
        starved=len(starved),
        starved_models=";".join(starved),
        ideal_load=scenario_load(point.scenario, point.system, point.analysis),
        uxcost_bound=run_bound(point, result),
    )
    artifacts = {}
    tuner = getattr(policy, "tuner", None)
    if tuner is not None:
        artifacts["tuner"] = frame_bytes(tuner.trace_frame().assign(**point.label))
    if getattr(policy, "selector", None) is not None:
        artifacts["accuracy"] = frame_bytes(acc.assign(**point.label))
    if point.keep_blocks:
        artifacts["run"] = encode_result(result)
    return Evaluation(metrics, artifacts)


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """A table as gzip-compressed CSV (floats written with round-trip precision)."""
    return gzip.compress(frame.to_csv(index=False).encode("utf-8"), mtime=0)


def read_frame(data: bytes) -> pd.DataFrame:
    """The table of :func:`frame_bytes` (only empty cells are missing values)."""
    return _read_csv(gzip.decompress(data).decode("utf-8"))


def encode_result(result: SimulationResult) -> bytes:
    """A run's context, frame table and block table, gzip-compressed (for its Gantt chart)."""
    doc = {
        "context": {k: getattr(result, k) for k in _CONTEXT},
        "frames": result.frames.to_csv(index=False),
        "timeline": result.timeline.to_csv(index=False),
    }
    return gzip.compress(json.dumps(doc).encode("utf-8"), mtime=0)


def decode_result(data: bytes) -> SimulationResult:
    """The :class:`SimulationResult` of :func:`encode_result` (tables equal to the run's)."""
    doc = json.loads(gzip.decompress(data).decode("utf-8"))
    ctx = doc["context"]
    for k in ("model_ids", "periods_ms", "accelerator_names"):
        ctx[k] = tuple(ctx[k])
    return SimulationResult(
        **ctx, frames=_read_csv(doc["frames"]), timeline=_read_csv(doc["timeline"])
    )


def _read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
