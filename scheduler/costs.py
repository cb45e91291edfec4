"""Dense per-model cost arrays: the form in which the simulator reads a cost table.

A cost table (the contract with :mod:`costmodel`, see ``docs/ARCHITECTURE.md``) has one row per
(model, layer_idx, accelerator). The engines never touch pandas in their event loop: the table is
converted once into, per model and per variant (supernet sub-network), two
``[layers x accelerators]`` arrays (``latency_cycles`` int64, ``energy_nj`` float64) plus their
prefix sums along the layers, so the latency or energy of any block ``[start, start + n)`` on any
accelerator is one subtraction.

External cost tables (``--costs FILE.csv``) are read and checked by :mod:`scheduler.cost_csv`;
:func:`from_table` validates every table it converts.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rtmm.errors import RtmmError, SimulationError
from scheduler.cost_csv import validate_table
from workloads import supernet, zoo


@dataclass(frozen=True, eq=False)
class VariantCosts:
    """Costs of one variant (the full model or a supernet sub-network) of a model.

    ``latency_cycles`` and ``energy_nj`` are ``[layers x accelerators]``; ``*_prefix`` have one more
    row (row 0 is zeros) so that the cost of layers ``[a, b)`` is ``prefix[b] - prefix[a]``.
    ``accuracy`` is the variant's quality relative to the full model (ACC = min(1, accuracy)).
    ``input_words`` (optional, one value per layer) is the size of each layer's input activation in
    words: what a frame moves through shared memory when its next block runs on another
    accelerator than its previous one (the engine's migration cost). ``offchip_words``
    (optional, ``[layers x accelerators]``) is each layer's off-chip traffic in words, read by the
    engine's contention rule (:meth:`contended_latency_cycles`).
    """

    name: str
    latency_cycles: np.ndarray
    energy_nj: np.ndarray
    accuracy: float = 1.0
    offchip_words: np.ndarray | None = None
    input_words: np.ndarray | None = None
    latency_prefix: np.ndarray = field(init=False, repr=False)
    energy_prefix: np.ndarray = field(init=False, repr=False)
    edp_prefix: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        lat = np.ascontiguousarray(self.latency_cycles, dtype=np.int64)
        en = np.ascontiguousarray(self.energy_nj, dtype=np.float64)
        if lat.ndim != 2 or lat.shape != en.shape or lat.shape[0] == 0:
            raise SimulationError(
                f"variant {self.name}: latency and energy arrays must both be"
                f" [layers x accelerators] with at least one layer, got {lat.shape} and {en.shape}",
                source="<api>",
            )
        zeros = np.zeros((1, lat.shape[1]))
        object.__setattr__(self, "latency_cycles", lat)
        object.__setattr__(self, "energy_nj", en)
        object.__setattr__(
            self,
            "latency_prefix",
            np.vstack([zeros.astype(np.int64), np.cumsum(lat, axis=0, dtype=np.int64)]),
        )
        object.__setattr__(self, "energy_prefix", np.vstack([zeros, np.cumsum(en, axis=0)]))
        object.__setattr__(self, "edp_prefix", np.vstack([zeros, np.cumsum(lat * en, axis=0)]))
        if self.input_words is not None:
            inputs = np.asarray(self.input_words, dtype=np.float64).reshape(-1)
            if inputs.shape != (lat.shape[0],) or not np.all(np.isfinite(inputs) & (inputs >= 0)):
                raise SimulationError(
                    f"variant {self.name}: input_words must hold one finite value >= 0 per layer",
                    source="<api>",
                )
            object.__setattr__(self, "input_words", inputs)
        if self.offchip_words is not None:
            words = np.ascontiguousarray(self.offchip_words, dtype=np.float64)
            object.__setattr__(self, "offchip_words", words)

    @property
    def num_layers(self) -> int:
        return self.latency_cycles.shape[0]

    @property
    def total_latency_cycles(self) -> np.ndarray:
        """Whole-model latency per accelerator (int64)."""
        return self.latency_prefix[-1]

    @property
    def total_energy_nj(self) -> np.ndarray:
        """Whole-model energy per accelerator."""
        return self.energy_prefix[-1]

    @property
    def min_energy_nj(self) -> float:
        """Energy with every layer on its minimum-energy accelerator (UXCost's reference)."""
        return float(self.energy_nj.min(axis=1).sum())

    def block_latency_cycles(self, start: int, n_layers: int, accelerator: int) -> int:
        return int(
            self.latency_prefix[start + n_layers, accelerator]
            - self.latency_prefix[start, accelerator]
        )

    def block_energy_nj(self, start: int, n_layers: int, accelerator: int) -> float:
        return float(
            self.energy_prefix[start + n_layers, accelerator]
            - self.energy_prefix[start, accelerator]
        )

    def contended_latency_cycles(
        self, start: int, n_layers: int, cycles_per_word: float
    ) -> np.ndarray:
        """Per accelerator: the latency of layers ``[start, start + n_layers)`` when the block gets
        ``1 / cycles_per_word`` off-chip words per cycle, ``sum max(latency_l, words_l x
        cycles_per_word)``. Each layer overlaps its off-chip transfers with its own compute only, as
        in the cost tables, so the result does not depend on how the layers are cut into blocks.
        Without ``offchip_words``: the contention-free latency."""
        end = start + n_layers
        lat = self.latency_cycles[start:end]
        if self.offchip_words is None:
            return lat.sum(axis=0).astype(np.float64)
        return np.maximum(lat, self.offchip_words[start:end] * cycles_per_word).sum(axis=0)

    def undone_energy_nj(self, start: int) -> float:
        """Energy of layers ``[start, end)``, each on its most expensive accelerator."""
        return float(self.energy_nj[start:].max(axis=1).sum())

    def remaining_latency_cycles(self, start: int) -> np.ndarray:
        """Latency of layers ``[start, end)`` on each accelerator."""
        return self.latency_prefix[-1] - self.latency_prefix[start]

    def layers_within(self, start: int, accelerator: int, budget_cycles: float) -> int:
        """Largest n >= 1 such that layers ``[start, start + n)`` take at most ``budget_cycles``.

        Always at least one layer (a layer is the smallest dispatch unit) and at most the rest.
        """
        column = self.latency_prefix[:, accelerator]
        limit = column[start] + budget_cycles
        end = int(np.searchsorted(column, limit, side="right")) - 1
        return max(1, min(end, self.num_layers) - start)


@dataclass(frozen=True, eq=False)
class ModelCosts:
    """All variants of one scenario model; variant 0 is the full (reference) model."""

    model_id: str
    variants: tuple[VariantCosts, ...]

    @property
    def full(self) -> VariantCosts:
        return self.variants[0]


@dataclass(frozen=True, eq=False)
class CostArrays:
    """Dense costs of every model of a scenario on every accelerator of a system."""

    models: tuple[ModelCosts, ...]
    accelerator_names: tuple[str, ...]
    clock_hz: np.ndarray  # per accelerator

    @property
    def num_accelerators(self) -> int:
        return len(self.accelerator_names)

    def index(self, model_id: str) -> int:
        for i, m in enumerate(self.models):
            if m.model_id == model_id:
                return i
        raise SimulationError(
            f"no costs for model {model_id}",
            source="<api>",
            allowed=", ".join(m.model_id for m in self.models),
        )


def from_table(
    table: pd.DataFrame,
    model_ids: Sequence[str],
    accelerator_names: Sequence[str],
    clock_hz: Sequence[float] | None = None,
    *,
    variants: Mapping[str, Sequence[tuple[str, float]]] | None = None,
    source: str = "<cost table>",
    layer_counts: Mapping[str, int] | None = None,
) -> CostArrays:
    """Convert a cost table into :class:`CostArrays` for ``model_ids`` (in that order).

    ``variants`` optionally maps a model id to its sub-networks as ``(table model name, accuracy)``;
    each variant's rows are looked up in ``table`` under that name. The table is validated first
    (:func:`validate_table`), so a missing model, a gap in a model's layers or a bad number is a
    :class:`SpecError` naming ``source``; ``layer_counts`` (model id -> layers of the model that
    runs) also makes a missing last layer or an extra layer index an error.
    """
    num_acc = len(accelerator_names)
    wanted = list(model_ids)
    for extra in (variants or {}).values():
        wanted.extend(name for name, _ in extra)
    validate_table(table, wanted, num_acc, source=source, layer_counts=layer_counts)
    groups = {name: g for name, g in table.groupby("model", sort=False)}
    models = []
    for model_id in model_ids:
        full = _variant_from_rows(groups[model_id], model_id, 1.0, num_acc)
        subnets = tuple(
            _variant_from_rows(groups[name], name, float(acc), num_acc)
            for name, acc in (variants or {}).get(model_id, ())
        )
        models.append(ModelCosts(model_id, (full, *subnets)))
    clocks = np.full(num_acc, 1e9) if clock_hz is None else np.asarray(clock_hz, dtype=float)
    return CostArrays(tuple(models), tuple(accelerator_names), clocks)


def _variant_from_rows(
    rows: pd.DataFrame, name: str, accuracy: float, num_acc: int
) -> VariantCosts:
    layer = rows["layer_idx"].to_numpy(dtype=np.int64)
    acc = rows["accelerator"].to_numpy(dtype=np.int64)
    num_layers = int(layer.max()) + 1
    lat = np.zeros((num_layers, num_acc), dtype=np.int64)
    en = np.zeros((num_layers, num_acc), dtype=np.float64)
    lat[layer, acc] = rows["latency_cycles"].to_numpy(dtype=np.int64)
    en[layer, acc] = rows["energy_nj"].to_numpy(dtype=np.float64)
    words = None
    if "offchip_words" in rows.columns:
        words = np.zeros((num_layers, num_acc), dtype=np.float64)
        words[layer, acc] = pd.to_numeric(rows["offchip_words"], errors="coerce").fillna(0.0)
    inputs = None
    if "input_words" in rows.columns:
        inputs = np.zeros(num_layers)
        inputs[layer] = pd.to_numeric(rows["input_words"], errors="coerce").fillna(0.0)
    else:
        inputs = zoo_input_words(name, num_layers)
    return VariantCosts(name, lat, en, accuracy, words, inputs)


@functools.lru_cache(maxsize=256)
def _zoo_inputs(name: str) -> tuple[float, ...] | None:
    try:
        base = name.split("@")[0]
        model = zoo.load(base)
        if "@" in name:
            found = [v.model for v in supernet.variants(base) if v.name == name]
            if not found:
                return None
            model = found[0]
    except RtmmError:
        return None
    return tuple(float(layer.input_elems) for layer in model.layers)


def zoo_input_words(name: str, num_layers: int) -> np.ndarray | None:
    """Input activation words per layer of zoo model (or Supernet variant) ``name``; ``None`` if
    the zoo does not know it or its layer count differs from the cost table's."""
    inputs = _zoo_inputs(name)
    if inputs is None or len(inputs) != num_layers:
        return None
    return np.array(inputs)
