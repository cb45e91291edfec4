"""A DNN layer as the cost model sees it: an operator type and its loop dimensions.

Dimensions follow MAESTRO/XRBench: N batch, K output channels, C input channels, Y/X input rows and
columns, R/S filter rows and columns. Output rows/columns are derived from stride and padding.

``padding = "xrbench"`` is XRBench's convention: stride-1 "valid" convolution with the *signed*
output size Y' = Y - R + 1 (degenerate layers with Y < R keep their negative extents, and the MAC
count is the signed product N*K*C*R*S*Y'*X', exactly as in the XRBench tables). Any other padding is
an explicit number of rows/columns added on each side, and negative output sizes are errors.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from rtmm.errors import SpecError


class OpType(StrEnum):
    """Operator types. GEMM/FC and attention matmuls are costed as CONV with X = R = S = 1."""

    CONV = "CONV"  # dense or grouped convolution (groups == C == K: depthwise)
    GEMM = "GEMM"  # fully connected / matmul: K outputs, C reduction, Y rows
    ATTN = "ATTN"  # attention matmul (Q.K^T or A.V), costed like GEMM
    POOL = "POOL"  # max/avg pooling: per channel, R x S window, no weights
    ELTWISE = "ELTWISE"  # element-wise (add, mul, activation): one op per output element


@dataclass(frozen=True)
class Layer:
    """One layer. ``padding`` is ``"xrbench"`` or ``(pad_y, pad_x)`` rows/columns on each side."""

    name: str
    op: OpType
    N: int
    K: int
    C: int
    Y: int
    X: int
    R: int = 1
    S: int = 1
    stride: tuple[int, int] = (1, 1)
    padding: str | tuple[int, int] = "xrbench"
    groups: int = 1

    @property
    def out_y(self) -> int:
        """Output rows Y' (signed under the XRBench convention)."""
        if isinstance(self.padding, str):  # "xrbench"
            return (self.Y - self.R) // self.stride[0] + 1
        return (self.Y + 2 * self.padding[0] - self.R) // self.stride[0] + 1

    @property
    def out_x(self) -> int:
        """Output columns X' (signed under the XRBench convention)."""
        if isinstance(self.padding, str):  # "xrbench"
            return (self.X - self.S) // self.stride[1] + 1
        return (self.X + 2 * self.padding[1] - self.S) // self.stride[1] + 1

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.C == self.K

    @property
    def macs(self) -> int:
        """Multiply-accumulates (for POOL/ELTWISE: one operation per window element / output)."""
        if self.op == OpType.ELTWISE:
            return self.N * self.K * self.out_y * self.out_x
        if self.op == OpType.POOL:
            return self.N * self.K * self.R * self.S * self.out_y * self.out_x
        return self.N * self.K * (self.C // self.groups) * self.R * self.S * self.out_y * self.out_x

    @property
    def input_elems(self) -> int:
        return self.N * self.C * self.Y * self.X

    @property
    def weight_elems(self) -> int:
        if self.op in (OpType.POOL, OpType.ELTWISE, OpType.ATTN):
            return 0
        return self.K * (self.C // self.groups) * self.R * self.S

    @property
    def output_elems(self) -> int:
        return self.N * self.K * self.out_y * self.out_x

    def tensor_bytes(self, word_bytes: int = 1) -> dict[str, int]:
        """Input, weight and output tensor sizes in bytes for a word of ``word_bytes``."""
        return {
            "input": self.input_elems * word_bytes,
            "weight": self.weight_elems * word_bytes,
            "output": self.output_elems * word_bytes,
        }

    @property
    def dims(self) -> tuple[int, int, int, int, int, int, int]:
        """(N, K, C, Y, X, R, S)."""
        return (self.N, self.K, self.C, self.Y, self.X, self.R, self.S)


#: Spellings accepted for operator types in model files (upper-cased before lookup).
OP_ALIASES: dict[str, OpType] = {
    "CONV": OpType.CONV,
    "CONV2D": OpType.CONV,
    "DSCONV": OpType.CONV,  # depthwise; the reader sets groups = C = K
    "GEMM": OpType.GEMM,
    "FC": OpType.GEMM,
    "MATMUL": OpType.GEMM,
    "ATTN": OpType.ATTN,
    "POOL": OpType.POOL,
    "MAXPOOL": OpType.POOL,
    "AVGPOOL": OpType.POOL,
    "ELTWISE": OpType.ELTWISE,
    "ADD": OpType.ELTWISE,
    "MUL": OpType.ELTWISE,
}


def parse_op(
    text: str, *, source: str | os.PathLike | None = None, field: str | None = None
) -> OpType:
    """Map an operator spelling (``CONV``, ``DSCONV``, ``FC``, ...) to :class:`OpType`."""
    key = str(text).strip().upper()
    if key not in OP_ALIASES:
        raise SpecError(
            f"unknown layer type '{text}'",
            source=source,
            field=field,
            allowed=", ".join(OP_ALIASES),
        )
    return OP_ALIASES[key]


def _is_int(value: object) -> bool:
    if type(value) is int:  # the common case first: validating the zoo checks ~26,000 values
        return True
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


#: Largest layer dimension, stride, padding or group count: the cost analyses count accesses in
#: int64, so a dimension must stay far below 2^63 (2^20 is above any real tensor extent).
MAX_LAYER_DIM = 1 << 20
#: Largest N·K·C·Y·X·R·S: the MAC and access counts must stay exact in int64 and float64.
MAX_LAYER_VOLUME = 2**52


def _tuple(value: object) -> tuple:
    return value if isinstance(value, tuple) else ()


def validate_layer(
    layer: Layer, *, source: str | os.PathLike | None = None, field: str | None = None
) -> Layer:
    """Check a layer's invariants; return it unchanged or raise :class:`SpecError` (one line).

    Rules: a non-empty name; every dimension a positive integer; strides positive; padding
    ``"xrbench"`` or two non-negative integers; ``groups`` divides C and K; POOL/ELTWISE are per
    channel (K == C); GEMM/ATTN have R = S = 1 and stride 1. Under explicit padding the output must
    be at least 1x1; under ``padding="xrbench"`` degenerate layers (Y < R, signed output sizes) are
    allowed because the XRBench tables contain them.
    """
    where = field or (f"layer '{layer.name}'" if isinstance(layer.name, str) else "layer")

    def fail(message: str, allowed: str | None = None) -> SpecError:
        return SpecError(message, source=source, field=where, allowed=allowed)

    if not isinstance(layer.name, str) or not layer.name.strip():
        raise fail("layer name must be a non-empty string")
    if not isinstance(layer.op, OpType):
        raise fail(f"op is {layer.op!r}", allowed=", ".join(t.value for t in OpType))
    for dim, value in zip("NKCYXRS", layer.dims, strict=True):
        if not _is_int(value) or value < 1:
            raise fail(f"{dim} = {value!r}", allowed="integers >= 1")
    named = [*zip("NKCYXRS", layer.dims, strict=True), ("groups", layer.groups)]
    named += [("stride", v) for v in _tuple(layer.stride)]
    named += [("padding", v) for v in _tuple(layer.padding)]
    for label, value in named:
        if _is_int(value) and value > MAX_LAYER_DIM:
            raise fail(f"{label} = {value} is too large", allowed=f"integers <= {MAX_LAYER_DIM}")
    volume = math.prod(int(v) for v in layer.dims)
    if volume > MAX_LAYER_VOLUME:
        raise fail(
            f"N·K·C·Y·X·R·S = {volume:.3g} overflows the int64 access counts",
            allowed="layers with N·K·C·Y·X·R·S <= 2^52",
        )
    if (
        not isinstance(layer.stride, tuple)
        or len(layer.stride) != 2
        or not all(_is_int(s) and s >= 1 for s in layer.stride)
    ):
        raise fail(f"stride = {layer.stride!r}", allowed="two integers >= 1 (stride_y, stride_x)")
    if layer.padding != "xrbench" and (
        not isinstance(layer.padding, tuple)
        or len(layer.padding) != 2
        or not all(_is_int(p) and p >= 0 for p in layer.padding)
    ):
        raise fail(
            f"padding = {layer.padding!r}", allowed="'xrbench' or two integers >= 0 (pad_y, pad_x)"
        )
    if not _is_int(layer.groups) or layer.groups < 1:
        raise fail(f"groups = {layer.groups!r}", allowed="integers >= 1")
    if layer.C % layer.groups or layer.K % layer.groups:
        raise fail(
            f"groups = {layer.groups} does not divide C = {layer.C} and K = {layer.K}",
            allowed="a common divisor of C and K",
        )
    if layer.op in (OpType.POOL, OpType.ELTWISE) and layer.K != layer.C:
        raise fail(f"{layer.op.value} layer has K = {layer.K} != C = {layer.C}", allowed="K == C")
    if layer.op in (OpType.GEMM, OpType.ATTN) and (
        layer.R != 1 or layer.S != 1 or layer.stride != (1, 1)
    ):
        raise fail(
            f"{layer.op.value} layer has R = {layer.R}, S = {layer.S}, stride = {layer.stride}",
            allowed="R = S = 1 and stride 1 (write other matmuls as CONV)",
        )
    if layer.padding != "xrbench" and (layer.out_y < 1 or layer.out_x < 1):
        raise fail(
            f"output size {layer.out_y}x{layer.out_x} is empty",
            allowed="Y + 2*pad_y >= R and X + 2*pad_x >= S",
        )
    return layer


def same_padding(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    *,
    source: str | os.PathLike | None = None,
    field: str | None = None,
) -> tuple[int, int]:
    """Rows/columns on each side that give ``padding: same`` (output = ceil(input / stride)).

    ``size``, ``kernel``, ``stride`` are (Y, X), (R, S), (stride_y, stride_x). The total padding
    an axis needs is ``max((out - 1) * stride + kernel - size, 0)``; layers here pad both sides
    equally, so the per-side padding is that total halved (rounded down, else up) — whichever
    gives exactly ``ceil(size / stride)`` outputs. When neither does (an odd total that only
    one-sided padding reaches, e.g. an even kernel at stride 1), :class:`SpecError` asks for the
    padding in numbers instead of silently costing a different output size.
    """
    pads = []
    for axis, (n, k, s) in enumerate(zip(size, kernel, stride, strict=True)):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        for pad in (total // 2, (total + 1) // 2):
            if (n + 2 * pad - k) // s + 1 == out:
                pads.append(pad)
                break
        else:
            dim = "YX"[axis]
            raise SpecError(
                f"padding 'same' needs {total} {'rows' if axis == 0 else 'columns'} of padding on "
                f"one side only for {dim} = {n}, kernel {k}, stride {s}",
                source=source,
                field=field,
                allowed="padding as rows/columns per side, e.g. 1 or 1x0",
            )
    return (pads[0], pads[1])
