"""One point of ``rtmm compare``: a (scenario, system, policy, seed) run and its row.

Every point runs with the same engine mechanics (:data:`FAIR`: hopeless frames dropped,
feasibility-aware placement, migration cost), the same release jitter and the same off-chip
contention model; only "as published" baseline points (:data:`AS_PUBLISHED`, labelled
``<name>@published``) run without the engine's drop and placement. Cost tables are built once per
(scenario, system, analysis) per process, with each layer's input activation size attached for the
migration cost. The Planaria-like policy runs on the same hardware described as whole arrays and
their sub-arrays (:mod:`scheduler.fission`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from rtmm.names import spec_label
from scheduler.fission import fission_system
from scheduler.mechanics import FrameMechanics

#: Release jitter of compare's runs (ms, uniform per frame): seeds differ in triggers and jitter.
DEFAULT_JITTER_MS = 2.0
#: The fair mechanics every policy runs with.
FAIR = FrameMechanics(drop_delta=1.0, feasible_placement=True, migration=True)
#: "As published" baselines: no engine drop beyond expired frames, no placement check.
AS_PUBLISHED = FrameMechanics(drop_delta=None, feasible_placement=False, migration=True)
PUBLISHED_SUFFIX = "@published"
#: Policies that run on the system split into sub-arrays (:mod:`scheduler.fission`).
FISSION_POLICIES = ("planaria",)

_COSTS: dict[tuple, object] = {}


def cost_arrays(scenario, system, analysis: str):
    """Dense costs of the scenario's own models and their zoo supernet variants, with each layer's
    input size for the migration cost (:func:`scheduler.pipeline.cost_arrays`; cached per
    process)."""
    from scheduler import pipeline

    key = (scenario.name, getattr(scenario, "source", None), system.name, analysis)
    if key not in _COSTS:
        _COSTS[key] = pipeline.cost_arrays(scenario, system, analysis=analysis, supernets=True)
    return _COSTS[key]


@dataclass(frozen=True)
class Point:
    scenario: str
    system: str
    policy: str
    seed: int
    horizon_ms: float
    analysis: str
    params: tuple = ()
    jitter_ms: float = DEFAULT_JITTER_MS
    contention: bool = True
    published: bool = False


def run_point(point: Point) -> tuple[dict, pd.DataFrame | None, pd.DataFrame | None]:
    """Simulate one point; return its runs.csv row, its tuner trace and its accuracy table."""
    from hardware_db import library
    from scheduler import policies, simulate
    from scheduler.supernet_selector import delivered_accuracy
    from workloads import scenario as scenario_lib

    scenario = scenario_lib.load(point.scenario)
    system = library.get_system(point.system)
    partition = None
    if point.policy in FISSION_POLICIES:
        system, partition = fission_system(system)
    costs = cost_arrays(scenario, system, point.analysis)
    policy = policies.get(point.policy, **dict(point.params))
    result = simulate(
        scenario,
        system,
        policy,
        costs=costs,
        horizon_ms=point.horizon_ms,
        seed=point.seed,
        jitter_ms=point.jitter_ms,
        offchip_contention=point.contention,
        mechanics=AS_PUBLISHED if point.published else FAIR,
        partition=partition,
    )
    summary = result.summary()
    s = summary.iloc[-1]
    acc = delivered_accuracy(result.frames)
    starved = summary.loc[(summary["model"] != "") & (summary["starved"] > 0), "model"]
    row = {
        "scenario": spec_label(point.scenario),  # a file's stem, not its path
        "system": spec_label(point.system),
        "policy": point.policy + (PUBLISHED_SUFFIX if point.published else ""),
        "seed": point.seed,
        **{k: float(s[k]) for k in ("uxcost", "score", "miss_rate", "drop_rate", "energy_mj")},
        "e_norm": float(s["e_norm"]),
        "v": float(s["v"]),
        "accuracy": float(acc["accuracy"].iloc[-1]),
        "starved": len(starved),
        "starved_models": ";".join(starved),
    }
    ident = {k: row[k] for k in ("scenario", "system", "policy", "seed")}
    trace = None
    tuner = getattr(policy, "tuner", None)
    if tuner is not None:
        trace = tuner.trace_frame().assign(**ident)
    accuracy = acc.assign(**ident) if getattr(policy, "selector", None) is not None else None
    return row, trace, accuracy


def run_group(points: Sequence[Point]) -> list[tuple]:
    return [run_point(p) for p in points]
