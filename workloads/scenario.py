"""Usage scenarios: which models run, at what frame rate, and which are cascaded on which.

A scenario is a tuple of :class:`ScenarioModel` (model id, FPS, cascade parent, trigger
probability). ``A <- B (p)`` means: A's frame f runs only after B's frame f completes, and only
with probability p. Built-in scenarios live in ``workloads/data/scenarios/<name>.yaml``::

    name: social_interaction_a
    description: ...
    models:
      - {model: ES_RITNet, fps: 60}
      - {model: GE_FBNet_C, fps: 60, parent: ES_RITNet, probability: 1.0}

``model`` is a zoo id/alias/variant; ``file: path/to/model.csv`` (relative to the YAML file) may
be given instead or beside it to use a model file. ``load()`` also reads XRBench's
multi-network scenario files (``.m``, :func:`parse_xrbench_scenario`).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd

from rtmm.errors import SpecError
from rtmm.fileio import load_yaml, load_yaml_text, read_text
from rtmm.names import unknown_name
from workloads import zoo
from workloads.importers.maestro import parse_networks
from workloads.model import Model

if TYPE_CHECKING:
    from workloads.scenario_spec import ScenarioEntrySpec

DATA_DIR = Path(__file__).resolve().parent / "data" / "scenarios"
SCENARIO_SUFFIXES = (".yaml", ".yml", ".m")


@dataclass(frozen=True)
class ScenarioModel:
    """One model of a scenario. ``model`` carries an inline model (from a file) if any."""

    model_id: str
    fps: float
    parent: str | None = None
    probability: float = 1.0
    model: Model | None = field(default=None, compare=False, repr=False, hash=False)

    @property
    def period_ms(self) -> float:
        """True frame period 1000 / FPS (native mode)."""
        return 1000.0 / self.fps

    @property
    def xrbench_period_ms(self) -> int:
        """XRBench's integer period floor(1000 / FPS)."""
        return math.floor(1000.0 / self.fps)

    def get_model(self) -> Model:
        return self.model if self.model is not None else zoo.load(self.model_id)


@dataclass(frozen=True)
class Scenario:
    """A usage scenario (see module docstring)."""

    name: str
    models: tuple[ScenarioModel, ...]
    description: str = ""
    source: str | None = field(default=None, compare=False)

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.model_id for m in self.models)

    def __getitem__(self, model_id: str) -> ScenarioModel:
        for m in self.models:
            if m.model_id == model_id:
                return m
        raise unknown_name(f"model of scenario '{self.name}'", model_id, self.model_ids)

    def __len__(self) -> int:
        return len(self.models)

    def children(self, model_id: str) -> tuple[str, ...]:
        """Models cascaded directly on ``model_id``."""
        return tuple(m.model_id for m in self.models if m.parent == model_id)

    @property
    def max_fps(self) -> float:
        return max(m.fps for m in self.models)

    def get_models(self) -> dict[str, Model]:
        """Model id → :class:`Model` (inline models, else the zoo), in scenario order."""
        return {m.model_id: m.get_model() for m in self.models}

    def with_probability(
        self, model_id: str, probability: float, name: str | None = None
    ) -> Scenario:
        """A copy with one cascaded model's trigger probability changed (validated)."""
        models = tuple(
            ScenarioModel(m.model_id, m.fps, m.parent, probability, m.model)
            if m.model_id == model_id
            else m
            for m in self.models
        )
        self[model_id]  # noqa: B018 (raises for an unknown id)
        new = Scenario(name or self.name, models, self.description, self.source)
        return validate_scenario(new)

    def to_frame(self) -> pd.DataFrame:
        """One row per model: id, FPS, periods, parent, probability, layers and GMACs."""
        rows = []
        for m in self.models:
            model = m.get_model()
            rows.append(
                {
                    "model": m.model_id,
                    "fps": m.fps,
                    "period_ms": m.period_ms,
                    "xrbench_period_ms": m.xrbench_period_ms,
                    "parent": m.parent or "",
                    "probability": m.probability,
                    "layers": len(model),
                    "gmacs": model.total_macs / 1e9,
                }
            )
        return pd.DataFrame(rows)


def check_field(name: str, value: object, *, source: str, prefix: str) -> None:
    """Check one value against the bounds of scenario entry field ``name`` (one-line error)."""
    from workloads.scenario_spec import check_entry_field  # lazy: pydantic only when checking

    check_entry_field(name, value, source=source, prefix=prefix)


