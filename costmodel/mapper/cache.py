"""The mapper's content-keyed cache: (layer shape x accelerator x objective x search settings)
-> the mapping found, so a sweep or a cost table never searches the same layer twice.

Keys hold content only: the layer's key row (:meth:`LayerBatch.key_matrix`, in the searched
orientation), the accelerator's spec without its name and dataflow (the mapper replaces the
dataflow), the objective, the space, the budget and the analysis options. ``use_cache=False`` in
:func:`costmodel.mapper.api.search_mappings` bypasses it; :func:`clear` empties it. (Exact costs
are no longer memoised: with tiles per row an enumeration is one call per structure.)
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


def clear() -> None:
    """Forget every mapping found (benchmarks measure cold searches)."""
    _FOUND.clear()
    _STATS.update(hits=0, misses=0)


def stats() -> dict[str, int]:
    return {"entries": len(_FOUND), **_STATS}
