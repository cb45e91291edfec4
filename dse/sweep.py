"""Design-space sweep specifications: reading, validation and expansion into design points.

A sweep spec is a YAML file::

    name: pe-split-vs-noc                  # optional, free text
    base_system: xrbench-4k-J              # library name or path (relative to this file), or a
                                           # list of them: the systems are then an axis too
    axes:                                  # hardware axes, in the order they vary (slowest first)
      accelerators[*].num_pes: {start: 1024, stop: 4096, step: 1024}   # stop is inclusive
      accelerators[0].noc_top.bw_words_per_cycle: [64, 128, 256]
      accelerators[*].dataflow: {values: [WS, OS, RS]}
      offchip_bw_words_per_cycle: [64, 128]
      pe_split: [0.25, 0.5, 0.75]
    scenarios: [vr_gaming, ar_gaming]      # a list, {values: [...]} or one name
    cascade_probabilities: [0.25, 0.5]     # optional: trigger probability of cascaded models
    policies: [latency_greedy]
    modes: xrbench                         # xrbench (XRBench-compatible) or native
    seeds: {start: 0, stop: 3, step: 1}
    horizon_ms: 700                        # default 700 (XRBench)
    analysis: maestro                      # optional: maestro | native (default: the cost model's)
    sample: {method: lhs, n: 100, seed: 0} # optional: lhs | random subset of the cross product
    executor: {name: local, workers: 2}    # optional defaults for `rtmm sweep`
    batch_size: 8                          # optional: design points per task
    evaluator: mypkg.mymodule:evaluate     # optional: a custom point evaluator (module:function)

Hardware axis fields (``i`` is an accelerator index or ``*`` for every accelerator):

- ``offchip_bw_words_per_cycle``: the shared off-chip bandwidth; also sets every accelerator's port.
- ``accelerators[i].FIELD`` with FIELD one of :data:`ACCELERATOR_FIELDS` (an accelerator whose PE
  count or dataflow changes gets the loader's default ``array_shape``; ``dataflow`` and ``energy``
  take preset names). Every modified system is validated by the hardware loader's rules.
- ``pe_split``: the fraction of the system's total PEs given to accelerator 0 of a two-accelerator
  system (the rest go to accelerator 1), applied after every other axis.

The design space is the cross product of the base systems, the hardware axes (spec order, slowest
first), then
``analysis``, ``scenarios``, ``cascade_probabilities``, ``modes``, ``policies``, ``horizon_ms`` and
``seeds``, so consecutive
points share hardware. ``sample`` replaces it by a seeded random or Latin-hypercube subset
(:mod:`scipy.stats.qmc`), ordered by hardware. Validation (:func:`parse_spec`) is separate from
expansion (:func:`expand`) and from building modified systems (:func:`apply_hardware`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rtmm.errors import SpecError
from rtmm.fileio import load_yaml
from rtmm.limits import INT64_MAX, MAX_HORIZON_MS, MAX_POINTS
from rtmm.names import did_you_mean

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
        return self.full_size if self.sample is None else len(_sample_indices(self))

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


# --------------------------------------------------------------------------------------------
# Reading and validation
# --------------------------------------------------------------------------------------------


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep spec file (:class:`SpecError` naming file and field)."""
    return parse_spec(load_yaml(path), source=str(path))