def validate_scenario(scenario: Scenario) -> Scenario:
    """Check a scenario; return it or raise :class:`SpecError`/:class:`UnknownNameError`.

    Rules: at least one model; no duplicate model ids; every model known (inline, or in the zoo);
    FPS and probability within the bounds of
    :class:`~workloads.scenario_spec.ScenarioEntrySpec`; probability below 1 only
    for cascaded models; every parent is a model of the scenario, not the model itself; no cascade
    cycle. (A YAML file is checked by :class:`~workloads.scenario_spec.ScenarioFileSpec` first; an
    XRBench ``.m`` file or a scenario built in code only here.)
    """
    src = scenario.source or f"scenario '{scenario.name}'"
    if not scenario.models:
        raise SpecError("no models", source=src, allowed="at least one model")
    seen: set[str] = set()
    for i, m in enumerate(scenario.models):
        where = f"models[{i}] ({m.model_id})"
        if not isinstance(m.model_id, str) or not m.model_id:
            raise SpecError("model id must be a non-empty string", source=src, field=where)
        if m.model_id in seen:
            raise SpecError(
                f"duplicate model '{m.model_id}'",
                source=src,
                field=where,
                allowed="each model once per scenario",
            )
        seen.add(m.model_id)
        if m.model is None and not zoo.is_known(m.model_id):
            raise unknown_name(
                "model",
                m.model_id,
                zoo.names(),
                source=src,
                field=where,
                extra="(zoo models) or 'file: PATH'",
            )
        for key in ("fps", "probability"):
            check_field(key, getattr(m, key), source=src, prefix=f"{where}.{key}")
        if m.parent is None and m.probability != 1.0:
            raise SpecError(
                f"probability = {m.probability} without a parent",
                source=src,
                field=where,
                allowed="probability < 1 only for cascaded models (set 'parent')",
            )
    graph = nx.DiGraph()
    graph.add_nodes_from(scenario.model_ids)
    for i, m in enumerate(scenario.models):
        if m.parent is None:
            continue
        where = f"models[{i}] ({m.model_id})"
        if m.parent == m.model_id:
            raise SpecError("model is its own parent", source=src, field=where)
        if m.parent not in seen:
            raise SpecError(
                f"parent '{m.parent}' is not a model of the scenario",
                source=src,
                field=where,
                allowed=", ".join(scenario.model_ids),
            )
        graph.add_edge(m.parent, m.model_id)
    if not nx.is_directed_acyclic_graph(graph):
        cycle = [u for u, _ in nx.find_cycle(graph)]
        raise SpecError(
            "cascade cycle " + " <- ".join(cycle + [cycle[0]]),
            source=src,
            allowed="cascades that form a forest",
        )
    return scenario


def parse_scenario_data(
    data: object, *, name: str, source: str, base_dir: Path | None = None
) -> Scenario:
    """Build and validate a scenario from parsed YAML data (the file's spec model, then the
    rules of :func:`validate_scenario`)."""
    from workloads.scenario_spec import validate_file  # lazy: pydantic only when reading files

    doc = validate_file(data, source=source)
    models = tuple(_scenario_model(entry, base_dir) for entry in doc.models)
    return validate_scenario(Scenario(doc.name or name, models, doc.description, source))


def _scenario_model(entry: ScenarioEntrySpec, base_dir: Path | None) -> ScenarioModel:
    """A :class:`ScenarioModel` from a checked entry (its model file loaded, if any)."""
    inline = None
    if entry.file is not None:
        path = Path(entry.file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        inline = zoo.load_file(path)
    model_id = entry.model or (inline.name if inline is not None else "")
    return ScenarioModel(
        model_id=model_id,
        fps=entry.fps,
        parent=entry.parent,
        probability=entry.probability,
        model=inline,
    )


def parse_scenario_yaml(text: str, *, name: str, source: str = "<string>") -> Scenario:
    return parse_scenario_data(load_yaml_text(text, source), name=name, source=source)


def names() -> list[str]:
    """Built-in scenario names, sorted."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


@functools.cache
def _load_builtin(name: str) -> Scenario:
    path = DATA_DIR / f"{name}.yaml"
    return parse_scenario_data(load_yaml(path), name=name, source=str(path), base_dir=DATA_DIR)


def load(name_or_path: str | os.PathLike) -> Scenario:
    """A built-in scenario by name, or a scenario file (.yaml, or XRBench .m) by path."""
    text = os.fspath(name_or_path)
    if text in names():
        return _load_builtin(text)
    path = Path(text)
    if path.suffix.lower() not in SCENARIO_SUFFIXES and not path.exists():
        raise unknown_name(
            "scenario",
            text,
            names(),
            source="<scenarios>",
            extra="or a path to a .yaml/.m scenario file",
        )
    return load_file(path)


def parse_xrbench_scenario(text: str, *, name: str, source: str = "<string>") -> Scenario:
    """An XRBench usage-scenario file: several ``Network`` blocks with FPS, Probability and
    Dependency (the cascade parent). Each entry carries its network's layers as its model."""
    models = []
    for net in parse_networks(text, source):
        where = f"line {net.line}, network '{net.model.name}'"
        if net.fps is None:
            raise SpecError("missing 'FPS: ...'", source=source, field=where)
        if len(net.dependencies) > 1:
            raise SpecError(
                f"{len(net.dependencies)} dependencies",
                source=source,
                field=where,
                allowed="at most one cascade parent",
            )
        models.append(
            ScenarioModel(
                model_id=net.model.name,
                fps=net.fps,
                parent=net.dependencies[0] if net.dependencies else None,
                probability=1.0 if net.probability is None else net.probability,
                model=net.model,
            )
        )
    return validate_scenario(Scenario(name=name, models=tuple(models), source=source))


def read_xrbench_scenario(path: str | os.PathLike, name: str | None = None) -> Scenario:
    """An XRBench ``.m`` scenario file (:func:`parse_xrbench_scenario`)."""
    p = Path(path)
    return parse_xrbench_scenario(read_text(p), name=name or p.stem, source=str(p))


def load_file(path: str | os.PathLike) -> Scenario:
    p = Path(path)
    if p.suffix.lower() == ".m":
        return read_xrbench_scenario(p)
    if p.suffix.lower() in (".yaml", ".yml"):
        return parse_scenario_data(
            load_yaml_text(read_text(p), p), name=p.stem, source=str(p), base_dir=p.parent
        )
    raise SpecError(
        f"unknown scenario file type '{p.suffix or p.name}'",
        source=p,
        allowed=", ".join(SCENARIO_SUFFIXES),
    )
