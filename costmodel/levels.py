"""From a directive list to normalised cluster levels (``docs/MAESTRO_METHOD.md`` §1).

Two steps, kept apart because the first depends only on the dataflow and the second is per row:

1. :func:`plan_dataflow` cuts the list at every ``Cluster``, converts the primed output dimensions
   to input coordinates, inherits the parent's maps and completes the level. The result, a
   :class:`DataflowPlan`, records for every normalised map where its size comes from (written at
   this level, inherited from a parent map, or completed with the whole extent), so it holds no
   layer numbers and is cached per dataflow.
2. :func:`materialise` evaluates a plan on an ``(n, 7)`` array of layer dimensions and per-row PE
   counts: per-level map sizes/offsets, extents ``E_ℓ`` and sub-unit counts ``n_ℓ`` as int64 arrays.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hardware_db.dataflow import Dataflow, Directive
from rtmm.errors import CostModelError

#: The six analysed dimensions, in MAESTRO's completion order (§1 step 3).
DIMS: tuple[str, ...] = ("C", "K", "R", "S", "X", "Y")
#: Column of each dimension in the ``(n, 7)`` N,K,C,Y,X,R,S dims array.
DIM_COLUMN: dict[str, int] = {"K": 1, "C": 2, "Y": 3, "X": 4, "R": 5, "S": 6}
#: Overlap partner π(·): window dims Y, X and filter dims R, S.
PARTNER: dict[str, str] = {"Y": "R", "X": "S", "R": "Y", "S": "X"}
#: Dimensions indexing each tensor (input, weight, output).
TENSOR_DIMS: dict[str, tuple[str, ...]] = {
    "I": ("C", "Y", "X"),
    "W": ("K", "C", "R", "S"),
    "O": ("K", "Y", "X"),
}
#: Dimensions a user directive may name (``N`` is never mapped by this model).
ALLOWED_MAP_DIMS = ("K", "C", "R", "S", "Y", "X", "Y'", "X'")
_PRIMED = {"Y'": ("Y", "R"), "X'": ("X", "S")}

Origin = Literal["written", "inherited", "completed"]


@dataclass(frozen=True)
class MapSlot:
    """One map of a normalised level.

    ``size``/``offset`` are set for written maps (already converted to input coordinates);
    ``parent`` is the index in the parent level's slots for inherited maps; completed maps take the
    level's whole extent as size and offset.
    """

    spatial: bool
    dim: str
    origin: Origin
    size: int = 0
    offset: int = 0
    parent: int = -1

    def __str__(self) -> str:
        kind = "Sp" if self.spatial else "T"
        if self.origin == "written":
            return f"{kind}({self.size},{self.offset}){self.dim}"
        if self.origin == "inherited":
            return f"{kind}(^{self.parent}){self.dim}"
        return f"{kind}(E,E){self.dim}"


@dataclass(frozen=True)
class LevelPlan:
    """The dataflow-only structure of one cluster level."""

    index: int
    slots: tuple[MapSlot, ...]
    cluster_size: int  # n_ℓ for ℓ ≥ 1; 0 at level 0, where n_0 depends on the PE count
    primary: int  # index of the first spatial map (sets the spatial edge), -1 if none

    @functools.cached_property
    def slot_of(self) -> dict[str, int]:
        """Dimension → index of its map in :attr:`slots`."""
        return {s.dim: i for i, s in enumerate(self.slots)}

    def tensor_slots(self, tensor: str) -> tuple[int, ...]:
        """Indices of the maps of ``tensor``'s dimensions, in directive order."""
        dims = TENSOR_DIMS[tensor]
        return tuple(i for i, s in enumerate(self.slots) if s.dim in dims)

    def has_spatial(self, tensor: str) -> bool:
        return any(self.slots[i].spatial for i in self.tensor_slots(tensor))

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.slots)


@dataclass(frozen=True)
class DataflowPlan:
    """All levels of a dataflow, outermost first, plus the product of its cluster sizes."""

    name: str
    levels: tuple[LevelPlan, ...]
    cluster_product: int

    @property
    def num_levels(self) -> int:
        return len(self.levels)


@dataclass(frozen=True)
class LevelGeometry:
    """Per-row numbers of one level: map sizes/offsets ``(m, rows)``, extents, sub-unit count."""

    plan: LevelPlan
    sizes: np.ndarray
    offsets: np.ndarray
    extents: dict[str, np.ndarray]
    units: np.ndarray


def _fail(dataflow: Dataflow, message: str, allowed: str) -> CostModelError:
    return CostModelError(message, source=f"dataflow '{dataflow.name}'", allowed=allowed)


def _check_level(dataflow: Dataflow, index: int, written: tuple[Directive, ...]) -> None:
    seen: dict[str, str] = {}
    for d in written:
        if d.kind not in ("T", "S"):
            raise _fail(dataflow, f"level {index}: directive kind '{d.kind}'", "T, S, C")
        if d.dim not in ALLOWED_MAP_DIMS:
            raise _fail(
                dataflow,
                f"level {index}: cannot map dimension '{d.dim}' in '{d}'",
                ", ".join(ALLOWED_MAP_DIMS),
            )
        for value, what in ((d.size, "size"), (d.offset, "offset")):
            if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
                message = f"level {index}: {what} of '{d}' is {value!r}"
                raise _fail(dataflow, message, "integers >= 1")
        base = _PRIMED[d.dim][0] if d.dim in _PRIMED else d.dim
        if base in seen:
            raise _fail(
                dataflow,
                f"level {index} maps dimension {base} twice ({seen[base]} and {d.dim})",
                "each dimension (with its primed form) at most once per cluster level",
            )
        seen[base] = d.dim