def parse_spec(data: Any, *, source: str = "<api>") -> SweepSpec:
    """Validate the parsed YAML of a sweep spec and build a :class:`SweepSpec`."""
    if not isinstance(data, Mapping):
        raise SpecError(
            "a sweep spec must be a mapping", source=source, allowed=", ".join(_TOP_KEYS)
        )
    for key in data:
        if key not in _TOP_KEYS:
            raise SpecError(
                f"unknown key '{key}'{did_you_mean(str(key), _TOP_KEYS)}",
                source=source,
                allowed=", ".join(_TOP_KEYS),
            )
    for key in ("base_system", "scenarios", "policies"):
        if key not in data:
            raise SpecError(f"missing required key '{key}'", source=source)
    bases = _axis("base_system", data["base_system"], "str", source)
    axes_data = data.get("axes") or {}
    if not isinstance(axes_data, Mapping):
        raise SpecError("must be a mapping of field path to values", source=source, field="axes")
    hardware = tuple(_hardware_axis(str(k), v, source) for k, v in axes_data.items())
    horizon = _axis("horizon_ms", data.get("horizon_ms", DEFAULT_HORIZON_MS), "pos_float", source)
    for value in horizon.values:
        if value > MAX_HORIZON_MS:
            raise SpecError(
                f"bad value {value!r}",
                source=source,
                field="horizon_ms",
                allowed=f"0 < horizon_ms <= {MAX_HORIZON_MS:g}",
            )
    spec = SweepSpec(
        source=source,
        base_systems=bases,
        base_system_refs=tuple(_resolve_system_ref(b, source) for b in bases.values),
        hardware_axes=hardware,
        scenarios=_axis("scenarios", data["scenarios"], "str", source),
        policies=_axis("policies", data["policies"], "str", source),
        modes=_choice_axis("modes", data.get("modes", "xrbench"), MODES, source),
        seeds=_axis("seeds", data.get("seeds", 0), "nonneg_int", source),
        horizon_ms=Axis("horizon_ms", tuple(float(v) for v in horizon.values)),
        analysis=_analysis_axis(data.get("analysis"), source),
        cascade_probabilities=_cascade_axis(data.get("cascade_probabilities"), source),
        name=_scalar(data.get("name", ""), "str", source, "name") if "name" in data else "",
        sample=_sample(data.get("sample"), source),
        executor=_executor(data.get("executor"), source),
        batch_size=_opt_pos_int(data.get("batch_size"), source, "batch_size"),
        evaluator=_evaluator_ref(data.get("evaluator"), source),
    )
    if (
        spec.sample is not None
        and spec.sample.method == "random"
        and spec.sample.n > spec.full_size
    ):
        raise SpecError(
            f"n = {spec.sample.n} exceeds the {spec.full_size} points of the full cross product",
            source=source,
            field="sample.n",
            allowed=f"1..{spec.full_size}",
        )
    if spec.full_size > INT64_MAX:
        raise SpecError(
            f"the axes' cross product has {spec.full_size} points",
            source=source,
            allowed="fewer than 2^63 points (use fewer or shorter axes)",
        )
    return spec


def _resolve_system_ref(base: str, source: str) -> str:
    """A base system that looks like a path is resolved relative to the spec file."""
    if base.endswith((".yaml", ".yml")) or "/" in base or os.sep in base:
        p = Path(base)
        if not p.is_absolute() and source not in ("<api>", "<string>"):
            p = Path(source).resolve().parent / p
        return str(p)
    return base


def _hardware_axis(name: str, raw: Any, source: str) -> Axis:
    if name in SYSTEM_FIELDS:
        return _axis(f"axes.{name}", raw, SYSTEM_FIELDS[name], source, axis_name=name)
    m = _ACCEL_RE.match(name)
    if m is None or m.group(2) not in ACCELERATOR_FIELDS:
        allowed = ", ".join(
            [*SYSTEM_FIELDS, *(f"accelerators[i|*].{f}" for f in ACCELERATOR_FIELDS)]
        )
        raise SpecError(
            f"unknown axis field '{name}'{did_you_mean(name, allowed.split(', '))}",
            source=source,
            field="axes",
            allowed=allowed,
        )
    return _axis(f"axes.{name}", raw, ACCELERATOR_FIELDS[m.group(2)], source, axis_name=name)


def _axis(where: str, raw: Any, kind: str, source: str, *, axis_name: str | None = None) -> Axis:
    """Parse an axis: a list, ``{values: [...]}``, ``{start, stop, step}`` or a single scalar."""
    if isinstance(raw, Mapping):
        keys = set(raw)
        if keys == {"values"}:
            values = raw["values"]
            if not isinstance(values, list):
                raise SpecError("'values' must be a list", source=source, field=where)
        elif keys == {"start", "stop", "step"}:
            values = _range(raw, kind, source, where)
        else:
            raise SpecError(
                f"unknown axis form with keys {sorted(map(str, keys))}",
                source=source,
                field=where,
                allowed="a list, {values: [...]} or {start, stop, step}",
            )
    elif isinstance(raw, list):
        values = raw
    else:
        values = [raw]
    if not values:
        raise SpecError("empty axis", source=source, field=where, allowed="at least one value")
    parsed = tuple(_scalar(v, kind, source, where) for v in values)
    if len(set(map(_canon, parsed))) != len(parsed):
        raise SpecError("repeated value in axis", source=source, field=where, allowed="each once")
    return Axis(axis_name or where, parsed)


