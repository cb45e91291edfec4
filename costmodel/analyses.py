"""The registry of cost analyses and of the mapping searcher.

An analysis is a function ``(LayerBatch, Accelerator, options) -> dict[str, np.ndarray]``
returning per-layer arrays with the keys of :func:`costmodel.maestro.analyse`; it is looked up by
name (:func:`get_analysis`). ``maestro`` is built in; ``native`` lives in ``costmodel/native.py``,
is imported on first use and registers itself with :func:`register_analysis`. An accelerator with
``dataflow: search[:objective]`` (:func:`hardware_db.dataflow.search_dataflow`) has each layer's
mapping searched by :mod:`costmodel.mapper` (imported on first use; it registers itself with
:func:`register_mapper`): :func:`searched` wraps an analysis so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from costmodel.batch import LayerBatch
from costmodel.maestro import analyse_layers
from hardware_db.accelerator import Accelerator
from rtmm.errors import CostModelError
from rtmm.names import unknown_name

AnalysisFn = Callable[[LayerBatch, Accelerator, Any], dict[str, np.ndarray]]

#: Registered analyses by name.
ANALYSES: dict[str, AnalysisFn] = {"maestro": analyse_layers}
#: Analyses provided by a module of their own, imported on first use.
LAZY_ANALYSES: dict[str, str] = {"native": "costmodel.native"}


def register_analysis(name: str, function: AnalysisFn) -> None:
    """Make ``function`` available as ``analysis=name``."""
    ANALYSES[name] = function


#: Searches mappings for ``dataflow: search`` accelerators: ``(batch, accelerator, analysis,
#: options) -> results``; provided by :data:`LAZY_MAPPER`, imported on first use.
MapperFn = Callable[[LayerBatch, Accelerator, AnalysisFn, Any], dict[str, np.ndarray]]
LAZY_MAPPER = "costmodel.mapper"
_MAPPER: list[MapperFn] = []


def register_mapper(function: MapperFn) -> None:
    """Make ``function`` the mapper of ``dataflow: search`` accelerators."""
    _MAPPER[:] = [function]


def searched(function: AnalysisFn) -> AnalysisFn:
    """``function`` run on each layer's searched mapping."""
    if not _MAPPER:
        importlib.import_module(LAZY_MAPPER)
    mapper = _MAPPER[0]
    return lambda batch, accelerator, options: mapper(batch, accelerator, function, options)


def analysis_names() -> list[str]:
    return sorted(set(ANALYSES) | set(LAZY_ANALYSES))


def get_analysis(name: str) -> AnalysisFn:
    """The analysis function registered as ``name`` (importing its module on first use)."""
    if name in ANALYSES:
        return ANALYSES[name]
    if name in LAZY_ANALYSES:
        module = LAZY_ANALYSES[name]
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise CostModelError(
                f"analysis '{name}' is not available in this installation ({module} is missing)",
                source="<costmodel>",
                allowed=", ".join(sorted(ANALYSES)),
            ) from None
        if name in ANALYSES:
            return ANALYSES[name]
        raise CostModelError(
            f"module {module} did not register analysis '{name}'", source="<costmodel>"
        )
    raise unknown_name("analysis", name, analysis_names(), source="<costmodel>")
