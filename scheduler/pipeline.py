"""One design point, end to end: resolve names -> costs -> cost arrays -> simulate -> score.

Every entry point that runs a scenario goes through this module: ``rtmm simulate`` and the
``scheduler.simulate`` API (:mod:`scheduler.simulate`), sweeps (:mod:`dse.evaluate`) and, when it
is wired to it, ``rtmm compare``. The steps, each a public function so callers can stop or start
at any of them:

1. :func:`resolve_scenario`, :func:`resolve_system`, :func:`resolve_policy` — names or paths to
   objects (a scenario may be a built-in name, a YAML file or an XRBench ``.m`` file);
2. :func:`scenario_models` — the scenario's *own* models: a model given inline (``file:`` in a
   YAML entry, a ``Network`` block of a ``.m`` file) is used as given, only entries without one are
   looked up in the zoo; a network whose name is not in the zoo works;
3. :func:`cost_table` — every layer of those models on every accelerator, from
   :func:`costmodel.table.system_cost_table` (content-keyed cache), with the ``model`` column
   holding the scenario's model ids;
4. :func:`cost_arrays` — the dense arrays the engines read (from a ready table, an external cost
   CSV or step 3);
5. :func:`run` — the XRBench-compatible or native engine, one :class:`SimulationResult`;
6. :func:`score` — the scenario-level metrics of a result (its summary's scenario row).

:func:`evaluate` chains all six for one design point.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from costmodel.table import system_cost_table
from hardware_db import library
from hardware_db.system import System
from rtmm.errors import SimulationError, SpecError
from scheduler import costs as cost_lib
from scheduler import policies
from scheduler.cost_csv import read_cost_csv
from scheduler.costs import CostArrays
from scheduler.engine import NativeEngine
from scheduler.fluid import check_sharing
from scheduler.mechanics import FrameMechanics, Partition, resolve_migration
from scheduler.policies.base import Policy, RunContext
from scheduler.protocols import ScenarioLike, SystemLike
from scheduler.result import SimulationResult
from scheduler.xrbench import run_xrbench
from workloads import scenario as scenario_lib
from workloads import supernet, zoo
from workloads.model import Model

#: A cost source: ready arrays, a cost-table DataFrame, an external cost CSV, or ``None``.
CostSource: TypeAlias = CostArrays | pd.DataFrame | str | os.PathLike | None
#: Supernet sub-networks per model id: ``{model_id: [(variant name in the table, accuracy)]}``.
VariantMap: TypeAlias = Mapping[str, Sequence[tuple[str, float]]]

#: Scenario-level metrics taken from a result's summary (its ``model == ""`` row).
SUMMARY_METRICS = (
    "score",
    "uxcost",
    "e_norm",
    "v",
    "miss_rate",
    "drop_rate",
    "energy_mj",
    "rt",
    "en",
    "acc",
    "qoe",
)
#: Frame counts taken from the same row when the simulator reports them.
COUNT_METRICS = ("released", "on_time", "late", "dropped", "not_triggered", "logged")


#: The cost analysis of each engine mode when none is named: ``maestro`` reproduces the published
#: XRBench numbers in XRBench-compatible mode; elsewhere ``native``, the analysis validated against
#: measured silicon (Eyeriss v1, docs/NATIVE_VALIDATION.md).
DEFAULT_ANALYSIS = {"xrbench": "maestro", "native": "native"}


def default_analysis(xrbench_compatible: bool) -> str:
    """The cost analysis used when none is named (:data:`DEFAULT_ANALYSIS`)."""
    return DEFAULT_ANALYSIS["xrbench" if xrbench_compatible else "native"]


@dataclass(frozen=True)
class RunOptions:
    """How to simulate (everything but the scenario, system, policy and costs).

    ``xrbench_compatible`` selects the XRBench runtime's rules (whole-model dispatch, integer
    periods; ``jitter_ms``, ``window_ms``, ``offchip_contention`` and variants do not apply);
    otherwise the native engine runs. ``analysis`` names the cost analysis used when the costs are
    computed here (``None``: :func:`default_analysis` of the mode). ``supernets`` adds the zoo's
    supernet sub-networks of the scenario's zoo models to the costs, for policies with a variant
    selector. ``mechanics`` are the engine's frame mechanics, the same for every policy (``None``:
    :class:`FrameMechanics` defaults, hopeless frames dropped and migration charged); ``partition``
    declares accelerators that are sub-arrays of others (spatial fission); ``probability_changes``
    (``(model index, time_ms, p)``) change the workload mid-run. ``offchip_sharing`` is the
    engine's rule for sharing the off-chip bandwidth under contention (``"dispatch"``, the default,
    or ``"fluid"``: :mod:`scheduler.fluid`).
    """

    xrbench_compatible: bool = False
    horizon_ms: float = 700.0
    seed: int = 0
    analysis: str | None = None
    jitter_ms: float = 0.0
    window_ms: float | None = None
    drop_expired: bool = True
    offchip_contention: bool = False
    supernets: bool = False
    mechanics: FrameMechanics | None = None
    partition: Partition | None = None
    probability_changes: tuple[tuple[int, float, float], ...] = ()
    offchip_sharing: str = "dispatch"

    @property
    def cost_analysis(self) -> str:
        """The analysis that costs the run: the named one, else the mode's default."""
        return self.analysis or default_analysis(self.xrbench_compatible)

    def __post_init__(self) -> None:
        check_sharing(self.offchip_sharing)
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise SimulationError(
                f"seed: must be a non-negative integer, got {seed!r}",
                source="<api>",
                allowed="integers >= 0",
            )
        for name, value, strict in (("jitter_ms", self.jitter_ms, False),
                                    ("horizon_ms", self.horizon_ms, True)):  # fmt: skip
            ok = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and (value > 0 if strict else value >= 0)
            )
            if not ok:
                bound = "> 0" if strict else ">= 0"
                raise SimulationError(
                    f"{name}: must be a finite number {bound}, got {value}",
                    source="<api>",
                    allowed=f"finite numbers {bound}",
                )


