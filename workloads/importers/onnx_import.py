"""ONNX models → :class:`~workloads.model.Model` DAGs (needs the optional ``onnx`` package).

Shapes come from ``onnx.shape_inference`` and must be static. Operators:

- ``Conv`` (1-D/2-D, strides, explicit or auto pads, groups) → CONV; dilations must be 1.
- ``Gemm`` and ``MatMul`` with a weight initializer → GEMM; ``MatMul`` of two activations → ATTN.
  A tensor of shape (B, T, D) is read as N = B, channels = D, rows Y = T; (M, F) as N = 1, Y = M.
- ``MaxPool``/``AveragePool``/``GlobalAveragePool``/``GlobalMaxPool`` → POOL.
- element-wise operators (``Add``, ``Mul``, ``Relu``, ``Sigmoid``, ``BatchNormalization``, ...)
  → ELTWISE, one layer per node.
- data-movement operators that keep the element count (``Flatten``, ``Reshape``, ``Transpose``,
  ``Concat``, ``Identity``, ...) create no layer: their consumers are connected to the producers of
  their inputs. ``Constant``/``Shape`` produce no activation.

Anything else raises :class:`SpecError` naming the node. The resulting model is shape-checked.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rtmm.errors import RtmmError, SpecError
from rtmm.fileio import check_regular_file
from workloads.layer import MAX_LAYER_DIM, Layer, OpType, validate_layer
from workloads.model import Model
from workloads.shapes import check_shapes

ELTWISE_OPS = frozenset(
    {
        "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Clip",
        "HardSigmoid", "HardSwish", "Gelu", "Erf", "Sqrt", "Pow", "Exp", "Neg", "Abs",
        "BatchNormalization", "Softmax", "LayerNormalization", "Elu", "Selu", "Softplus",
    }
)  # fmt: skip
PASSTHROUGH_OPS = frozenset(
    {"Flatten", "Reshape", "Transpose", "Identity", "Dropout", "Squeeze", "Unsqueeze", "Concat",
     "Cast"}
)  # fmt: skip
NO_ACTIVATION_OPS = frozenset({"Constant", "Shape", "ConstantOfShape"})
POOL_OPS = frozenset({"MaxPool", "AveragePool"})
GLOBAL_POOL_OPS = frozenset({"GlobalAveragePool", "GlobalMaxPool"})
SUPPORTED = sorted(
    ELTWISE_OPS
    | PASSTHROUGH_OPS
    | NO_ACTIVATION_OPS
    | POOL_OPS
    | GLOBAL_POOL_OPS
    | {"Conv", "Gemm", "MatMul"}
)


def _onnx() -> Any:
    try:
        import onnx
        import onnx.shape_inference  # noqa: F401
    except ImportError:
        raise RtmmError(
            "reading ONNX models needs the 'onnx' package",
            source="<onnx>",
            allowed="pip install 'rtmm[onnx]'",
        ) from None
    return onnx


def read_onnx(path: str | os.PathLike, name: str | None = None) -> Model:
    """Read an ``.onnx`` file into a Model named after the graph (or the file stem)."""
    onnx = _onnx()
    p = check_regular_file(path, "ONNX model file")
    try:
        proto = onnx.load(str(p))
    except FileNotFoundError:
        raise SpecError("file not found", source=p) from None
    except Exception as exc:  # protobuf DecodeError and friends
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"not a valid ONNX model ({first})", source=p) from None
    return parse_onnx(proto, name=name or p.stem, source=str(p))


class _Converter:
    def __init__(self, proto: Any, source: str) -> None:
        onnx = _onnx()
        try:
            inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=False)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SpecError(f"ONNX shape inference failed ({first})", source=source) from None
        self.graph = inferred.graph
        self.source = source
        self.shapes: dict[str, tuple[int, ...] | None] = {}
        self.initializers: dict[str, tuple[int, ...]] = {
            init.name: tuple(int(d) for d in init.dims) for init in self.graph.initializer
        }
        for info in (*self.graph.input, *self.graph.value_info, *self.graph.output):
            self.shapes[info.name] = _static_shape(info)
        self.shapes.update(self.initializers)
        self.producers: dict[str, list[str]] = {}
        self.layers: list[Layer] = []
        self.inputs: list[list[str]] = []
        self.used_names: set[str] = set()

    # -- helpers ----------------------------------------------------------------------------------

    def fail(self, node: Any, message: str, allowed: str | None = None) -> SpecError:
        label = node.name or node.op_type
        return SpecError(message, source=self.source, field=f"node '{label}'", allowed=allowed)

    def shape(self, node: Any, tensor: str) -> tuple[int, ...]:
        shape = self.shapes.get(tensor)
        if shape is None or any(d <= 0 for d in shape):
            raise self.fail(node, f"tensor '{tensor}' has no static shape", "static input shapes")
        return shape

    def attrs(self, node: Any) -> dict[str, Any]:
        onnx = _onnx()
        return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}

    def activations(self, node: Any) -> list[str]:
        return [t for t in node.input if t and t not in self.initializers]

    def preds_of(self, tensors: list[str]) -> list[str]:
        seen: list[str] = []
        for t in tensors:
            for p in self.producers.get(t, []):
                if p not in seen:
                    seen.append(p)
        return seen

    def unique_name(self, node: Any, index: int) -> str:
        base = re.sub(r"\s+", "_", node.name) if node.name else f"{node.op_type.lower()}_{index}"
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}_{k}"
        self.used_names.add(name)
        return name

    def emit(self, node: Any, layer: Layer, preds_from: list[str]) -> None:
        validate_layer(layer, source=self.source, field=f"node '{node.name or node.op_type}'")
        self.layers.append(layer)
        self.inputs.append(self.preds_of(preds_from))
        for out in node.output:
            self.producers[out] = [layer.name]

    # -- operators --------------------------------------------------------------------------------

    def ints_attr(
        self, node: Any, attrs: dict[str, Any], key: str, default: list[int], minimum: int = 1
    ) -> list[int]:
        """An ``ints`` attribute with one or two entries, each in ``minimum..MAX_LAYER_DIM``."""
        value = attrs.get(key, default)
        ok = isinstance(value, list | tuple) and 1 <= len(value) <= 4
        ok = ok and all(isinstance(v, int) and minimum <= v <= MAX_LAYER_DIM for v in value)
        if not ok:
            raise self.fail(
                node,
                f"attribute {key} = {list(value) if isinstance(value, list | tuple) else value!r}",
                f"1 or 2 integers from {minimum} to {MAX_LAYER_DIM}",
            )
        return list(value)

    def check_order(self) -> None:
        """Refuse a graph whose nodes are not in topological order (ONNX requires it), which
        includes every cyclic graph: a node may only read tensors produced before it."""
        producer: dict[str, int] = {}
        for index, node in enumerate(self.graph.node):
            for out in node.output:
                producer.setdefault(out, index)
        for index, node in enumerate(self.graph.node):
            for tensor in node.input:
                if producer.get(tensor, -1) >= index:
                    raise self.fail(
                        node,
                        f"reads '{tensor}', produced by itself or a later node (a cycle, or "
                        "nodes out of order)",
                        "an acyclic graph with nodes in topological order",
                    )

    def convert(self) -> None:
        self.check_order()
        for index, node in enumerate(self.graph.node):
            try:
                self.convert_node(node, index)
            except (IndexError, KeyError, ZeroDivisionError, TypeError, ValueError) as exc:
                # a malformed attribute or shape this converter did not anticipate
                raise self.fail(
                    node, f"malformed {node.op_type} node ({type(exc).__name__}: {exc})"
                ) from None

    def convert_node(self, node: Any, index: int) -> None:
        op = node.op_type
        if op in NO_ACTIVATION_OPS:
            for out in node.output:
                self.producers[out] = []
        elif op in PASSTHROUGH_OPS:
            preds = self.preds_of(self.activations(node))
            for out in node.output:
                self.producers[out] = list(preds)
        elif op == "Conv":
            self.conv(node, index)
        elif op in ("Gemm", "MatMul"):
            self.matmul(node, index)
        elif op in POOL_OPS or op in GLOBAL_POOL_OPS:
            self.pool(node, index)
        elif op in ELTWISE_OPS:
            self.eltwise(node, index)
        else:
            raise self.fail(node, f"unsupported ONNX operator '{op}'", ", ".join(SUPPORTED))

    def _spatial(self, node: Any, x_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        if len(x_shape) == 4:
            return x_shape  # type: ignore[return-value]
        if len(x_shape) == 3:
            return (x_shape[0], x_shape[1], x_shape[2], 1)
        raise self.fail(node, f"input rank {len(x_shape)}", "rank 3 (N, C, L) or 4 (N, C, H, W)")

    def _padding(
        self,
        node: Any,
        attrs: dict[str, Any],
        size: tuple[int, int],
        kernel: tuple[int, int],
        stride: tuple[int, int],
        out: tuple[int, int],
    ) -> tuple[int, int]:
        """Symmetric per-side padding that reproduces ONNX's output size."""
        rank = 2 if len(kernel) == 2 else 1
        pads = list(attrs.get("pads", [0] * 2 * rank))
        if not all(isinstance(p, int) and 0 <= p <= MAX_LAYER_DIM for p in pads):
            raise self.fail(node, f"attribute pads = {pads}", f"integers 0..{MAX_LAYER_DIM}")
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        result = []
        for axis in range(2):
            if auto in ("SAME_UPPER", "SAME_LOWER"):
                total = max(0, (out[axis] - 1) * stride[axis] + kernel[axis] - size[axis])
            elif auto == "VALID":
                total = 0
            else:
                total = pads[axis] + pads[axis + len(pads) // 2] if axis < len(pads) // 2 else 0
            for pad in sorted({total // 2, (total + 1) // 2}):
                if (size[axis] + 2 * pad - kernel[axis]) // stride[axis] + 1 == out[axis]:
                    result.append(pad)
                    break
            else:
                raise self.fail(
                    node,
                    f"padding {pads} cannot be expressed as symmetric padding",
                    "pads whose per-axis total gives the same output size when split evenly",
                )
        return (result[0], result[1])

    def conv(self, node: Any, index: int) -> None:
        attrs = self.attrs(node)
        if any(d != 1 for d in attrs.get("dilations", [1])):
            raise self.fail(node, f"dilations {attrs['dilations']}", "dilations of 1")
        n, c, y, x = self._spatial(node, self.shape(node, node.input[0]))
        if len(node.input) < 2:
            raise self.fail(node, "Conv without a weight input", "inputs X, W[, B]")
        w = self.shape(node, node.input[1])
        if len(w) not in (3, 4):
            raise self.fail(node, f"weight rank {len(w)}", "rank 3 (K, C, R) or 4 (K, C, R, S)")
        k, r = w[0], w[2]
        s = w[3] if len(w) == 4 else 1
        strides = self.ints_attr(node, attrs, "strides", [1, 1])
        stride = (strides[0], strides[1] if len(strides) > 1 else 1)
        out_shape = self._spatial(node, self.shape(node, node.output[0]))
        padding = self._padding(node, attrs, (y, x), (r, s), stride, out_shape[2:])
        layer = Layer(
            name=self.unique_name(node, index),
            op=OpType.CONV,
            N=n, K=k, C=c, Y=y, X=x, R=r, S=s,
            stride=stride,
            padding=padding,
            groups=int(attrs.get("group", 1)),
        )  # fmt: skip
        self.emit(node, layer, self.activations(node)[:1])

    def matmul(self, node: Any, index: int) -> None:
        attrs = self.attrs(node)
        a_shape = list(self.shape(node, node.input[0]))
        b_shape = list(self.shape(node, node.input[1]))
        if node.op_type == "Gemm":
            if attrs.get("transA", 0):
                a_shape = a_shape[::-1]
            if attrs.get("transB", 0):
                b_shape = b_shape[::-1]
        if len(a_shape) < 2 or len(b_shape) < 2:
            raise self.fail(node, "matmul operands need rank >= 2", "2-D or batched matrices")
        m, kred = a_shape[-2], a_shape[-1]
        n_out = b_shape[-1]
        batch = 1
        for d in a_shape[:-2]:
            batch *= d
        weights = node.input[1] in self.initializers
        layer = Layer(
            name=self.unique_name(node, index),
            op=OpType.GEMM if weights else OpType.ATTN,
            N=batch, K=n_out, C=kred, Y=m, X=1, padding=(0, 0),
        )  # fmt: skip
        preds = [node.input[0]] if weights else [node.input[0], node.input[1]]
        self.emit(node, layer, [t for t in preds if t not in self.initializers])

    def pool(self, node: Any, index: int) -> None:
        attrs = self.attrs(node)
        n, c, y, x = self._spatial(node, self.shape(node, node.input[0]))
        if node.op_type in GLOBAL_POOL_OPS:
            kernel, stride, padding = (y, x), (1, 1), (0, 0)
        else:
            ks = self.ints_attr(node, attrs, "kernel_shape", [1, 1])
            kernel = (ks[0], ks[1] if len(ks) > 1 else 1)
            st = self.ints_attr(node, attrs, "strides", [1] * len(ks))
            stride = (st[0], st[1] if len(st) > 1 else 1)
            out_shape = self._spatial(node, self.shape(node, node.output[0]))
            padding = self._padding(node, attrs, (y, x), kernel, stride, out_shape[2:])
        layer = Layer(
            name=self.unique_name(node, index),
            op=OpType.POOL,
            N=n, K=c, C=c, Y=y, X=x, R=kernel[0], S=kernel[1],
            stride=stride,
            padding=padding,
        )  # fmt: skip
        self.emit(node, layer, self.activations(node)[:1])

    def eltwise(self, node: Any, index: int) -> None:
        n, c, y, x = _as_nchw(self.shape(node, node.output[0]))
        layer = Layer(
            name=self.unique_name(node, index),
            op=OpType.ELTWISE,
            N=n, K=c, C=c, Y=y, X=x,
            padding=(0, 0),
        )  # fmt: skip
        acts = self.activations(node)
        if node.op_type in ("BatchNormalization", "LayerNormalization", "PRelu", "Clip"):
            acts = acts[:1]
        self.emit(node, layer, acts)


def _static_shape(info: Any) -> tuple[int, ...] | None:
    tensor_type = info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    dims = []
    for d in tensor_type.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


def _as_nchw(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Read a tensor shape as (N, channels, Y, X) (see module docstring)."""
    if len(shape) == 4:
        return shape  # type: ignore[return-value]
    if len(shape) == 3:
        return (shape[0], shape[2], shape[1], 1)
    if len(shape) == 2:
        return (1, shape[1], shape[0], 1)
    if len(shape) == 1:
        return (1, shape[0], 1, 1)
    if len(shape) == 0:
        return (1, 1, 1, 1)
    n = 1
    for d in shape[:-3]:
        n *= d
    return (n, shape[-3], shape[-2], shape[-1])


def parse_onnx(proto: Any, *, name: str | None = None, source: str = "<onnx>") -> Model:
    """Convert an in-memory ``onnx.ModelProto`` into a shape-checked :class:`Model`."""
    converter = _Converter(proto, source)
    converter.convert()
    if not converter.layers:
        raise SpecError("ONNX graph has no computing layers", source=source)
    model_name = name or converter.graph.name or "onnx_model"
    model = Model.from_edges(model_name, converter.layers, converter.inputs, source=source)
    return check_shapes(model)
