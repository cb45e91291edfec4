"""Evaluating one design point of a sweep: hardware axes -> system, then the scheduler pipeline.

The recipe (:func:`evaluate_point`):

1. build the point's system: the base system with the hardware axes applied and validated
   (:func:`dse.sweep.apply_hardware`);
2. load the scenario (built-in name, ``.yaml`` or ``.m`` file), with the point's cascade
   probability;
3. cost the scenario's own models on every accelerator, simulate with the point's policy, mode,
   horizon and seed, and score the run — all by :mod:`scheduler.pipeline`, the same code that
   ``rtmm simulate`` runs;
4. add the hardware's area proxy (:func:`area_metrics`) to the scenario-level metrics.

Resolved systems, scenarios and cost arrays are kept in bounded LRU caches keyed by value (the
per-layer costs themselves live in :mod:`costmodel.cache`), and the sweep runner batches points
with the same hardware together, so a worker costs a system once per batch however many
scenarios, policies and seeds it simulates on it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import pandas as pd

from dse.sweep import DesignPoint, SweepSpec, apply_hardware, expand
from hardware_db.library import get_system
from hardware_db.system import System
from rtmm.errors import UnknownNameError
from scheduler import pipeline, policies
from scheduler.costs import CostArrays
from scheduler.result import SimulationResult
from workloads import scenario as scenario_lib
from workloads.scenario import Scenario

#: The cost analysis of points that name none.
DEFAULT_ANALYSIS = "maestro"

#: Area proxy weights (see :func:`area_metrics`): one PE (an 8-bit MAC with its registers) is the
#: unit; one byte of SRAM counts 1/40 of it — an order-of-magnitude ratio for 28-45 nm processes
#: (an 8-bit MAC is a few hundred um^2, an SRAM byte a few um^2 with periphery).
AREA_PER_PE = 1.0
AREA_PER_SRAM_BYTE = 1.0 / 40.0


def area_metrics(system: Any) -> dict[str, float]:
    """Hardware size figures of a system, in PE-equivalents and bytes.

    ``area_proxy_pe_eq = sum over accelerators of AREA_PER_PE * num_pes
    + AREA_PER_SRAM_BYTE * (num_pes * l1_bytes_per_pe + l2_bytes)``. It is a proxy for ranking
    designs (more PEs or bigger buffers cost area), not a silicon estimate; the raw totals are
    reported beside it so other weightings can be computed from the store.
    """
    pes = sum(a.num_pes for a in system.accelerators)
    l1 = sum(a.num_pes * a.l1_bytes_per_pe for a in system.accelerators)
    l2 = sum(a.l2_bytes for a in system.accelerators)
    return {
        "total_pes": int(pes),
        "l1_bytes_total": int(l1),
        "l2_bytes_total": int(l2),
        "area_proxy_pe_eq": float(AREA_PER_PE * pes + AREA_PER_SRAM_BYTE * (l1 + l2)),
    }


# --------------------------------------------------------------------------------------------
# Cached resolution (by value: system reference + hardware axis values, scenario name)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _base_system(ref: str) -> System:
    return get_system(ref)


@functools.lru_cache(maxsize=32)
def point_system(
    base_ref: str, hardware: tuple[tuple[str, Any], ...], source: str = "<sweep>"
) -> System:
    """The validated system of a point (cached by content)."""
    return apply_hardware(_base_system(base_ref), hardware, source=source)


@functools.lru_cache(maxsize=16)
def _scenario(name: str) -> Scenario:
    return scenario_lib.load(name)


@functools.lru_cache(maxsize=32)
def point_scenario(name: str, cascade_probability: float | None = None) -> Scenario:
    """The point's scenario; with ``cascade_probability`` set, every cascaded model (one with a
    parent) is triggered with that probability. Scenarios without cascades are unchanged."""
    sc = _scenario(name)
    if cascade_probability is not None:
        for m in sc.models:
            if m.parent is not None:
                sc = sc.with_probability(m.model_id, cascade_probability)
    return sc


@functools.lru_cache(maxsize=16)
def _scenario_costs(
    base_ref: str, hardware: tuple[tuple[str, Any], ...], analysis: str | None, scenario: str
) -> CostArrays:
    """The simulator's dense cost arrays for a scenario's own models on the point's system
    (:func:`scheduler.pipeline.cost_arrays`; the per-layer costs come from costmodel's
    content-keyed cache, these arrays are kept per point key so a batch builds them once)."""
    return pipeline.cost_arrays(
        _scenario(scenario), point_system(base_ref, hardware), None, analysis=_analysis(analysis)
    )


def scenario_cost_table(
    scenario: Scenario, system: System, analysis: str | None = None
) -> pd.DataFrame:
    """Cost table of every model of ``scenario`` on ``system`` (``pipeline.cost_table``)."""
    return pipeline.cost_table(scenario, system, _analysis(analysis))


def _analysis(analysis: str | None) -> str:
    """A point's cost analysis (``None``: the default, ``maestro``)."""
    return DEFAULT_ANALYSIS if analysis is None else analysis


