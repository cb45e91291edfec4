"""The design points of ``rtmm compare``: what to run, and each point's identity in the store.

A :class:`Point` is one (scenario, system, policy, seed) run with the comparison's options. Every
point runs with the same engine mechanics (:data:`FAIR`: hopeless frames dropped,
feasibility-aware placement, migration cost), the same release jitter and the same off-chip
contention model; only "as published" baseline points (:data:`AS_PUBLISHED`, labelled
``<name>@published``) run without the engine's drop and placement. The Planaria-like policy runs
on the same hardware described as whole arrays and their sub-arrays (:mod:`scheduler.fission`).

A point's ``point_id`` (the results store's key) is a content hash of everything that determines
its numbers: the options above, the policy's parameters, the bytes of a scenario or system given
as a file, and :func:`inputs_digest` — the source and data files of the packages that compute a
run — so a store never hands back runs of other inputs or of another version of the simulator.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dse.compare_stats import REFERENCE
from rtmm.names import spec_label
from scheduler import pipeline
from scheduler.costs import CostArrays
from scheduler.mechanics import FrameMechanics
from scheduler.pipeline import DEFAULT_ANALYSIS

#: Release jitter of compare's runs (ms, uniform per frame): seeds differ in triggers and jitter.
DEFAULT_JITTER_MS = 2.0
#: The fair mechanics every policy runs with.
FAIR = FrameMechanics(drop_delta=1.0, feasible_placement=True, migration=True)
#: "As published" baselines: no engine drop beyond expired frames, no placement check.
AS_PUBLISHED = FrameMechanics(drop_delta=None, feasible_placement=False, migration=True)
PUBLISHED_SUFFIX = "@published"
#: Policies that run on the system split into sub-arrays (:mod:`scheduler.fission`).
FISSION_POLICIES = ("planaria",)
DEFAULT_SCENARIOS = (
    "social_interaction_a",
    "outdoor_activity_a",
    "ar_assistant",
    "ar_gaming",
    "vr_gaming",
)
DEFAULT_SYSTEMS = ("xrbench-4k-J", "xrbench-8k-J")
SDRM3_POLICIES = ("sdrm3", "sdrm3_static", "sdrm3_supernet", "sdrm3_static_supernet")
#: Packages whose files determine a run's numbers (hashed into every point id).
_SIMULATION_PACKAGES = ("scheduler", "costmodel", "workloads", "hardware_db")
_ROOT = Path(__file__).resolve().parent.parent
_COSTS: dict[tuple, CostArrays] = {}


def cost_arrays(scenario: Any, system: Any, analysis: str) -> CostArrays:
    """Dense costs of the scenario's own models and their zoo supernet variants, with each layer's
    input size for the migration cost (:func:`scheduler.pipeline.cost_arrays`; cached per
    process)."""
    key = (scenario.name, getattr(scenario, "source", None), system.name, analysis)
    if key not in _COSTS:
        _COSTS[key] = pipeline.cost_arrays(scenario, system, analysis=analysis, supernets=True)
    return _COSTS[key]


def default_policies() -> tuple[str, ...]:
    """Every registered baseline, then the SDRM3 variants."""
    from scheduler import policies

    names = policies.names()
    baselines = [n for n in names if not n.startswith("sdrm3")]
    return tuple(baselines) + tuple(p for p in SDRM3_POLICIES if p in names)


@dataclass(frozen=True)
class CompareConfig:
    """What to run (:meth:`identity`) and how (``jobs``, ``executor``, ``scheduler_address``,
    ``batch_size``: they never change a number). Defaults are the README's ``rtmm compare``."""

    scenarios: tuple[str, ...] = DEFAULT_SCENARIOS
    systems: tuple[str, ...] = DEFAULT_SYSTEMS
    policies: tuple[str, ...] = field(default_factory=lambda: default_policies())
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    horizon_ms: float = 2000.0
    analysis: str = DEFAULT_ANALYSIS["native"]
    jobs: int = 2
    policy_params: tuple[tuple[str, tuple], ...] = ()
    jitter_ms: float = DEFAULT_JITTER_MS
    contention: bool = True
    as_published: bool = False
    #: Options of :class:`~scheduler.mechanics.FrameMechanics` that replace :data:`FAIR`'s for
    #: every policy (measurements of candidate mechanics; empty in ``rtmm compare``).
    mechanics_overrides: tuple[tuple[str, Any], ...] = ()
    executor: str = "local"
    scheduler_address: str | None = None
    batch_size: int | None = None

    def identity(self) -> dict[str, Any]:
        """The options that determine the runs, as JSON data (the store's ``spec_json``)."""
        return {
            "scenarios": list(self.scenarios),
            "systems": list(self.systems),
            "policies": list(self.policies),
            "seeds": list(self.seeds),
            "horizon_ms": self.horizon_ms,
            "analysis": self.analysis,
            "policy_params": [[p, [list(kv) for kv in kvs]] for p, kvs in self.policy_params],
            "jitter_ms": self.jitter_ms,
            "contention": self.contention,
            "as_published": self.as_published,
            "mechanics_overrides": [list(kv) for kv in self.mechanics_overrides],
        }

    @classmethod
    def from_identity(cls, doc: dict[str, Any], **settings: Any) -> CompareConfig:
        """The config of :meth:`identity` ``doc`` with run settings ``settings``."""
        return cls(
            scenarios=tuple(doc["scenarios"]),
            systems=tuple(doc["systems"]),
            policies=tuple(doc["policies"]),
            seeds=tuple(int(s) for s in doc["seeds"]),
            horizon_ms=float(doc["horizon_ms"]),
            analysis=doc["analysis"],
            policy_params=tuple(
                (p, tuple(tuple(kv) for kv in kvs)) for p, kvs in doc["policy_params"]
            ),
            jitter_ms=float(doc["jitter_ms"]),
            contention=bool(doc["contention"]),
            as_published=bool(doc["as_published"]),
            mechanics_overrides=tuple(tuple(kv) for kv in doc.get("mechanics_overrides", [])),
            **settings,
        )

    @property
    def gantt_policy(self) -> str:
        """The policy whose run of the hardest scenario is drawn as a Gantt chart."""
        return REFERENCE if REFERENCE in self.policies else self.policies[0]


