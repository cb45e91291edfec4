"""Dense per-model cost arrays: the form in which the simulator reads a cost table.

A cost table (the contract with :mod:`costmodel`, see ``docs/ARCHITECTURE.md``) has one row per
(model, layer_idx, accelerator). The engines never touch pandas in their event loop: the table is
converted once into, per model and per variant (supernet sub-network), two
``[layers x accelerators]`` arrays (``latency_cycles`` int64, ``energy_nj`` float64) plus their
prefix sums along the layers, so the latency or energy of any block ``[start, start + n)`` on any
accelerator is one subtraction.

External cost tables (``--costs FILE.csv``) have the columns
``model, layer_idx, accelerator, latency_cycles, energy_nj`` (``accelerator`` = index in the system)
and are validated by :func:`read_cost_csv`: every problem is a :class:`rtmm.errors.SpecError` naming
the file, the row (1-based line in the file) and the column.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rtmm.errors import RtmmError, SimulationError, SpecError
from rtmm.fileio import check_regular_file
from workloads import supernet, zoo

#: Columns every cost table must provide to the scheduler.
COST_COLUMNS = ("model", "layer_idx", "accelerator", "latency_cycles", "energy_nj")
#: Largest value per column: a layer runs at most 2^40 cycles (18 minutes at 1 GHz, beyond any
#: horizon the simulator accepts) so prefix sums stay exact in int64 and event times in float64;
#: a layer index is below 2^20 like every layer dimension; a layer costs at most 1 kJ (10^12 nJ).
COLUMN_MAX = {
    "layer_idx": 2**20,
    "accelerator": 2**20,
    "latency_cycles": 2**40,
    "energy_nj": 1e12,
}


@dataclass(frozen=True, eq=False)
class VariantCosts:
    """Costs of one variant (the full model or a supernet sub-network) of a model.

    ``latency_cycles`` and ``energy_nj`` are ``[layers x accelerators]``; ``*_prefix`` have one more
    row (row 0 is zeros) so that the cost of layers ``[a, b)`` is ``prefix[b] - prefix[a]``.
    ``accuracy`` is the variant's quality relative to the full model (ACC = min(1, accuracy)).
    ``input_words`` (optional, one value per layer) is the size of each layer's input activation in
    words: what a frame moves through shared memory when its next block runs on another
    accelerator than its previous one (the engine's migration cost).
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
            words = np.asarray(self.offchip_words, dtype=np.float64)
            object.__setattr__(self, "offchip_words", np.vstack([zeros, np.cumsum(words, axis=0)]))

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

    def block_offchip_words(self, start: int, n_layers: int, accelerator: int) -> float:
        """Off-chip words moved by the block (0 when the cost table had no ``offchip_words``)."""
        if self.offchip_words is None:
            return 0.0
        prefix = self.offchip_words  # stored as a prefix sum
        return float(prefix[start + n_layers, accelerator] - prefix[start, accelerator])

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


def validate_table(
    table: pd.DataFrame,
    model_ids: Iterable[str],
    num_accelerators: int,
    *,
    source: str,
    layer_counts: Mapping[str, int] | None = None,
) -> None:
    """Check a cost table; raise :class:`SpecError` naming ``source``, the row and the column.

    Rows are reported as 1-based CSV lines (header = line 1) when the table came from a file.
    With ``layer_counts`` (model id -> number of layers of the model that will run), a model's
    rows must cover exactly layers ``0..n-1``: a missing last layer or an extra layer index is an
    error (without it only gaps inside the rows present can be detected).
    """
    missing = [c for c in COST_COLUMNS if c not in table.columns]
    if missing:
        raise SpecError(
            f"missing column '{missing[0]}'", source=source, allowed=", ".join(COST_COLUMNS)
        )
    for col in ("layer_idx", "accelerator", "latency_cycles", "energy_nj"):
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.astype(float))
        if col != "energy_nj":
            bad |= values.notna() & (values.astype(float) % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise SpecError(
                f"column '{col}': value {table[col].iloc[row]!r} is not a finite number"
                + ("" if col == "energy_nj" else " (integer expected)"),
                source=source,
                field=f"line {row + 2}",
            )
        negative = values.to_numpy(dtype=float) < 0
        if negative.any():
            row = int(np.flatnonzero(negative)[0])
            raise SpecError(
                f"column '{col}': negative value {table[col].iloc[row]!r}",
                source=source,
                field=f"line {row + 2}",
                allowed="numbers >= 0",
            )
        huge = values.to_numpy(dtype=float) > COLUMN_MAX[col]
        if huge.any():
            row = int(np.flatnonzero(huge)[0])
            raise SpecError(
                f"column '{col}': value {_plain(table[col].iloc[row])} is too large",
                source=source,
                field=f"line {row + 2}",
                allowed=f"numbers from 0 to {COLUMN_MAX[col]:.6g}",
            )
    acc = table["accelerator"].to_numpy(dtype=float)
    out = acc >= num_accelerators
    if out.any():
        row = int(np.flatnonzero(out)[0])
        raise SpecError(
            f"column 'accelerator': index {int(acc[row])} out of range for a system with "
            f"{num_accelerators} accelerator(s)",
            source=source,
            field=f"line {row + 2}",
            allowed=f"0..{num_accelerators - 1}",
        )
    dup = table.duplicated(subset=["model", "layer_idx", "accelerator"])
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise SpecError(
            "duplicate (model, layer_idx, accelerator) row",
            source=source,
            field=f"line {row + 2}",
        )
    names = table["model"]
    blank = names.isna().to_numpy() | (names.astype(object).map(str).str.strip() == "").to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise SpecError(
            "column 'model': empty model name",
            source=source,
            field=f"line {row + 2}",
            allowed="model ids of the scenario",
        )
    present = {str(v) for v in names}
    model_ids = list(model_ids)
    for model_id in model_ids:
        if model_id not in present:
            raise SpecError(
                f"column 'model': no rows for model '{model_id}' required by the scenario",
                source=source,
                allowed=", ".join(sorted(present)) or "none present",
            )
    for model_id in model_ids:
        rows = table[table["model"] == model_id]
        num_layers = int(rows["layer_idx"].max()) + 1
        if layer_counts is not None and model_id in layer_counts:
            _check_layer_count(table, rows, model_id, layer_counts[model_id], source)
        if len(rows) != num_layers * num_accelerators:
            pairs = zip(rows["layer_idx"].astype(int), rows["accelerator"].astype(int), strict=True)
            have = set(pairs)
            for layer in range(num_layers):
                for a in range(num_accelerators):
                    if (layer, a) not in have:
                        raise SpecError(
                            f"column 'layer_idx': model '{model_id}' has no row for layer {layer}"
                            f" on accelerator {a}",
                            source=source,
                            allowed=f"layers 0..{num_layers - 1} on accelerators "
                            f"0..{num_accelerators - 1}",
                        )


def _plain(value: object) -> str:
    """A cell for a message: numpy scalars shown as plain Python numbers."""
    return repr(value.item() if hasattr(value, "item") else value)


def _check_layer_count(
    table: pd.DataFrame, rows: pd.DataFrame, model_id: str, expected: int, source: str
) -> None:
    """The rows of ``model_id`` must index layers ``0..expected-1`` exactly."""
    layer = rows["layer_idx"].to_numpy(dtype=np.int64)
    extra = layer >= expected
    if extra.any():
        row = int(table.index.get_loc(rows.index[int(np.flatnonzero(extra)[0])]))
        raise SpecError(
            f"column 'layer_idx': model '{model_id}' has {expected} layers, "
            f"no layer {int(layer[extra][0])}",
            source=source,
            field=f"line {row + 2}",
            allowed=f"layer_idx 0..{expected - 1}",
        )
    if int(layer.max()) + 1 < expected:
        last = int(table.index.get_loc(rows.index[int(np.argmax(layer))]))
        raise SpecError(
            f"column 'layer_idx': model '{model_id}' has {expected} layers but rows stop at "
            f"layer {int(layer.max())}",
            source=source,
            field=f"line {last + 2}",
            allowed=f"one row per layer 0..{expected - 1} and accelerator",
        )


def read_cost_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read an external per-layer cost CSV (columns :data:`COST_COLUMNS`) without validating it.

    Validation against a scenario and a system happens in :func:`from_table`.
    """
    p = check_regular_file(path, "cost table file")
    try:
        table = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"not a valid CSV file: {first}", source=p) from None
    if "model" in table.columns:
        table["model"] = table["model"].astype(str)
    return table
