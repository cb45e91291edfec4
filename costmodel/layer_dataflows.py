"""Per-layer dataflows: MAESTRO model files may give a layer its own ``Dataflow { ... }`` block.

MAESTRO costs every layer with the mapping written in its ``Layer`` block; rtmm's accelerators
carry one dataflow each. :attr:`workloads.model.Model.layer_dataflows` keeps the per-layer
blocks (as directive text, ``Sz(D)`` already resolved), and the cost tables honour them: such a
layer is costed on a copy of the accelerator whose dataflow is the layer's (array shape derived
from its clusters as for a library accelerator), on every accelerator of a system; the cost
table's ``dataflow`` column names the dataflow each row was costed with (a preset name when the
directives equal a preset, else ``layer:NAME``). A layer's directives that do not parse, or
whose clusters need more PEs than the accelerator has, raise :class:`rtmm.errors.SpecError`
naming the model file and the layer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from hardware_db.accelerator import Accelerator
from hardware_db.dataflow import Dataflow
from hardware_db.maestro_format import DirectiveSyntaxError, dataflow_name_for, parse_directives
from hardware_db.schema import default_array_shape
from rtmm.errors import SpecError
from workloads.model import Model


def layer_dataflows(model: Model) -> dict[int, Dataflow]:
    """Layer index (in ``model.layers`` order) → that layer's own dataflow."""
    if not model.layer_dataflows:
        return {}
    out: dict[int, Dataflow] = {}
    for index, layer in enumerate(model.layers):
        text = model.layer_dataflows.get(layer.name)
        if text is None:
            continue
        try:
            directives = parse_directives(text)
        except DirectiveSyntaxError as exc:
            raise SpecError(
                f"Dataflow of layer '{layer.name}': {exc.message}",
                source=model.source or model.name,
                allowed=exc.allowed,
            ) from None
        out[index] = Dataflow(dataflow_name_for(directives, f"layer:{layer.name}"), directives)
    return out


def with_dataflow(accelerator: Accelerator, dataflow: Dataflow, model: Model, layer: str):
    """``accelerator`` with ``dataflow`` (and the array shape its clusters imply)."""
    if dataflow == accelerator.dataflow:
        return accelerator
    pes = math.prod(dataflow.cluster_sizes)
    if pes > accelerator.num_pes:
        raise SpecError(
            f"the Dataflow of layer '{layer}' has clusters of {pes} PEs; accelerator "
            f"'{accelerator.name}' has {accelerator.num_pes}",
            source=model.source or model.name,
            allowed=f"cluster sizes whose product is <= {accelerator.num_pes}",
        )
    shape = default_array_shape(accelerator.num_pes, dataflow.directives)
    return dataclasses.replace(accelerator, dataflow=dataflow, array_shape=shape)


def apply_layer_dataflows(
    results: list[dict[str, np.ndarray]],
    accelerators: tuple[Accelerator, ...] | list[Accelerator],
    models: list[Model],
    offsets: list[int],
    cost: Callable[[np.ndarray, Accelerator], dict[str, np.ndarray]],
) -> np.ndarray | None:
    """Re-cost the layers that carry their own dataflow; return the per-row dataflow names.

    ``results[a]`` holds accelerator ``a``'s per-layer arrays for the concatenated layers of
    ``models`` (model ``i`` starts at row ``offsets[i]``); ``cost(rows, accelerator)`` costs those
    rows. Returns None when no layer has its own dataflow (nothing changed), else an
    ``(n_layers, n_accelerators)`` array of dataflow names and ``results`` updated in place.
    """
    own = [(offsets[i], m, layer_dataflows(m)) for i, m in enumerate(models)]
    if not any(flows for _, _, flows in own):
        return None
    n = len(next(iter(results[0].values())))
    names = np.array([[a.dataflow.name for a in accelerators]] * n, dtype=object).reshape(n, -1)
    for a, acc in enumerate(accelerators):
        for start, model, flows in own:
            groups: dict[Dataflow, list[int]] = {}
            for index, flow in flows.items():
                groups.setdefault(flow, []).append(start + index)
            for flow, rows in groups.items():
                layer = model.layers[rows[0] - start].name
                variant = with_dataflow(acc, flow, model, layer)
                picked = np.asarray(rows)
                costed = cost(picked, variant)
                for key, values in costed.items():
                    if key not in results[a]:
                        continue
                    column = results[a][key]
                    if column.ndim != 1 or values.ndim != 1:
                        # per-cluster-level arrays differ in width between dataflows; the
                        # table does not use them, so they are dropped rather than left stale
                        del results[a][key]
                        continue
                    column = column.astype(np.result_type(column, values), copy=True)
                    column[picked] = values
                    results[a][key] = column
                names[picked, a] = flow.name
    return names
