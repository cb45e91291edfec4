"""The mapper's content-keyed cache: (layer shape x accelerator x objective x search settings)
-> the mapping found, so a sweep or a cost table never searches the same layer twice.

Keys hold content only: the layer's key row (:meth:`LayerBatch.key_matrix`, in the searched
orientation), the accelerator's spec without its name and dataflow (the mapper replaces the
dataflow), the objective, the space, the budget and the analysis options. ``use_cache=False`` in
:func:`costmodel.mapper.api.search_mappings` bypasses the found mappings only; the memo of exact
costs (:func:`get_cost`) is always used, and :func:`clear` empties both.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Hashable

from costmodel.cache import accelerator_key
from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow

#: Entries kept (least recently used are evicted).
MAX_ENTRIES = 200_000

_FOUND: OrderedDict[Hashable, tuple[Dataflow, bool]] = OrderedDict()
_STATS = {"hits": 0, "misses": 0}
#: Exact costs of (layer, hardware and options, canonical point: with the layer it fixes the
#: directive list, :func:`costmodel.mapper.search.written`) -> (latency_cycles, energy_pj,
#: energy_nj, overflow bytes): a pure function of its key, so reusing it never changes a
#: result; it lets the searches of several objectives share one enumeration.
_COSTS: OrderedDict[Hashable, tuple[float, float, float, float]] = OrderedDict()
MAX_COSTS = 2_000_000


def hardware_key(accelerator: Accelerator) -> tuple:
    """The accelerator's spec with the dataflow blanked (what a mapping search depends on)."""
    blank = Dataflow("", ())
    return accelerator_key(dataclasses.replace(accelerator, dataflow=blank))


def get(key: Hashable) -> tuple[Dataflow, bool] | None:
    """The cached (dataflow, exhaustive) of ``key``, or None."""
    hit = _FOUND.get(key)
    if hit is None:
        _STATS["misses"] += 1
        return None
    _STATS["hits"] += 1
    _FOUND.move_to_end(key)
    return hit


def put(key: Hashable, dataflow: Dataflow, exhaustive: bool) -> None:
    _FOUND[key] = (dataflow, exhaustive)
    while len(_FOUND) > MAX_ENTRIES:
        _FOUND.popitem(last=False)


def get_cost(key: Hashable) -> tuple[float, float, float, float] | None:
    """The memoised exact cost of ``key`` (module docstring), or None."""
    return _COSTS.get(key)


def put_cost(key: Hashable, cost: tuple[float, float, float, float]) -> None:
    _COSTS[key] = cost
    if len(_COSTS) > MAX_COSTS:
        _COSTS.popitem(last=False)


def clear() -> None:
    """Forget every mapping found and every memoised cost (benchmarks measure cold searches)."""
    _FOUND.clear()
    _COSTS.clear()
    _STATS.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    return {"entries": len(_FOUND), "costs": len(_COSTS), **_STATS}
