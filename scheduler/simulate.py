"""``simulate``: run one scenario on one system under one policy, in either mode.

A thin front to :mod:`scheduler.pipeline`, which owns the steps (resolve names, cost the
scenario's own models, build the dense cost arrays, run the engine); this module keeps the
keyword-argument API of ``scheduler.simulate`` and ``rtmm simulate``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from hardware_db.system import System
from scheduler.costs import CostArrays
from scheduler.mechanics import FrameMechanics, Partition
from scheduler.pipeline import (
    CostSource,
    RunOptions,
    cost_arrays,
    resolve_policy,
    resolve_scenario,
    resolve_system,
    run,
    scenario_arrays,
)
from scheduler.policies.base import Policy
from scheduler.result import SimulationResult
from workloads.scenario import Scenario

__all__ = [
    "build_costs",
    "resolve_policy",
    "resolve_scenario",
    "resolve_system",
    "scenario_arrays",
    "simulate",
]


def build_costs(
    scenario: Scenario,
    system: System,
    costs: CostSource = None,
    *,
    analysis: str = "maestro",
    variants: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    supernets: bool = False,
) -> CostArrays:
    """Dense cost arrays of the scenario's own models (:func:`scheduler.pipeline.cost_arrays`)."""
    return cost_arrays(
        scenario, system, costs, analysis=analysis, variants=variants, supernets=supernets
    )


def simulate(
    scenario: Scenario | str | os.PathLike,
    system: System | str | os.PathLike,
    policy: str | Policy = "latency_greedy",
    *,
    costs: CostSource = None,
    xrbench_compatible: bool = False,
    horizon_ms: float = 700.0,
    seed: int = 0,
    analysis: str | None = None,
    jitter_ms: float = 0.0,
    window_ms: float | None = None,
    drop_expired: bool = True,
    offchip_contention: bool = False,
    variants: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    supernets: bool = False,
    mechanics: FrameMechanics | None = None,
    partition: Partition | None = None,
    probability_changes: Sequence[tuple[int, float, float]] = (),
    offchip_sharing: str = "dispatch",
) -> SimulationResult:
    """Simulate ``scenario`` on ``system`` under ``policy`` for ``horizon_ms``.

    ``analysis`` names the cost analysis (``None``: ``native``, or ``maestro`` in XRBench-compatible
    mode: :func:`scheduler.pipeline.default_analysis`). ``xrbench_compatible`` selects the XRBench
    runtime's rules (whole-model dispatch, the policy only picks the accelerator; ``jitter_ms``,
    ``window_ms``, ``offchip_contention`` and variants do not apply). Otherwise the native engine
    runs (see :mod:`scheduler.engine`); ``window_ms`` calls the policy's ``on_window`` every window;
    ``variants`` names sub-network rows of the given cost table and ``supernets`` costs the zoo's
    sub-networks of the scenario's models, for the policy's ``select_variant`` to choose from.
    ``mechanics`` (the engine's frame mechanics, the same for every policy), ``partition`` (spatial
    fission) and ``probability_changes`` (mid-run workload changes) are described in
    :class:`scheduler.pipeline.RunOptions`, as is ``offchip_sharing`` (how running blocks share
    the off-chip bandwidth under ``offchip_contention``: fixed at dispatch, or ``"fluid"``).
    """
    options = RunOptions(
        xrbench_compatible=xrbench_compatible,
        horizon_ms=horizon_ms,
        seed=seed,
        analysis=analysis,
        jitter_ms=jitter_ms,
        window_ms=window_ms,
        drop_expired=drop_expired,
        offchip_contention=offchip_contention,
        supernets=supernets,
        mechanics=mechanics,
        partition=partition,
        probability_changes=tuple((int(m), float(t), float(p)) for m, t, p in probability_changes),
        offchip_sharing=offchip_sharing,
    )
    return run(scenario, system, policy, costs=costs, options=options, variants=variants)
