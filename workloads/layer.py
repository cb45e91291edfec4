"""A DNN layer as the cost model sees it: an operator type and its loop dimensions.

Dimensions follow MAESTRO/XRBench: N batch, K output channels, C input channels, Y/X input rows and
columns, R/S filter rows and columns. Output rows/columns are derived from stride and padding.

``padding = "xrbench"`` is XRBench's convention: stride-1 "valid" convolution with the *signed*
output size Y' = Y - R + 1 (degenerate layers with Y < R keep their negative extents, and the MAC
count is the signed product N*K*C*R*S*Y'*X', exactly as in the XRBench tables). Any other padding is
an explicit number of rows/columns added on each side, and negative output sizes are errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
        if self.padding == "xrbench":
            return (self.Y - self.R) // self.stride[0] + 1
        return (self.Y + 2 * self.padding[0] - self.R) // self.stride[0] + 1

    @property
    def out_x(self) -> int:
        """Output columns X' (signed under the XRBench convention)."""
        if self.padding == "xrbench":
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
        return (
            self.N
            * self.K
            * (self.C // self.groups)
            * self.R
            * self.S
            * self.out_y
            * self.out_x
        )

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
