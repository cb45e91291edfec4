"""Design-space sweep specs as objects: the axes, sampling and executor settings, design points.

The YAML format they are read from is described in :mod:`dse.sweep`; :mod:`dse.spec_reader`
validates a parsed file into a :class:`SweepSpec`, :mod:`dse.expand` turns it into
:class:`DesignPoint` objects and :mod:`dse.hardware_axes` builds each point's system.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import qmc

from hardware_db import dataflow as dataflow_presets
from hardware_db import energy as energy_presets
from hardware_db.schema import AcceleratorSpec, SystemSpec, sweep_fields
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_POINTS
from rtmm.validation import unwrap

DEFAULT_HORIZON_MS = 700.0
#: Bounds the CLI flags share with the spec (``--workers``, ``--batch-size``).
MAX_WORKERS = 1024
MAX_BATCH_SIZE = 1_000_000

_FROZEN = ConfigDict(extra="forbid", frozen=True)
_Label = Annotated[
    str,
    Field(strict=True, pattern=r"\S", json_schema_extra={"pattern_name": "name",
                                                          "allowed": "names (non-empty strings)"}),
]  # fmt: skip
_Seed = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]


# --------------------------------------------------------------------------------------------
# Spec models: the types and bounds of every field of a sweep file, stated once
# --------------------------------------------------------------------------------------------


class PointValues(BaseModel):
    """One value of each non-hardware axis (every axis is a list of such values)."""

    model_config = _FROZEN

    base_system: _Label = Field(description="library system name or system file")
    scenarios: _Label = Field(description="built-in scenario name or scenario file")
    policies: _Label = Field(description="scheduling policy name")
    modes: Literal["xrbench", "native"] = Field(description="simulator engine mode")
    seeds: _Seed = Field(description="random seed")
    horizon_ms: Annotated[
        float, Field(strict=True, allow_inf_nan=False, gt=0, le=MAX_HORIZON_MS)
    ] = Field(description="simulated time per run, ms")
    analysis: Literal["maestro", "native"] = Field(description="cost analysis")
    cascade_probabilities: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)] = (
        Field(description="trigger probability of every cascaded model")
    )


class SweepOnlyAxes(BaseModel):
    """Hardware axes that are not fields of a hardware file."""

    model_config = _FROZEN

    pe_split: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, lt=1)] = Field(
        description="fraction of a two-accelerator system's PEs given to accelerator 0"
    )


class SampleModel(BaseModel):
    """``sample: {method, n, seed}``: a seeded subset of the cross product."""

    model_config = _FROZEN

    method: Literal["lhs", "random"]
    n: Annotated[int, Field(strict=True, ge=1, le=MAX_POINTS)] = Field(description="points")
    seed: _Seed = 0


class ExecutorModel(BaseModel):
    """``executor``: a name or ``{name, workers, address}`` (the CLI may override each)."""

    model_config = _FROZEN

    name: Literal["local", "dask", "serial"] = "local"
    workers: Annotated[int, Field(strict=True, ge=1, le=MAX_WORKERS)] | None = None
    address: (
        Annotated[
            str,
            Field(strict=True, pattern=r"^\w+://\S+$", json_schema_extra={
                "pattern_name": "address", "allowed": "a scheduler address like tcp://HOST:PORT"}),
        ]
        | None
    ) = None  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class SweepFile(BaseModel):
    """The top level of a sweep file. Axes (``base_system`` ... ``analysis``) are a list,
    ``{values: [...]}``, ``{start, stop, step}`` or one value, each value checked by
    :class:`PointValues`; ``axes`` maps hardware field paths to such axes."""

    model_config = _FROZEN

    name: Annotated[str, Field(strict=True)] = ""
    base_system: Any
    axes: dict[str, Any] | None = None
    scenarios: Any
    policies: Any
    modes: Any = "xrbench"
    seeds: Any = 0
    cascade_probabilities: Any = None
    horizon_ms: Any = DEFAULT_HORIZON_MS
    analysis: Any = None
    sample: SampleModel | None = None
    executor: ExecutorModel | None = None
    batch_size: Annotated[int, Field(strict=True, ge=1, le=MAX_BATCH_SIZE)] | None = None
    evaluator: (
        Annotated[
            str,
            Field(strict=True, pattern=r"^[\w.]+:\w+$", json_schema_extra={
                "pattern_name": "evaluator", "allowed": "module.path:function"}),
        ]
        | None
    ) = None  # fmt: skip


def _choices(model: type[BaseModel], name: str) -> tuple[str, ...]:
    return get_args(unwrap(model.model_fields[name].annotation)[0])


MODES = _choices(PointValues, "modes")
ANALYSES = _choices(PointValues, "analysis")
SAMPLE_METHODS = _choices(SampleModel, "method")
EXECUTORS = _choices(ExecutorModel, "name")

#: Accelerator fields a hardware axis may set (``accelerators[i].PATH``), read off the hardware
#: model: path -> (model, field) whose type and bounds check the axis values.
ACCELERATOR_FIELDS: dict[str, tuple[type[BaseModel], str]] = sweep_fields(AcceleratorSpec)
#: System-level axis fields: the system model's numbers, and ``pe_split``.
SYSTEM_FIELDS: dict[str, tuple[type[BaseModel], str]] = {
    **sweep_fields(SystemSpec),
    **sweep_fields(SweepOnlyAxes),
}

_TOP_KEYS = tuple(SweepFile.model_fields)
_ACCEL_RE = re.compile(r"^accelerators\[(\*|\d+)\]\.(.+)$")


# --------------------------------------------------------------------------------------------
# Spec objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One swept dimension: a field path and its values (in the order they are visited)."""

    name: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SampleSpec:
    """A seeded subset of the cross product: ``method`` is ``"lhs"`` or ``"random"``."""

    method: str
    n: int
    seed: int = 0


