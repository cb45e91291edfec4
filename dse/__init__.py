"""dse: design-space exploration — sweeps, the SQLite results store, Pareto analysis, plots, CLI.

``dse.load(path)`` reads a sweep's results store into a DataFrame (one row per design point).
"""

from dse.store import load

__all__ = ["load"]
