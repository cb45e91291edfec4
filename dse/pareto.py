"""Pareto analysis: the non-dominated design points for two or more metrics with directions.

A point *a* dominates *b* when *a* is at least as good in every objective and strictly better in
one. Points with a missing (NaN) objective value are never on the front. Exact duplicates of a
non-dominated point are all kept (none dominates the other).

Vectorised with numpy: objectives are turned into costs (``max`` objectives negated), and the front
is peeled by repeatedly taking the best remaining point in lexicographic order and discarding
everything it dominates in one array operation — O(n * |front|) comparisons instead of O(n^2).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from rtmm.errors import SpecError

DIRECTIONS = ("min", "max")


def pareto_mask(values: np.ndarray, maximize: np.ndarray | list[bool]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n points x m objectives)."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise SpecError(f"values must be 2-D (points x objectives), got {values.ndim}-D")
    sign = np.where(np.asarray(maximize, dtype=bool), -1.0, 1.0)
    if sign.shape != (values.shape[1],):
        raise SpecError(f"{values.shape[1]} objectives but {sign.size} directions")
    costs = values * sign
    valid = ~np.isnan(costs).any(axis=1)
    idx = np.flatnonzero(valid)
    costs = costs[valid]
    order = np.lexsort(costs.T[::-1])  # lexicographic: a lexicographic minimum is never dominated
    idx, costs = idx[order], costs[order]
    front: list[np.ndarray] = []
    while len(costs):
        best = costs[0]
        same = (costs == best).all(axis=1)
        front.append(idx[same])
        dominated = (costs >= best).all(axis=1)  # includes the duplicates of best
        keep = ~dominated
        idx, costs = idx[keep], costs[keep]
    mask = np.zeros(len(values), dtype=bool)
    if front:
        mask[np.concatenate(front)] = True
    return mask


def pareto_front(
    frame: pd.DataFrame, objectives: Mapping[str, str], *, sort: bool = True
) -> pd.DataFrame:
    """The non-dominated rows of ``frame`` for ``objectives`` (column -> ``"min"`` or ``"max"``).

    E.g. ``pareto_front(df, {"energy_mj": "min", "score": "max"})``. Sorted by the first objective
    (best first) unless ``sort`` is false.
    """
    cols, maximize = _objectives(frame, objectives)
    mask = pareto_mask(frame[cols].to_numpy(dtype=float), maximize)
    front = frame.loc[mask]
    if sort:
        front = front.sort_values(cols[0], ascending=not maximize[0], kind="stable")
    return front


def mark_pareto(
    frame: pd.DataFrame, objectives: Mapping[str, str], column: str = "pareto"
) -> pd.DataFrame:
    """A copy of ``frame`` with a boolean column telling which rows are on the front."""
    cols, maximize = _objectives(frame, objectives)
    out = frame.copy()
    out[column] = pareto_mask(frame[cols].to_numpy(dtype=float), maximize)
    return out


def _objectives(frame: pd.DataFrame, objectives: Mapping[str, str]) -> tuple[list[str], list[bool]]:
    if len(objectives) < 2:
        raise SpecError("a Pareto front needs at least two objectives", field="objectives")
    cols, maximize = [], []
    for col, direction in objectives.items():
        if col not in frame.columns:
            raise SpecError(
                f"unknown metric '{col}'", field="objectives", allowed=", ".join(map(str, frame))
            )
        if direction not in DIRECTIONS:
            raise SpecError(
                f"bad direction '{direction}' for '{col}'",
                field="objectives",
                allowed=", ".join(DIRECTIONS),
            )
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise SpecError(f"metric '{col}' is not numeric", field="objectives")
        cols.append(col)
        maximize.append(direction == "max")
    return cols, maximize


def parse_objectives(text: str) -> dict[str, str]:
    """Parse ``"energy_mj:min,score:max"`` (CLI form) into an objectives mapping."""
    out: dict[str, str] = {}
    for item in text.split(","):
        col, sep, direction = item.strip().rpartition(":")
        if not sep or not col:
            raise SpecError(
                f"bad objective '{item}'", source="<cli>", allowed="METRIC:min or METRIC:max"
            )
        out[col] = direction
    return out
