"""Whether connected layers of a model agree on their shapes (:func:`check_shapes`), a step
separate from building a :class:`~workloads.model.Model`: the file readers run it for models whose
layers use real padding; XRBench tables (``padding="xrbench"``) are chains whose neighbouring rows
do not have consistent shapes, so they are never shape-checked.
"""

from __future__ import annotations

from rtmm.errors import SpecError
from workloads.layer import Layer, OpType
from workloads.model import Model


def _matches(producer: Layer, consumer: Layer) -> bool:
    return (producer.N, producer.K, producer.out_y, producer.out_x) == (
        consumer.N,
        consumer.C,
        consumer.Y,
        consumer.X,
    )


def _inputs_fit(preds: list[Layer], layer: Layer) -> bool:
    """Whether the producers' outputs can form the consumer's input (see :func:`check_shapes`)."""
    if all(_matches(p, layer) for p in preds):
        return True  # chain, or element-wise merge of equal tensors
    if (
        all((p.N, p.out_y, p.out_x) == (layer.N, layer.Y, layer.X) for p in preds)
        and sum(p.K for p in preds) == layer.C
    ):
        return True  # channel concatenation
    produced = [p.output_elems for p in preds]
    if sum(produced) == layer.input_elems:
        return True  # reshape / flatten / concatenation along another axis
    if layer.op == OpType.ATTN:
        # two activations: (Y x C) and (C x K)
        return all(e in (layer.input_elems, layer.N * layer.C * layer.K) for e in produced)
    if layer.op == OpType.ELTWISE:
        # broadcasting operands (e.g. squeeze-excite scale): each divides the full tensor
        return all(e > 0 and layer.input_elems % e == 0 for e in produced) and (
            max(produced) == layer.input_elems
        )
    return False


def check_shapes(model: Model) -> Model:
    """Raise :class:`SpecError` if a producer's output cannot be its consumer's input.

    Accepted: equal shapes (N, K, Y', X') == (N, C, Y, X); channel concatenation of several
    producers; a reshape with the same element count; the two operands of an attention matmul;
    broadcasting operands of an element-wise layer. Skipped for layers with ``padding="xrbench"``.
    """
    for name in model.layer_names:
        layer = model[name]
        if layer.padding == "xrbench":
            continue
        preds = [model[p] for p in model.predecessors(name)]
        if preds and not _inputs_fit(preds, layer):
            got = ", ".join(f"'{p.name}' {p.N}x{p.K}x{p.out_y}x{p.out_x}" for p in preds)
            raise SpecError(
                f"shape mismatch: layer '{name}' expects input N x C x Y x X = "
                f"{layer.N}x{layer.C}x{layer.Y}x{layer.X} but gets {got}",
                source=model.source,
                field=f"model '{model.name}'",
                allowed="producer output (N, K, Y', X') equal to consumer input (N, C, Y, X)",
            )
    return model
