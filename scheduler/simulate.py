"""``simulate``: run one scenario on one system under one policy, in either mode.

Inputs are resolved once (scenario and system by name or path, the cost table built with
:mod:`costmodel` or read from a CSV, the policy by registry name) and converted into dense cost
arrays; the engines (:mod:`scheduler.xrbench`, :mod:`scheduler.engine`) never see pandas.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rtmm.errors import SimulationError, SpecError
from scheduler import costs as cost_arrays
from scheduler import policies
from scheduler.costs import CostArrays
from scheduler.engine import NativeEngine
from scheduler.mechanics import FrameMechanics, Partition, resolve_migration
from scheduler.policies.base import Policy, RunContext
from scheduler.result import SimulationResult
from scheduler.xrbench import run_xrbench

_COST_CACHE: dict[Any, CostArrays] = {}


def resolve_scenario(scenario: Any) -> Any:
    """A scenario object (``.name``, ``.models`` of ``model_id, fps, parent, probability``)."""
    if not isinstance(scenario, str | os.PathLike):
        return scenario
    from workloads import scenario as scenario_lib

    return scenario_lib.load(scenario)


def resolve_system(system: Any) -> Any:
    """A system object (``.name``, ``.accelerators`` with ``.name`` and ``.clock_hz``)."""
    if not isinstance(system, str | os.PathLike):
        return system
    from hardware_db import library

    return library.get_system(system)


def scenario_arrays(scenario: Any) -> tuple:
    """(model ids, fps, parent indices, probabilities) of a scenario, validated."""
    models = tuple(scenario.models)
    ids = tuple(m.model_id for m in models)
    if not ids:
        raise SpecError("scenario has no models", source=getattr(scenario, "name", "<scenario>"))
    fps = tuple(float(m.fps) for m in models)
    parents = []
    for m in models:
        if m.parent is None:
            parents.append(None)
        elif m.parent in ids:
            parents.append(ids.index(m.parent))
        else:
            raise SpecError(
                f"model {m.model_id}: parent '{m.parent}' is not a model of the scenario",
                source=getattr(scenario, "name", "<scenario>"),
                allowed=", ".join(ids),
            )
    prob = np.array([float(getattr(m, "probability", 1.0)) for m in models])
    return ids, fps, tuple(parents), prob


def build_costs(
    scenario: Any,
    system: Any,
    costs: pd.DataFrame | str | os.PathLike | CostArrays | None = None,
    *,
    analysis: str = "maestro",
    variants: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    supernets: bool = False,
) -> CostArrays:
    """Dense cost arrays for the scenario's models on the system's accelerators.

    ``costs`` may be ready arrays, a cost-table DataFrame, a path to an external cost CSV, or
    ``None`` (build the table with ``costmodel.table.system_cost_table``; cached per scenario
    models, system and analysis for the life of the process).
    """
    if isinstance(costs, CostArrays):
        return costs
    ids = scenario_arrays(scenario)[0]
    names = tuple(a.name for a in system.accelerators)
    clocks = [float(a.clock_hz) for a in system.accelerators]
    if costs is None:
        try:
            key = (ids, system, analysis, repr(variants), supernets)
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in _COST_CACHE:
            return _COST_CACHE[key]
        from costmodel.table import system_cost_table
        from workloads import zoo

        table = system_cost_table([zoo.load(i) for i in ids], system, analysis=analysis)
        arrays = cost_arrays.from_table(
            table, ids, names, clocks, variants=variants, source=f"<{analysis} cost table>"
        )
        if key is not None:
            _COST_CACHE[key] = arrays
        return arrays
    if isinstance(costs, str | os.PathLike):
        path = Path(costs)
        return cost_arrays.from_table(
            cost_arrays.read_cost_csv(path), ids, names, clocks, variants=variants, source=str(path)
        )
    return cost_arrays.from_table(costs, ids, names, clocks, variants=variants)


def resolve_policy(policy: str | Policy) -> Policy:
    return policies.get(policy) if isinstance(policy, str) else policy


def simulate(
    scenario: Any,
    system: Any,
    policy: str | Policy = "latency_greedy",
    *,
    costs: pd.DataFrame | str | os.PathLike | CostArrays | None = None,
    xrbench_compatible: bool = False,
    horizon_ms: float = 700.0,
    seed: int = 0,
    analysis: str = "maestro",
    jitter_ms: float = 0.0,
    window_ms: float | None = None,
    drop_expired: bool = True,
    offchip_contention: bool = False,
    variants: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    supernets: bool = False,
    mechanics: FrameMechanics | None = None,
    partition: Partition | None = None,
    probability_changes: Sequence[tuple[int, float, float]] = (),
) -> SimulationResult:
    """Simulate ``scenario`` on ``system`` under ``policy`` for ``horizon_ms``.

    ``xrbench_compatible`` selects the XRBench runtime's rules (SPEC §5; whole-model dispatch, the
    policy only picks the accelerator; ``jitter_ms``, ``window_ms``, ``offchip_contention`` and
    variants do not apply). Otherwise the native engine runs (see :mod:`scheduler.engine`);
    ``window_ms`` calls the policy's ``on_window`` every window, ``variants``/``supernets`` give
    the policy's ``select_variant`` sub-networks to choose from (see :func:`build_costs`).
    ``mechanics`` are the engine's frame mechanics, the same for every policy (default
    :class:`~scheduler.mechanics.FrameMechanics`: hopeless frames dropped, migration charged);
    ``partition`` declares accelerators that are sub-arrays of others (spatial fission);
    ``probability_changes`` (``(model index, time_ms, p)``) change the workload mid-run.
    """
    scenario = resolve_scenario(scenario)
    system = resolve_system(system)
    policy = resolve_policy(policy)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SimulationError(
            f"seed: must be a non-negative integer, got {seed!r}",
            source="<api>",
            allowed="integers >= 0",
        )
    if not (isinstance(jitter_ms, int | float) and math.isfinite(jitter_ms) and jitter_ms >= 0):
        raise SimulationError(
            f"jitter_ms: must be a finite number >= 0, got {jitter_ms}",
            source="<api>",
            allowed="finite numbers >= 0",
        )
    if not (isinstance(horizon_ms, int | float) and math.isfinite(horizon_ms) and horizon_ms > 0):
        raise SimulationError(
            f"horizon_ms: must be a finite number > 0, got {horizon_ms}",
            source="<api>",
            allowed="finite numbers > 0",
        )
    ids, fps, parents, prob = scenario_arrays(scenario)
    arrays = build_costs(
        scenario, system, costs, analysis=analysis, variants=variants, supernets=supernets
    )
    seq = np.random.SeedSequence(seed)
    trigger_seq, jitter_seq, policy_seq = seq.spawn(3)
    common = dict(model_ids=ids, fps=fps, parents=parents, probabilities=prob, costs=arrays)
    periods = np.array([int(1000 // f) if xrbench_compatible else 1000.0 / f for f in fps], float)
    policy.reset(
        RunContext(
            costs=arrays,
            model_ids=ids,
            periods_ms=periods,
            parents=parents,
            probabilities=prob,
            horizon_ms=float(horizon_ms),
            xrbench=xrbench_compatible,
            rng=np.random.default_rng(policy_seq),
        )
    )
    if xrbench_compatible:
        frames, timeline, end, periods_ms = run_xrbench(
            **common,
            policy=policy,
            horizon_ms=horizon_ms,
            rng=np.random.default_rng(trigger_seq),
        )
        mode = "xrbench"
    else:
        offchip = None
        if offchip_contention:
            offchip = float(system.offchip_bw_words_per_cycle)
            if any(v.offchip_words is None for m in arrays.models for v in m.variants):
                raise SimulationError(
                    "off-chip contention needs an 'offchip_words' column in the cost table",
                    source="<api>",
                )
        mechanics = FrameMechanics() if mechanics is None else mechanics
        engine = NativeEngine(
            **common,
            policy=policy,
            horizon_ms=horizon_ms,
            trigger_rng=np.random.default_rng(trigger_seq),
            jitter_rng=np.random.default_rng(jitter_seq),
            jitter_ms=jitter_ms,
            window_ms=window_ms,
            drop_expired=drop_expired,
            offchip_bw_words_per_cycle=offchip,
            mechanics=mechanics,
            migration=resolve_migration(mechanics.migration, arrays, system),
            partition=partition,
            probability_changes=probability_changes,
        )
        frames, timeline, end = engine.run()
        periods_ms = tuple(float(p) for p in engine.periods_ms)
        mode = "native"
    return SimulationResult(
        scenario=str(getattr(scenario, "name", "scenario")),
        system=str(getattr(system, "name", "system")),
        policy=policy.name,
        mode=mode,
        horizon_ms=float(horizon_ms),
        seed=int(seed),
        model_ids=ids,
        periods_ms=periods_ms,
        accelerator_names=arrays.accelerator_names,
        frames=frames,
        timeline=timeline,
        end_ms=float(end),
    )