def _written_slots(written: tuple[Directive, ...]) -> list[MapSlot]:
    """§1 step 1: output dims Y'/X' become input coordinates with size s + F − 1."""
    count = len(written)
    own = {d.dim: d.size for d in written}
    slots = []
    for d in written:
        dim, size = d.dim, d.size
        if dim in _PRIMED:
            dim, filter_dim = _PRIMED[dim]
            # [Q] without a filter map at this level F is the number of written directives
            size = size + own.get(filter_dim, count) - 1
        slots.append(MapSlot(d.kind == "S", dim, "written", size, d.offset))
    return slots


def _normalise(written: tuple[Directive, ...], parent: LevelPlan | None) -> tuple[MapSlot, ...]:
    slots = _written_slots(written)
    mapped = {s.dim for s in slots}
    if parent is not None:  # §1 step 2: inherit as temporal maps, inserted at the front
        for index, slot in enumerate(parent.slots):
            if slot.dim not in mapped:
                slots.insert(0, MapSlot(False, slot.dim, "inherited", parent=index))
                mapped.add(slot.dim)
    for dim in DIMS:  # §1 step 3: complete with the whole extent
        if dim not in mapped:
            slots.append(MapSlot(False, dim, "completed"))
    return tuple(slots)


@functools.lru_cache(maxsize=256)
def plan_dataflow(dataflow: Dataflow) -> DataflowPlan:
    """Validate a directive list and build its normalised level structure (cached).

    Raises :class:`CostModelError` when a level maps a dimension twice (``Y`` and ``Y'`` count as
    the same dimension), names an unknown dimension or has a non-positive size/offset/cluster size.
    """
    if not dataflow.directives or all(d.kind == "C" for d in dataflow.directives):
        raise _fail(dataflow, "no map directives", "at least one TemporalMap/SpatialMap")
    sizes = dataflow.cluster_sizes
    for c in sizes:
        if not isinstance(c, int | np.integer) or isinstance(c, bool) or c < 1:
            raise _fail(dataflow, f"cluster size {c!r}", "integers >= 1")
    levels: list[LevelPlan] = []
    for index, written in enumerate(dataflow.levels):
        _check_level(dataflow, index, written)
        slots = _normalise(written, levels[-1] if levels else None)
        primary = next((i for i, s in enumerate(slots) if s.spatial), -1)
        n = sizes[index - 1] if index else 0
        levels.append(LevelPlan(index, slots, int(n), primary))
    return DataflowPlan(dataflow.name, tuple(levels), int(np.prod(sizes, dtype=np.int64)))


def materialise(
    plan: DataflowPlan, dims: np.ndarray, num_pes: np.ndarray
) -> tuple[LevelGeometry, ...]:
    """Per-row sizes, offsets, extents and sub-unit counts of every level (§1 steps 2–4).

    ``dims`` is ``(rows, 7)`` int64 (N,K,C,Y,X,R,S); ``num_pes`` is ``(rows,)``.
    """
    rows = dims.shape[0]
    too_small = num_pes < plan.cluster_product
    if np.any(too_small):
        bad = int(num_pes[np.argmax(too_small)])
        raise CostModelError(
            f"the Cluster sizes multiply to {plan.cluster_product} > num_pes = {bad}",
            source=f"dataflow '{plan.name}'",
            allowed=f"num_pes >= {plan.cluster_product}",
        )
    extents = {v: dims[:, DIM_COLUMN[v]].astype(np.int64) for v in DIMS}
    out: list[LevelGeometry] = []
    parent: LevelGeometry | None = None
    for level in plan.levels:
        m = len(level.slots)
        sizes = np.empty((m, rows), dtype=np.int64)
        offsets = np.empty((m, rows), dtype=np.int64)
        for i, slot in enumerate(level.slots):
            if slot.origin == "written":
                sizes[i], offsets[i] = slot.size, slot.offset
            elif slot.origin == "inherited":
                assert parent is not None
                sizes[i], offsets[i] = parent.sizes[slot.parent], parent.offsets[slot.parent]
            else:
                sizes[i], offsets[i] = extents[slot.dim], extents[slot.dim]
        if level.index == 0:
            units = cdiv_floor_units(num_pes, plan.cluster_product)
        else:
            units = np.full(rows, level.cluster_size, dtype=np.int64)
        geometry = LevelGeometry(level, sizes, offsets, extents, units)
        out.append(geometry)
        # §1 step 4: E_{ℓ+1}(v) = min(s_ℓ(v), E_ℓ(v))
        extents = {v: np.minimum(sizes[level.slot_of[v]], extents[v]) for v in DIMS}
        parent = geometry
    return tuple(out)


def cdiv_floor_units(num_pes: np.ndarray, cluster_product: int) -> np.ndarray:
    """n_0 = ⌊P_pe / ∏c⌋ (both positive, so floor and truncation agree)."""
    return np.asarray(num_pes, dtype=np.int64) // np.int64(cluster_product)