def _canon(v: Any) -> str:
    return json.dumps(v)


def _range(raw: Mapping, kind: str, source: str, where: str) -> list[Any]:
    nums = {}
    for key in ("start", "stop", "step"):
        v = raw[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise SpecError(f"range '{key}' must be a finite number", source=source, field=where)
        nums[key] = v
    start, stop, step = nums["start"], nums["stop"], nums["step"]
    if step <= 0:
        raise SpecError(f"bad range: step {step} must be > 0", source=source, field=where)
    if stop < start:
        raise SpecError(
            f"bad range: stop {stop} < start {start}",
            source=source,
            field=where,
            allowed="start <= stop (stop is inclusive)",
        )
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > 1_000_000:
        raise SpecError(f"bad range: {count} values", source=source, field=where, allowed="<= 1e6")
    if all(isinstance(nums[k], int) for k in nums):
        return [start + i * step for i in range(count)]
    if kind in ("pos_int", "nonneg_int", "int"):
        raise SpecError(
            "bad range: integer field needs integer start/stop/step", source=source, field=where
        )
    return [float(f"{start + i * step:.12g}") for i in range(count)]


def _scalar(v: Any, kind: str, source: str, where: str) -> Any:
    """Check one value against ``kind``; return it normalised (ints for int kinds, floats...)."""
    ok = True
    if kind in ("pos_int", "nonneg_int", "int"):
        ok = isinstance(v, int) and not isinstance(v, bool)
        ok = ok and (kind == "int" or v >= (1 if kind == "pos_int" else 0))
    elif kind in ("pos_float", "fraction", "probability"):
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if kind == "pos_float":
            ok = ok and v > 0
        else:
            ok = ok and (0 < v < 1 if kind == "fraction" else 0 <= v <= 1)
        v = float(v) if ok else v
    elif kind == "bool":
        ok = isinstance(v, bool)
    elif kind in ("str", "dataflow", "energy"):
        ok = isinstance(v, str) and v.strip() != ""
        if ok and kind in ("dataflow", "energy"):
            presets = _presets(kind)
            if v not in presets:
                raise SpecError(
                    f"unknown {kind} '{v}'{did_you_mean(v, presets)}",
                    source=source,
                    field=where,
                    allowed=", ".join(sorted(presets)),
                )
    if not ok:
        raise SpecError(f"bad value {v!r}", source=source, field=where, allowed=_KIND_ALLOWED[kind])
    if isinstance(v, int) and abs(v) > INT64_MAX:
        raise SpecError(f"bad value {v}", source=source, field=where, allowed="integers < 2^63")
    return v


def _presets(kind: str) -> Mapping[str, Any]:
    if kind == "dataflow":
        from hardware_db.dataflow import PRESETS
    else:
        from hardware_db.energy import PRESETS
    return PRESETS


def _choice_axis(where: str, raw: Any, choices: Sequence[str], source: str) -> Axis:
    axis = _axis(where, raw, "str", source)
    for v in axis.values:
        if v not in choices:
            raise SpecError(
                f"unknown value '{v}'{did_you_mean(str(v), choices)}",
                source=source,
                field=where,
                allowed=", ".join(choices),
            )
    return axis


def _analysis_axis(raw: Any, source: str) -> Axis:
    if raw is None:
        return Axis("analysis", (None,))
    return _choice_axis("analysis", raw, ANALYSES, source)


def _cascade_axis(raw: Any, source: str) -> Axis:
    if raw is None:
        return Axis("cascade_probability", (None,))
    axis = _axis("cascade_probabilities", raw, "probability", source)
    return Axis("cascade_probability", axis.values)


def _sample(raw: Any, source: str) -> SampleSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise SpecError("must be a mapping {method, n, seed}", source=source, field="sample")
    for key in raw:
        if key not in ("method", "n", "seed"):
            raise SpecError(
                f"unknown key '{key}'", source=source, field="sample", allowed="method, n, seed"
            )
    method = raw.get("method")
    if method not in SAMPLE_METHODS:
        raise SpecError(
            f"unknown sample method {method!r}",
            source=source,
            field="sample.method",
            allowed=", ".join(SAMPLE_METHODS),
        )
    if "n" not in raw:
        raise SpecError("missing 'n'", source=source, field="sample.n", allowed="an integer >= 1")
    n = _scalar(raw["n"], "pos_int", source, "sample.n")
    if n > MAX_POINTS:
        raise SpecError(
            f"n = {n}", source=source, field="sample.n", allowed=f"1..{MAX_POINTS} points"
        )
    seed = _scalar(raw.get("seed", 0), "nonneg_int", source, "sample.seed")
    return SampleSpec(method=method, n=n, seed=seed)


def _executor(raw: Any, source: str) -> ExecutorSpec:
    if raw is None:
        return ExecutorSpec()
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, Mapping):
        raise SpecError(
            "must be a name or a mapping {name, workers, address}", source=source, field="executor"
        )
    for key in raw:
        if key not in ("name", "workers", "address"):
            raise SpecError(
                f"unknown key '{key}'",
                source=source,
                field="executor",
                allowed="name, workers, address",
            )
    name = raw.get("name", "local")
    if name not in EXECUTORS:
        raise SpecError(
            f"unknown executor {name!r}",
            source=source,
            field="executor.name",
            allowed=", ".join(EXECUTORS),
        )
    workers = _opt_pos_int(raw.get("workers"), source, "executor.workers")
    address = raw.get("address")
    if address is not None and not (isinstance(address, str) and "://" in address):
        raise SpecError(
            f"bad address {address!r}",
            source=source,
            field="executor.address",
            allowed="a scheduler address like tcp://HOST:PORT",
        )
    return ExecutorSpec(name=name, workers=workers, address=address)