@dataclass(frozen=True)
class ExecutorSpec:
    """Default executor of a sweep (the CLI may override every field)."""

    name: str = "local"
    workers: int | None = None
    address: str | None = None


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec. ``base_systems`` holds the systems as written; ``base_system_refs``
    (same order) what to load: library names, or paths resolved against the spec's folder."""

    source: str
    base_systems: Axis
    base_system_refs: tuple[str, ...]
    hardware_axes: tuple[Axis, ...]
    scenarios: Axis
    policies: Axis
    modes: Axis
    seeds: Axis
    horizon_ms: Axis
    analysis: Axis
    cascade_probabilities: Axis = Axis("cascade_probability", (None,))
    name: str = ""
    sample: SampleSpec | None = None
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)
    batch_size: int | None = None
    evaluator: str | None = None

    @property
    def point_axes(self) -> tuple[Axis, ...]:
        """Every dimension of the design space, slowest-varying first."""
        return (
            self.base_systems,
            *self.hardware_axes,
            self.analysis,
            self.scenarios,
            self.cascade_probabilities,
            self.modes,
            self.policies,
            self.horizon_ms,
            self.seeds,
        )

    @property
    def full_size(self) -> int:
        """Number of points of the full cross product."""
        return math.prod(len(a.values) for a in self.point_axes)

    @property
    def num_points(self) -> int:
        return self.full_size if self.sample is None else len(sample_indices(self))

    def fingerprint(self) -> str:
        """Content hash of everything that determines the set of points and their values."""
        return _hash(self.identity())

    def identity(self) -> dict[str, Any]:
        """The spec's point-determining content as plain JSON data (executor settings excluded)."""
        return {
            "axes": [[a.name, list(a.values)] for a in self.point_axes],
            "sample": None if self.sample is None else vars(self.sample),
            "evaluator": self.evaluator,
        }


@dataclass(frozen=True)
class DesignPoint:
    """One point of a sweep; ``index`` is its position in the expansion (not its identity)."""

    index: int
    base_system: str
    base_system_ref: str
    hardware: tuple[tuple[str, Any], ...]
    analysis: str | None
    scenario: str
    mode: str
    policy: str
    horizon_ms: float
    seed: int
    cascade_probability: float | None = None

    def params(self) -> dict[str, Any]:
        """The point's full parameters (JSON-serialisable; the store's ``params_json``)."""
        return {
            "base_system": self.base_system,
            "hardware": {k: v for k, v in self.hardware},
            "analysis": self.analysis,
            "scenario": self.scenario,
            "mode": self.mode,
            "policy": self.policy,
            "horizon_ms": self.horizon_ms,
            "seed": self.seed,
            **self._cascade(),
        }

    def _cascade(self) -> dict[str, float]:
        """Present only when swept, so points of specs without the axis keep their ids."""
        p = self.cascade_probability
        return {} if p is None else {"cascade_probability": p}

    def flat_params(self) -> dict[str, Any]:
        """Parameters as flat columns: hardware axes by their field path, then the rest."""
        out: dict[str, Any] = {"base_system": self.base_system}
        out.update({k: v for k, v in self.hardware})
        out.update(
            analysis=self.analysis,
            scenario=self.scenario,
            mode=self.mode,
            policy=self.policy,
            horizon_ms=self.horizon_ms,
            seed=self.seed,
            **self._cascade(),
        )
        return out

    @property
    def point_id(self) -> str:
        """Content hash of :meth:`params` (the store's primary key)."""
        return _hash(self.params())

    @property
    def hardware_key(self) -> str:
        """Content hash of what determines the system and its cost table (for grouping)."""
        return _hash([self.base_system, [list(kv) for kv in self.hardware], self.analysis])

    @property
    def xrbench_compatible(self) -> bool:
        return self.mode == "xrbench"


def _hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def sample_indices(spec: SweepSpec) -> list[tuple[int, ...]]:
    """Per-axis value indices of the sampled points, distinct and sorted (hardware grouped)."""
    sizes = [len(a.values) for a in spec.point_axes]
    assert spec.sample is not None
    n, seed = spec.sample.n, spec.sample.seed
    if spec.sample.method == "random":
        flat = np.random.default_rng(seed).choice(spec.full_size, size=n, replace=False)
        idx = np.stack(np.unravel_index(np.sort(flat), sizes), axis=1)
    else:
        u = qmc.LatinHypercube(d=len(sizes), seed=seed).random(n)
        idx = np.minimum((u * np.asarray(sizes)).astype(np.int64), np.asarray(sizes) - 1)
    return sorted({tuple(int(i) for i in row) for row in idx})


def presets(kind: str) -> Mapping[str, Any]:
    """The preset names an axis of value kind ``dataflow`` or ``energy`` accepts."""
    return dataflow_presets.PRESETS if kind == "dataflow" else energy_presets.PRESETS
