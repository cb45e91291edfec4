"""The zoo's index: which model ids and aliases exist, and the full models' layer tables.

The lowest layer of the zoo (no supernets, no importers), so that :mod:`workloads.supernet`
can derive variants from base models and :mod:`workloads.zoo` can attach them without an
import cycle. Users call :mod:`workloads.zoo`, which re-exports these names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from rtmm.errors import SpecError
from rtmm.fileio import load_yaml
from rtmm.names import unknown_name
from workloads.model import Model
from workloads.modelfile import read_model_csv

DATA_DIR = Path(__file__).resolve().parent / "data" / "zoo"
#: Separator between a model id and a supernet variant name.
VARIANT_SEP = "@"
#: File suffixes :func:`load_file` understands.
MODEL_SUFFIXES = (".csv", ".m", ".onnx")


@dataclass(frozen=True)
class ZooEntry:
    """Metadata of one zoo model."""

    model_id: str
    task: str
    reference: str
    aliases: tuple[str, ...] = ()


@functools.cache
def _index() -> dict[str, ZooEntry]:
    path = DATA_DIR / "index.yaml"
    raw = load_yaml(path)
    if not isinstance(raw, dict):
        raise SpecError("expected a mapping of model ids", source=path)
    entries = {}
    for model_id, meta in raw.items():
        if not isinstance(meta, dict) or set(meta) - {"task", "reference", "aliases"}:
            raise SpecError(
                "entry must be a mapping",
                source=path,
                field=str(model_id),
                allowed="keys task, reference, aliases",
            )
        entries[str(model_id)] = ZooEntry(
            model_id=str(model_id),
            task=str(meta.get("task", "")),
            reference=str(meta.get("reference", "")),
            aliases=tuple(str(a) for a in meta.get("aliases", ()) or ()),
        )
    return entries


@functools.cache
def _aliases() -> dict[str, str]:
    return {alias: e.model_id for e in _index().values() for alias in e.aliases}


def names() -> list[str]:
    """The zoo's model ids (without aliases), sorted."""
    return sorted(_index())


def aliases() -> dict[str, str]:
    """Alias → model id (e.g. ``D2go_FastRCNN`` → ``OD_D2go_FasterRCNN``)."""
    return dict(_aliases())


def canonical(name: str) -> str:
    """The zoo id for a zoo id or alias; :class:`UnknownNameError` otherwise."""
    if name in _index():
        return name
    if name in _aliases():
        return _aliases()[name]
    raise unknown_name(
        "model",
        name,
        names() + sorted(_aliases()),
        source="<zoo>",
        extra="or a path to a .csv/.m/.onnx file",
    )


def info(name: str) -> ZooEntry:
    return _index()[canonical(name)]


@functools.cache
def base_model(model_id: str) -> Model:
    """The full zoo model (no variants attached); ``model_id`` must be a canonical id."""
    return read_model_csv(DATA_DIR / f"{model_id}.csv", name=model_id)