def _opt_pos_int(raw: Any, source: str, where: str) -> int | None:
    return None if raw is None else _scalar(raw, "pos_int", source, where)


def _evaluator_ref(raw: Any, source: str) -> str | None:
    if raw is None:
        return None
    if not (isinstance(raw, str) and re.fullmatch(r"[\w.]+:\w+", raw)):
        raise SpecError(
            f"bad evaluator {raw!r}",
            source=source,
            field="evaluator",
            allowed="module.path:function",
        )
    return raw


# --------------------------------------------------------------------------------------------
# Expansion
# --------------------------------------------------------------------------------------------


def expand(spec: SweepSpec) -> Iterator[DesignPoint]:
    """Yield the spec's design points in order (lazily for the full cross product)."""
    axes = spec.point_axes
    if spec.sample is None:
        combos: Iterator[tuple[Any, ...]] = itertools.product(*(a.values for a in axes))
    else:
        combos = (
            tuple(a.values[i] for a, i in zip(axes, idx, strict=True))
            for idx in _sample_indices(spec)
        )
    nh = len(spec.hardware_axes)
    refs = dict(zip(spec.base_systems.values, spec.base_system_refs, strict=True))
    for index, combo in enumerate(combos):
        base, hardware = combo[0], combo[1 : 1 + nh]
        analysis, scenario, cascade, mode, policy, horizon, seed = combo[1 + nh :]
        yield DesignPoint(
            index=index,
            base_system=base,
            base_system_ref=refs[base],
            hardware=tuple((a.name, v) for a, v in zip(spec.hardware_axes, hardware, strict=True)),
            analysis=analysis,
            scenario=scenario,
            mode=mode,
            policy=policy,
            horizon_ms=horizon,
            seed=seed,
            cascade_probability=cascade,
        )


def _sample_indices(spec: SweepSpec) -> list[tuple[int, ...]]:
    """Per-axis value indices of the sampled points, distinct and sorted (hardware grouped)."""
    sizes = [len(a.values) for a in spec.point_axes]
    assert spec.sample is not None
    n, seed = spec.sample.n, spec.sample.seed
    if spec.sample.method == "random":
        flat = np.random.default_rng(seed).choice(spec.full_size, size=n, replace=False)
        idx = np.stack(np.unravel_index(np.sort(flat), sizes), axis=1)
    else:
        from scipy.stats import qmc

        u = qmc.LatinHypercube(d=len(sizes), seed=seed).random(n)
        idx = np.minimum((u * np.asarray(sizes)).astype(np.int64), np.asarray(sizes) - 1)
    return sorted({tuple(int(i) for i in row) for row in idx})


