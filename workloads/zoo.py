"""The XRBench model zoo, shipped in the package (``workloads/data/zoo/<id>.csv``).

``load(name_or_path)`` accepts a zoo id (``"ES_RITNet"``), an alias (``"D2go_FastRCNN"``), a
supernet variant (``"GE_FBNet_C@w0.5"``, see :mod:`workloads.supernet`) or a path to a model file in
any supported format: the project's CSV (``.csv``), a MAESTRO model file (``.m``) or ONNX
(``.onnx``). Results are cached; the returned models are shared, treat them as read-only.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from rtmm.errors import SpecError, UnknownNameError
from workloads import supernet
from workloads.importers.maestro import read_maestro_model
from workloads.importers.onnx_import import read_onnx
from workloads.model import Model
from workloads.modelfile import read_model_csv
from workloads.zoo_index import (
    DATA_DIR,
    MODEL_SUFFIXES,
    VARIANT_SEP,
    ZooEntry,
    _aliases,
    _index,
    aliases,
    base_model,
    canonical,
    info,
    names,
)

__all__ = [
    "DATA_DIR",
    "MODEL_SUFFIXES",
    "VARIANT_SEP",
    "ZooEntry",
    "aliases",
    "base_model",
    "canonical",
    "info",
    "is_known",
    "load",
    "load_file",
    "names",
]


def is_known(name: str) -> bool:
    """Whether ``name`` is a zoo id, an alias or a zoo id with a valid variant suffix."""
    try:
        load(name) if VARIANT_SEP in name else canonical(name)
    except (UnknownNameError, SpecError):
        return False
    return True


@functools.cache
def _load_name(name: str) -> Model:
    if VARIANT_SEP in name:
        base, _, variant = name.partition(VARIANT_SEP)
        return supernet.variant(base, variant).model
    model_id = canonical(name)
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
        return read_maestro_model(p)
    if suffix == ".onnx":
        return read_onnx(p)
    raise SpecError(
        f"unknown model file type '{suffix or p.name}'",
        source=p,
        allowed=", ".join(MODEL_SUFFIXES),
    )