@dataclass(frozen=True)
class Evaluation:
    """One design point's outcome: the full result and its scenario-level metrics."""

    result: SimulationResult
    metrics: dict[str, float | int] = field(default_factory=dict)


# --- 1. names -> objects ---------------------------------------------------------------------


def resolve_scenario(scenario: ScenarioLike | str | os.PathLike) -> ScenarioLike:
    """A :class:`Scenario` from itself, a built-in name, or a ``.yaml``/``.m`` file path."""
    if isinstance(scenario, str | os.PathLike):
        return scenario_lib.load(scenario)
    return scenario


def resolve_system(system: SystemLike | str | os.PathLike) -> SystemLike:
    """A :class:`System` from itself, a library name, or a system file path."""
    if isinstance(system, str | os.PathLike):
        return library.get_system(system)
    return system


def resolve_policy(policy: str | Policy) -> Policy:
    """A fresh policy instance from the registry, or the given instance."""
    return policies.get(policy) if isinstance(policy, str) else policy


# --- 2. the scenario's own models ------------------------------------------------------------


def scenario_arrays(scenario: ScenarioLike) -> tuple:
    """(model ids, fps, parent indices, probabilities) of a scenario, validated."""
    models = tuple(scenario.models)
    ids = tuple(m.model_id for m in models)
    if not ids:
        raise SpecError("scenario has no models", source=getattr(scenario, "name", "<scenario>"))
    fps = tuple(float(m.fps) for m in models)
    parents: list[int | None] = []
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


def scenario_models(scenario: ScenarioLike) -> list[Model]:
    """The model run for each scenario entry, in scenario order: the entry's inline model (from
    a model file or a ``.m`` network) when it has one, else the zoo model of that id."""
    out = []
    for m in scenario.models:
        inline = getattr(m, "model", None)
        out.append(inline if inline is not None else zoo.load(m.model_id))
    return out


def supernet_variants(scenario: ScenarioLike) -> dict[str, list[tuple[str, float]]]:
    """Supernet sub-networks of the scenario's *zoo* models (inline models have none)."""
    out: dict[str, list[tuple[str, float]]] = {}
    for m in scenario.models:
        if getattr(m, "model", None) is None and supernet.has_variants(m.model_id):
            out[m.model_id] = [(v.name, v.accuracy) for v in supernet.variants(m.model_id)[1:]]
    return out


# --- 3. cost table -----------------------------------------------------------------------------