# --------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------


def _options(point: DesignPoint) -> pipeline.RunOptions:
    return pipeline.RunOptions(
        xrbench_compatible=point.xrbench_compatible,
        horizon_ms=point.horizon_ms,
        seed=point.seed,
        analysis=_analysis(point.analysis),
    )


def simulate_point(point: DesignPoint) -> SimulationResult:
    """Run the simulation of one design point and return the simulator's result (for timelines,
    per-model summaries and per-frame tables of a point picked from a store)."""
    return pipeline.run(
        point_scenario(point.scenario, point.cascade_probability),
        point_system(point.base_system_ref, point.hardware),
        point.policy,
        costs=_scenario_costs(
            point.base_system_ref, point.hardware, point.analysis, point.scenario
        ),
        options=_options(point),
    )


def evaluate_point(point: DesignPoint) -> dict[str, Any]:
    """Metrics of one design point (see the module docstring)."""
    metrics: dict[str, Any] = dict(pipeline.score(simulate_point(point)))
    metrics.update(area_metrics(point_system(point.base_system_ref, point.hardware)))
    return metrics


def check_spec(spec: SweepSpec) -> None:
    """Fail fast, before any work starts: the base system, scenarios and policies exist, and
    every hardware configuration the sweep will visit passes the hardware loader's rules."""
    for ref in spec.base_system_refs:
        _base_system(ref)
    for name in spec.scenarios.values:
        _scenario(name)
    known = policies.names()
    for name in spec.policies.values:
        if name not in known:
            raise UnknownNameError(
                f"unknown policy '{name}'", field="policies", allowed=", ".join(sorted(known))
            )
    for base, ref, hardware in _distinct_hardware(spec):
        label = ", ".join([f"base_system={base}", *(f"{k}={v}" for k, v in hardware)])
        point_system(ref, hardware, f"{spec.source} [{label}]")


evaluate_point.check_spec = check_spec  # type: ignore[attr-defined]  # the runner calls it


def _distinct_hardware(spec: SweepSpec) -> list[tuple[str, str, tuple[tuple[str, Any], ...]]]:
    """(base system, its ref, hardware axis values) of every configuration the sweep visits."""
    if spec.sample is None:
        names = [a.name for a in spec.hardware_axes]
        combos = list(itertools.product(*(a.values for a in spec.hardware_axes)))
        return [
            (base, ref, tuple(zip(names, c, strict=True)))
            for base, ref in zip(spec.base_systems.values, spec.base_system_refs, strict=True)
            for c in combos
        ]
    points = expand(spec)
    return list(dict.fromkeys((p.base_system, p.base_system_ref, p.hardware) for p in points))


def metrics_frame(points: Sequence[DesignPoint]) -> pd.DataFrame:
    """Evaluate points in this process and return one row per point (parameters + metrics)."""
    rows = [{**p.flat_params(), **evaluate_point(p)} for p in points]
    return pd.DataFrame(rows)
