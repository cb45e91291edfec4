"""The XRBench model zoo, shipped in the package (``workloads/data/zoo/<id>.csv``).

``load(name_or_path)`` accepts a zoo id (``"ES_RITNet"``), an alias (``"D2go_FastRCNN"``), a
supernet variant (``"GE_FBNet_C@w0.5"``, see :mod:`workloads.supernet`) or a path to a model file in
any supported format: the project's CSV (``.csv``), a MAESTRO model file (``.m``) or ONNX
(``.onnx``). Results are cached; the returned models are shared, treat them as read-only.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from rtmm.errors import SpecError, UnknownNameError
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


def is_known(name: str) -> bool:
    """Whether ``name`` is a zoo id, an alias or a zoo id with a valid variant suffix."""
    try:
        load(name) if VARIANT_SEP in name else canonical(name)
    except (UnknownNameError, SpecError):
        return False
    return True


def info(name: str) -> ZooEntry:
    return _index()[canonical(name)]


@functools.cache
def base_model(model_id: str) -> Model:
    """The full zoo model (no variants attached); ``model_id`` must be a canonical id."""
    return read_model_csv(DATA_DIR / f"{model_id}.csv", name=model_id)


@functools.cache
def _load_name(name: str) -> Model:
    if VARIANT_SEP in name:
        base, _, variant = name.partition(VARIANT_SEP)
        from workloads import supernet

        return supernet.variant(base, variant).model
    model_id = canonical(name)
    from workloads import supernet

    model = base_model(model_id)
    variants = supernet.variants(model_id) if supernet.has_variants(model_id) else ()
    return model.with_(name=name, variants=variants)


def load(name_or_path: str | os.PathLike) -> Model:
    """A zoo model by id/alias/variant name, or a model file (.csv, .m, .onnx) by path."""
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, str) and _looks_like_name(text):
        return _load_name(text)
    return load_file(text)


def _looks_like_name(text: str) -> bool:
    if text in _index() or text in _aliases():
        return True
    if Path(text).suffix.lower() in MODEL_SUFFIXES or os.sep in text or "/" in text:
        return False
    return not Path(text).exists()


def load_file(path: str | os.PathLike) -> Model:
    """Read a model file; the format is chosen by suffix. Cached by (path, mtime, size)."""
    p = Path(path)
    try:
        stat = p.stat()
    except FileNotFoundError:
        raise SpecError(
            "file not found", source=p, allowed="a zoo model name or a model file"
        ) from None
    except OSError as exc:
        raise SpecError(f"cannot read file ({exc.strerror})", source=p) from None
    return _load_file_cached(str(p.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _load_file_cached(path: str, _mtime_ns: int, _size: int) -> Model:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return read_model_csv(p)
    if suffix == ".m":
        from workloads.importers.maestro import read_maestro_model

        return read_maestro_model(p)
    if suffix == ".onnx":
        from workloads.importers.onnx_import import read_onnx

        return read_onnx(p)
    raise SpecError(
        f"unknown model file type '{suffix or p.name}'",
        source=p,
        allowed=", ".join(MODEL_SUFFIXES),
    )