def cost_table(
    scenario: ScenarioLike, system: System, analysis: str = "maestro", *, supernets: bool = False
) -> pd.DataFrame:
    """Cost table of the scenario's own models (and, with ``supernets``, their zoo sub-networks)
    on every accelerator of ``system``; the ``model`` column holds scenario model ids (variant
    names for sub-networks), whatever the model files call their networks."""
    models = scenario_models(scenario)
    labels = [m.model_id for m in scenario.models]
    if supernets:
        for model_id in supernet_variants(scenario):
            for v in supernet.variants(model_id)[1:]:
                models.append(v.model)
                labels.append(v.name)
    table = system_cost_table(models, system, analysis=analysis)
    n_acc = len(system.accelerators)
    counts = [len(m.layers) * n_acc for m in models]
    if sum(counts) != len(table):
        raise SimulationError(
            f"cost table has {len(table)} rows, expected {sum(counts)}", source="<pipeline>"
        )
    table["model"] = np.repeat(np.array(labels, dtype=object), counts)
    # each layer's input activation (words): what moving a frame between accelerators carries
    offsets = np.repeat(np.cumsum([0] + [len(m.layers) for m in models[:-1]]), counts)
    inputs = np.array([float(layer.input_elems) for m in models for layer in m.layers])
    table["input_words"] = inputs[offsets + table["layer_idx"].to_numpy(dtype=np.int64)]
    return table


# --- 4. cost arrays ----------------------------------------------------------------------------


def cost_arrays(
    scenario: ScenarioLike,
    system: SystemLike,
    costs: CostSource = None,
    *,
    analysis: str = "maestro",
    variants: VariantMap | None = None,
    supernets: bool = False,
) -> CostArrays:
    """Dense cost arrays for the scenario's models on the system's accelerators.

    ``costs``: ready arrays (returned as they are), a cost-table DataFrame, a path to an external
    cost CSV, or ``None`` to cost the scenario's own models with ``analysis``. ``variants`` names
    sub-network rows of a given table; ``supernets`` (with ``costs=None``) costs the zoo's
    sub-networks too and uses them as the variants.
    """
    if isinstance(costs, CostArrays):
        return costs
    ids = scenario_arrays(scenario)[0]
    names = [a.name for a in system.accelerators]
    clocks = [float(a.clock_hz) for a in system.accelerators]
    if costs is None:
        if not isinstance(system, System):
            raise SimulationError(
                f"system {getattr(system, 'name', system)!r} is not a hardware_db System",
                source="<api>",
                allowed="a System (library name or file), or precomputed costs=",
            )
        table = cost_table(scenario, system, analysis, supernets=supernets)
        if supernets:
            variants = {**supernet_variants(scenario), **(variants or {})}
        source = f"<{analysis} cost table>"
    elif isinstance(costs, str | os.PathLike):
        table = read_cost_csv(Path(costs))
        source = str(costs)
    else:
        table, source = costs, "<cost table>"
    return cost_lib.from_table(
        table, ids, names, clocks, variants=variants, source=source,
        layer_counts=_layer_counts(scenario),
    )  # fmt: skip


def _layer_counts(scenario: ScenarioLike) -> dict[str, int]:
    """Layers of each model that will run, where known (an inline model, or a zoo model): a
    given cost table must cover exactly those layers. Ids that name neither (a table written for
    synthetic models) are checked only for gaps."""
    counts = {}
    for m in scenario.models:
        inline = getattr(m, "model", None)
        if inline is not None:
            counts[m.model_id] = len(inline.layers)
        elif zoo.is_known(m.model_id):
            counts[m.model_id] = len(zoo.load(m.model_id).layers)
    return counts


# --- 5. simulate ---------------------------------------------------------------------------------