@dataclass(frozen=True)
class Point:
    """One run of the comparison; ``index`` (order of the outputs) and ``keep_blocks`` (keep the
    block trace for a Gantt chart) are not part of its identity. ``mechanics_overrides``: options
    of :class:`~scheduler.mechanics.FrameMechanics` replacing the fair mechanics' (not for
    ``published`` points)."""

    scenario: str
    system: str
    policy: str
    seed: int
    horizon_ms: float
    analysis: str
    policy_params: tuple = ()
    jitter_ms: float = DEFAULT_JITTER_MS
    contention: bool = True
    published: bool = False
    inputs: str = ""
    index: int = 0
    keep_blocks: bool = False
    mechanics_overrides: tuple[tuple[str, Any], ...] = ()

    def identity(self) -> dict[str, Any]:
        """Everything that determines the run's numbers, as JSON data (the store's params)."""
        return {
            "scenario": self.scenario,
            "system": self.system,
            "policy": self.policy,
            "seed": self.seed,
            "horizon_ms": self.horizon_ms,
            "analysis": self.analysis,
            "policy_params": [list(kv) for kv in self.policy_params],
            "jitter_ms": self.jitter_ms,
            "contention": self.contention,
            "published": self.published,
            "inputs": self.inputs,
            "mechanics_overrides": [list(kv) for kv in self.mechanics_overrides],
        }

    def params(self) -> dict[str, Any]:
        """The runner's interface: the identity (the store's ``params_json``)."""
        return self.identity()

    def flat_params(self) -> dict[str, Any]:
        out = self.identity()
        out["policy_params"] = json.dumps(out["policy_params"])
        return out

    @property
    def point_id(self) -> str:
        return content_hash(self.identity())

    @property
    def batch_key(self) -> tuple[str, str, str]:
        """Points of one (scenario, system, analysis) share a cost table: batched together."""
        return (self.scenario, self.system, self.analysis)

    @property
    def label(self) -> dict[str, Any]:
        """The run's row identity in the outputs (file stems, ``@published`` suffix)."""
        return {
            "scenario": spec_label(self.scenario),
            "system": spec_label(self.system),
            "policy": self.policy + (PUBLISHED_SUFFIX if self.published else ""),
            "seed": self.seed,
        }


def points_of(config: CompareConfig) -> list[Point]:
    """The runs of ``config`` in output order: scenario, system, seed, policy, published."""
    params = dict(config.policy_params)
    code = inputs_digest()
    gantt = config.gantt_policy
    out: list[Point] = []
    for sc in config.scenarios:
        for sy in config.systems:
            inputs = content_hash([code, _file_digest(sc), _file_digest(sy)])
            for seed in config.seeds:
                for p in config.policies:
                    baseline = config.as_published and not p.startswith("sdrm3")
                    for pub in (False, True) if baseline else (False,):
                        keep = p == gantt and not pub and seed == config.seeds[0]
                        out.append(
                            Point(
                                sc, sy, p, seed, config.horizon_ms, config.analysis,
                                params.get(p, ()), config.jitter_ms, config.contention, pub,
                                inputs, len(out), keep, config.mechanics_overrides,
                            )
                        )  # fmt: skip
    return out


def inputs_digest() -> str:
    """Digest of the files (sources and data) of the packages that compute a run, and of this
    module and the evaluator's."""
    h = hashlib.sha256()
    files = [f for pkg in _SIMULATION_PACKAGES for f in sorted((_ROOT / pkg).rglob("*"))]
    here = Path(__file__).resolve().parent
    files += [here / "compare_points.py", here / "compare_eval.py"]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(_ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def _file_digest(spec: str) -> str | None:
    """SHA-256 of a scenario or system given as a file (``None`` for a library name)."""
    path = Path(spec)
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24]


def content_hash(obj: Any) -> str:
    """Short SHA-256 of ``obj`` as canonical JSON (point ids, store fingerprints)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
