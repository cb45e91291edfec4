"""dse: design-space exploration — sweeps, the SQLite results store, Pareto analysis, plots, CLI.

``dse.load(path)`` reads a sweep's results store into a DataFrame (one row per design point). The
store module (and pandas) load on first use of ``dse.load``, so that ``rtmm --help`` (this package's
``cli`` module) starts without them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        return importlib.import_module("dse.store").load
    raise AttributeError(f"module 'dse' has no attribute '{name}'")
