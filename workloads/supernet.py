"""Supernet sub-networks: width, resolution and depth variants of a zoo model.

Variants are generated from the full layer table by the transformations below and described in
``workloads/data/supernets.yaml`` (one entry per model: variant name, parameters, accuracy). The
accuracy figures there are *estimates* relative to the full model (= 1.0), derived from published
width-multiplier / resolution / depth trends of MobileNet and FBNet; see that file.

- width ``w``: every K and C is scaled by ``w`` (rounded to a multiple of 8 for channel counts
  >= 16, as MobileNet's ``make_divisible``), except the first layers' C (the input image) and the
  last layers' K (the task output). Depthwise layers keep groups = C = K.
- resolution ``r``: Y and X of spatial layers are scaled by ``r`` (never below min(Y, R)); with
  ``scale_tokens``, matmul layers written as CONV with X = R = S = 1 scale their token rows Y by r².
- depth ``d``: in a chain, each run of >= 2 consecutive identical blocks (identical layer
  dimensions, period 1..12 layers) keeps ``ceil(d * repeats)`` copies.

API: :func:`variants` (full model first, then by MACs, largest first), :func:`variant`,
``zoo.load("GE_FBNet_C@w0.5")``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path

from rtmm.errors import SpecError, UnknownNameError
from rtmm.fileio import load_yaml
from rtmm.names import did_you_mean
from workloads import zoo_index as zoo
from workloads.layer import Layer, OpType, validate_layer
from workloads.model import Model
from workloads.shapes import check_shapes

DATA_PATH = Path(__file__).resolve().parent / "data" / "supernets.yaml"
MAX_BLOCK_PERIOD = 12


@dataclass(frozen=True)
class VariantSpec:
    """How to derive one variant from the full model."""

    name: str
    accuracy: float
    width: float = 1.0
    resolution: float = 1.0
    depth: float = 1.0


@dataclass(frozen=True)
class Variant:
    """One sub-network: ``name`` is ``MODEL@VARIANT`` (the full model: ``MODEL``)."""

    name: str
    model: Model
    accuracy: float
    spec: VariantSpec | None = None

    @property
    def total_macs(self) -> int:
        return self.model.total_macs


# -- transformations ------------------------------------------------------------------------------


def scale_channels(value: int, factor: float) -> int:
    """Channels after a width multiplier: multiples of 8 for >= 16 channels, else rounded."""
    if factor == 1.0:
        return value
    if value < 16:
        return max(1, round(value * factor))
    scaled = max(8, int(value * factor + 4) // 8 * 8)
    if scaled < 0.9 * value * factor:
        scaled += 8
    return scaled


def scale_width(model: Model, factor: float, *, name: str | None = None) -> Model:
    """Scale channel counts by ``factor`` (see module docstring)."""
    new_layers = []
    for layer in model.layers:
        is_input = not model.predecessors(layer.name)
        is_output = not model.successors(layer.name)
        c = layer.C if is_input else scale_channels(layer.C, factor)
        k = layer.K if is_output else scale_channels(layer.K, factor)
        groups = layer.groups
        if layer.op in (OpType.POOL, OpType.ELTWISE) or layer.is_depthwise:
            k = c
            groups = c if layer.is_depthwise else layer.groups
        if c % groups or k % groups:
            groups = math.gcd(groups, math.gcd(c, k))
        new_layers.append(replace(layer, K=k, C=c, groups=groups))
    return _rebuild(model, new_layers, name)


def _scale_extent(extent: int, window: int, factor: float) -> int:
    return max(min(extent, window), round(extent * factor))


def scale_resolution(
    model: Model, factor: float, *, scale_tokens: bool = False, name: str | None = None
) -> Model:
    """Scale the spatial input size by ``factor`` (see module docstring)."""
    new_layers = []
    for layer in model.layers:
        token_rows = layer.X == 1 and layer.R == 1 and layer.S == 1
        if token_rows:
            y = max(1, round(layer.Y * factor * factor)) if scale_tokens else layer.Y
            new_layers.append(replace(layer, Y=y))
        else:
            new_layers.append(
                replace(
                    layer,
                    Y=_scale_extent(layer.Y, layer.R, factor),
                    X=_scale_extent(layer.X, layer.S, factor),
                )
            )
    return _rebuild(model, new_layers, name)


def _signature(layer: Layer) -> tuple:
    return (layer.op, *layer.dims, layer.stride, layer.padding, layer.groups)


def repeated_blocks(layers: list[Layer]) -> list[tuple[int, int, int]]:
    """Runs of repeated identical blocks: (start index, period, repeats >= 2), greedy, in order."""
    sigs = [_signature(layer) for layer in layers]
    n = len(sigs)
    runs = []
    i = 0
    while i < n:
        best = (1, 1)  # (period, repeats)
        for period in range(1, min(MAX_BLOCK_PERIOD, (n - i) // 2) + 1):
            block = sigs[i : i + period]
            repeats = 1
            while sigs[i + repeats * period : i + (repeats + 1) * period] == block:
                repeats += 1
            if repeats >= 2 and period * repeats > best[0] * best[1]:
                best = (period, repeats)
        if best[1] >= 2:
            runs.append((i, *best))
            i += best[0] * best[1]
        else:
            i += 1
    return runs


def drop_repeated_blocks(model: Model, keep: float, *, name: str | None = None) -> Model:
    """Keep ``ceil(keep * repeats)`` copies of each run of repeated blocks (chains only)."""
    if not model.is_chain:
        raise SpecError(
            f"depth variant of '{model.name}' needs a chain model",
            allowed="width/resolution variants",
        )
    layers = list(model.layers)
    drop: set[int] = set()
    for start, period, repeats in repeated_blocks(layers):
        kept = max(1, math.ceil(keep * repeats))
        drop.update(range(start + kept * period, start + repeats * period))
    kept_layers = [layer for i, layer in enumerate(layers) if i not in drop]
    return Model.chain(
        name or model.name, kept_layers, accuracy=model.accuracy, source=model.source
    )


def _rebuild(model: Model, layers: list[Layer], name: str | None) -> Model:
    by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        validate_layer(layer, source=model.source, field=f"variant of '{model.name}'")
    inputs = [model.predecessors(layer.name) for layer in layers]
    new = Model.from_edges(
        name or model.name,
        [by_name[layer.name] for layer in layers],
        inputs,
        accuracy=model.accuracy,
        source=model.source,
    )
    return check_shapes(new)


def apply(model: Model, spec: VariantSpec, *, scale_tokens: bool = False, name: str) -> Model:
    """The variant of ``model`` described by ``spec``, named ``name``, with its accuracy."""
    out = model
    if spec.depth != 1.0:
        out = drop_repeated_blocks(out, spec.depth, name=name)
    if spec.width != 1.0:
        out = scale_width(out, spec.width, name=name)
    if spec.resolution != 1.0:
        out = scale_resolution(out, spec.resolution, scale_tokens=scale_tokens, name=name)
    return out.with_(name=name, accuracy=spec.accuracy, variants=())


# -- the catalogue --------------------------------------------------------------------------------

_VARIANT_KEYS = {"name", "accuracy", "width", "resolution", "depth"}


@functools.cache
def _catalogue() -> dict[str, tuple[bool, tuple[VariantSpec, ...]]]:
    raw = load_yaml(DATA_PATH)
    if not isinstance(raw, dict):
        raise SpecError("expected a mapping of model ids", source=DATA_PATH)
    out = {}
    for model_id, entry in raw.items():
        where = str(model_id)
        if not isinstance(entry, dict) or set(entry) - {"variants", "scale_tokens"}:
            raise SpecError(
                "entry must be a mapping",
                source=DATA_PATH,
                field=where,
                allowed="keys variants, scale_tokens",
            )
        specs = []
        for i, item in enumerate(entry.get("variants") or []):
            field = f"{where}.variants[{i}]"
            if not isinstance(item, dict) or set(item) - _VARIANT_KEYS or "name" not in item:
                raise SpecError(
                    "bad variant",
                    source=DATA_PATH,
                    field=field,
                    allowed=", ".join(sorted(_VARIANT_KEYS)),
                )
            spec = VariantSpec(**item)
            for key in ("accuracy", "width", "resolution", "depth"):
                value = getattr(spec, key)
                if not isinstance(value, int | float) or not 0 < value <= 1:
                    raise SpecError(
                        f"{key} = {value!r}", source=DATA_PATH, field=field, allowed="0 < x <= 1"
                    )
            specs.append(spec)
        out[zoo.canonical(where)] = (bool(entry.get("scale_tokens", False)), tuple(specs))
    return out


def supernet_models() -> list[str]:
    """Zoo ids that have supernet variants."""
    return sorted(_catalogue())


def has_variants(model_id: str) -> bool:
    return zoo.canonical(model_id) in _catalogue()


@functools.cache
def _variants(model_id: str) -> tuple[Variant, ...]:
    scale_tokens, specs = _catalogue()[model_id]
    base = zoo.base_model(model_id)
    found = [Variant(model_id, base, base.accuracy, None)]
    for spec in specs:
        name = f"{model_id}{zoo.VARIANT_SEP}{spec.name}"
        found.append(
            Variant(
                name, apply(base, spec, scale_tokens=scale_tokens, name=name), spec.accuracy, spec
            )
        )
    found[1:] = sorted(found[1:], key=lambda v: (-v.total_macs, -v.accuracy))
    return tuple(found)


def variants(model_id: str) -> list[Variant]:
    """The sub-networks of a zoo model: the full model first, then by MACs, largest first."""
    canonical = zoo.canonical(model_id)
    if canonical not in _catalogue():
        raise UnknownNameError(
            f"model '{model_id}' has no supernet variants", allowed=", ".join(supernet_models())
        )
    return list(_variants(canonical))


def variant(model_id: str, name: str) -> Variant:
    """One variant by its short name (``"w0.5"``) or full name (``"GE_FBNet_C@w0.5"``)."""
    full = name if zoo.VARIANT_SEP in name else f"{zoo.canonical(model_id)}{zoo.VARIANT_SEP}{name}"
    for v in variants(model_id):
        if v.name == full:
            return v
    short = [v.name.partition(zoo.VARIANT_SEP)[2] for v in variants(model_id)[1:]]
    raise UnknownNameError(
        f"model '{model_id}' has no variant '{name}'{did_you_mean(name, short)}",
        allowed=", ".join(short),
    )