# --------------------------------------------------------------------------------------------
# Building modified systems
# --------------------------------------------------------------------------------------------


def apply_hardware(base: Any, hardware: Sequence[tuple[str, Any]], *, source: str = "<sweep>"):
    """Return a new frozen System: ``base`` with the hardware axis values applied, then validated.

    Axes apply in order, ``pe_split`` last; an accelerator whose PE count or dataflow changed gets
    the loader's default ``array_shape`` for it. The result goes through the hardware loader's
    validator (:func:`validate_system_values`), so it obeys exactly the rules of a system file.
    Raises :class:`SpecError` naming the axis when an axis does not fit the system (accelerator
    index out of range, ``pe_split`` on a system without exactly two accelerators, a split leaving
    an accelerator without PEs) or the validator's error for a value it rejects.
    """
    system = base
    split = None
    for name, value in hardware:
        if name == "pe_split":
            split = value
        elif name == "offchip_bw_words_per_cycle":
            accels = tuple(
                replace(a, offchip_bw_words_per_cycle=value) for a in system.accelerators
            )
            system = replace(system, accelerators=accels, offchip_bw_words_per_cycle=value)
        else:
            system = _apply_accelerator_axis(system, name, value, source)
    if split is not None:
        system = _apply_pe_split(system, split, source)
    system = _refresh_array_shapes(base, system)
    return validate_system_values(system, source=source)


def _apply_accelerator_axis(system: Any, name: str, value: Any, source: str) -> Any:
    m = _ACCEL_RE.match(name)
    assert m is not None, name
    which, fld = m.group(1), m.group(2)
    n = len(system.accelerators)
    if which == "*":
        targets: Sequence[int] = range(n)
    else:
        if int(which) >= n:
            raise SpecError(
                f"accelerator index {which} out of range for system '{system.name}' with {n} "
                "accelerators",
                source=source,
                field=f"axes.{name}",
                allowed=f"0..{n - 1} or *",
            )
        targets = [int(which)]
    accels = list(system.accelerators)
    for i in targets:
        accels[i] = _set_accelerator_field(accels[i], fld, value)
    return replace(system, accelerators=tuple(accels))


def _set_accelerator_field(acc: Any, fld: str, value: Any) -> Any:
    if fld == "dataflow":
        return replace(acc, dataflow=_presets("dataflow")[value])
    if fld == "energy":
        return replace(acc, energy=_presets("energy")[value])
    if "." in fld:
        level, attr = fld.split(".", 1)
        return replace(acc, **{level: replace(getattr(acc, level), **{attr: value})})
    return replace(acc, **{fld: value})


def _apply_pe_split(system: Any, fraction: float, source: str) -> Any:
    n = len(system.accelerators)
    if n != 2:
        raise SpecError(
            f"pe_split needs a two-accelerator system, '{system.name}' has {n}",
            source=source,
            field="axes.pe_split",
        )
    total = system.num_pes
    first = int(round(total * fraction))
    if first < 1 or total - first < 1:
        raise SpecError(
            f"pe_split {fraction} of {total} PEs leaves an accelerator without PEs",
            source=source,
            field="axes.pe_split",
        )
    a, b = system.accelerators
    return replace(
        system, accelerators=(replace(a, num_pes=first), replace(b, num_pes=total - first))
    )


def _refresh_array_shapes(base: Any, system: Any) -> Any:
    from hardware_db.schema import default_array_shape

    accels = []
    for old, new in zip(base.accelerators, system.accelerators, strict=True):
        if (new.num_pes, new.dataflow) != (old.num_pes, old.dataflow):
            new = replace(
                new, array_shape=default_array_shape(new.num_pes, new.dataflow.directives)
            )
        accels.append(new)
    return replace(system, accelerators=tuple(accels))


def validate_system_values(system: Any, *, source: str = "<sweep>") -> Any:
    """Check a modified system with the hardware loader's rules; return the validated System.

    The system is written out as a hardware document and read back through
    :func:`hardware_db.loader.system_from_doc` (validator + factory), so every rule of a system
    file (positivity, cluster sizes <= PEs, array shape = PEs, ...) applies to swept values too.
    """
    from hardware_db.loader import system_from_doc, system_to_dict

    return system_from_doc(system_to_dict(system), source)