def run(
    scenario: ScenarioLike | str | os.PathLike,
    system: SystemLike | str | os.PathLike,
    policy: str | Policy = "latency_greedy",
    *,
    costs: CostSource = None,
    options: RunOptions | None = None,
    variants: VariantMap | None = None,
) -> SimulationResult:
    """Simulate one design point: resolve, cost (unless ``costs`` is given) and run the engine."""
    opts = options if options is not None else RunOptions()
    scenario = resolve_scenario(scenario)
    system = resolve_system(system)
    policy = resolve_policy(policy)
    ids, fps, parents, prob = scenario_arrays(scenario)
    arrays = cost_arrays(
        scenario,
        system,
        costs,
        analysis=opts.cost_analysis,
        variants=variants,
        supernets=opts.supernets,
    )
    xrb = opts.xrbench_compatible
    seq = np.random.SeedSequence(int(opts.seed))
    trigger_seq, jitter_seq, policy_seq = seq.spawn(3)
    common = dict(model_ids=ids, fps=fps, parents=parents, probabilities=prob, costs=arrays)
    periods = np.array([int(1000 // f) if xrb else 1000.0 / f for f in fps], float)
    policy.reset(
        RunContext(
            costs=arrays,
            model_ids=ids,
            periods_ms=periods,
            parents=parents,
            probabilities=prob,
            horizon_ms=float(opts.horizon_ms),
            xrbench=xrb,
            rng=np.random.default_rng(policy_seq),
        )
    )
    if xrb:
        frames, timeline, end, periods_ms = run_xrbench(
            **common,
            policy=policy,
            horizon_ms=opts.horizon_ms,
            rng=np.random.default_rng(trigger_seq),
        )
        mode = "xrbench"
    else:
        offchip = None
        if opts.offchip_contention:
            offchip = float(getattr(system, "offchip_bw_words_per_cycle", 0) or 0)
            if offchip <= 0:
                raise SimulationError(
                    "off-chip contention needs the system's offchip_bw_words_per_cycle",
                    source="<api>",
                )
            if any(v.offchip_words is None for m in arrays.models for v in m.variants):
                raise SimulationError(
                    "off-chip contention needs an 'offchip_words' column in the cost table",
                    source="<api>",
                )
        mechanics = FrameMechanics() if opts.mechanics is None else opts.mechanics
        engine = NativeEngine(
            **common,
            policy=policy,
            horizon_ms=opts.horizon_ms,
            trigger_rng=np.random.default_rng(trigger_seq),
            jitter_rng=np.random.default_rng(jitter_seq),
            jitter_ms=opts.jitter_ms,
            window_ms=opts.window_ms,
            drop_expired=opts.drop_expired,
            offchip_bw_words_per_cycle=offchip,
            mechanics=mechanics,
            migration=resolve_migration(mechanics.migration, arrays, system),
            partition=opts.partition,
            probability_changes=opts.probability_changes,
            offchip_sharing=opts.offchip_sharing,
        )
        frames, timeline, end = engine.run()
        periods_ms = tuple(float(p) for p in engine.periods_ms)
        mode = "native"
    return SimulationResult(
        scenario=str(getattr(scenario, "name", "scenario")),
        system=str(getattr(system, "name", "system")),
        policy=policy.name,
        mode=mode,
        horizon_ms=float(opts.horizon_ms),
        seed=int(opts.seed),
        model_ids=ids,
        periods_ms=periods_ms,
        accelerator_names=arrays.accelerator_names,
        frames=frames,
        timeline=timeline,
        end_ms=float(end),
    )


# --- 6. score ------------------------------------------------------------------------------------


def score(result: SimulationResult) -> dict[str, float | int]:
    """Scenario-level metrics of a result: :data:`SUMMARY_METRICS` as floats and
    :data:`COUNT_METRICS` as ints, those the summary reports."""
    summary = result.summary()
    row = summary.loc[summary["model"] == ""].iloc[0]
    metrics: dict[str, float | int] = {}
    for col in SUMMARY_METRICS:
        if col in row.index:
            metrics[col] = float(row[col])
    for col in COUNT_METRICS:
        if col in row.index:
            metrics[col] = int(row[col])
    return metrics


def evaluate(
    scenario: ScenarioLike | str | os.PathLike,
    system: SystemLike | str | os.PathLike,
    policy: str | Policy = "latency_greedy",
    *,
    costs: CostSource = None,
    options: RunOptions | None = None,
    variants: VariantMap | None = None,
) -> Evaluation:
    """Run one design point end to end (:func:`run`, then :func:`score`)."""
    result = run(scenario, system, policy, costs=costs, options=options, variants=variants)
    return Evaluation(result, score(result))


__all__ = [
    "COUNT_METRICS",
    "SUMMARY_METRICS",
    "CostSource",
    "Evaluation",
    "RunOptions",
    "VariantMap",
    "cost_arrays",
    "cost_table",
    "evaluate",
    "resolve_policy",
    "resolve_scenario",
    "resolve_system",
    "run",
    "scenario_arrays",
    "scenario_models",
    "score",
    "supernet_variants",
]
