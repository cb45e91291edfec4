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
from typing import Any

import numpy as np
from scipy.stats import qmc

from hardware_db import dataflow as dataflow_presets
from hardware_db import energy as energy_presets

#: Accelerator fields a hardware axis may set, with their value kind.
ACCELERATOR_FIELDS: dict[str, str] = {
    "num_pes": "pos_int",
    "dataflow": "dataflow",
    "energy": "energy",
    "clock_hz": "pos_float",
    "l1_bytes_per_pe": "pos_int",
    "l2_bytes": "pos_int",
    "offchip_bw_words_per_cycle": "pos_int",
    "word_bytes": "pos_int",
    "noc_top.bw_words_per_cycle": "pos_int",
    "noc_top.latency_cycles": "nonneg_int",
    "noc_top.multicast": "bool",
    "noc_col.bw_words_per_cycle": "pos_int",
    "noc_col.latency_cycles": "nonneg_int",
    "noc_col.multicast": "bool",
}
#: System-level axis fields.
SYSTEM_FIELDS: dict[str, str] = {"offchip_bw_words_per_cycle": "pos_int", "pe_split": "fraction"}

MODES = ("xrbench", "native")
ANALYSES = ("maestro", "native")
SAMPLE_METHODS = ("lhs", "random")
EXECUTORS = ("local", "dask", "serial")
DEFAULT_HORIZON_MS = 700.0

_TOP_KEYS = (
    "name",
    "base_system",
    "axes",
    "scenarios",
    "policies",
    "modes",
    "seeds",
    "cascade_probabilities",
    "horizon_ms",
    "analysis",
    "sample",
    "executor",
    "batch_size",
    "evaluator",
)
_ACCEL_RE = re.compile(r"^accelerators\[(\*|\d+)\]\.(.+)$")
_KIND_ALLOWED = {
    "pos_int": "integers >= 1",
    "nonneg_int": "integers >= 0",
    "pos_float": "numbers > 0",
    "bool": "true or false",
    "fraction": "numbers strictly between 0 and 1",
    "probability": "numbers from 0 to 1",
    "dataflow": "dataflow preset names",
    "energy": "energy preset names",
    "str": "names (strings)",
    "int": "integers",
}


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
