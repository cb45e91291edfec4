"""Eyeriss v1's row-stationary mapping family as MAESTRO-style directive lists.

Eyeriss v1 (Chen et al., JSSC 2017, Table III) maps each CONV layer with seven parameters: a
*processing pass* works on ``m`` ofmap channels kept in the global buffer, ``n`` images, ``e``
output rows; a *PE set* of R × e PEs computes R filter rows × e output rows (PE (i, j) convolves
filter row i with the input row of output row j, one 1-D row convolution per PE); ``t`` PE sets
work on different filters and ``r`` on different channels; each PE holds ``p`` filters × ``q``
channels of one filter row in its scratchpads and slides along the row. :func:`row_stationary`
writes one layer's parameters as directives, outermost first:

=====  =============================================================  ===========
level  directives                                                       sub-units
=====  =============================================================  ===========
0      ``T(m,m) K; T(n,n) N; T(e,e) Y'; T(q·r,q·r) C`` (GLB loops)     1 (array)
1      ``S(p,p) K`` — PE sets on different filters                     t
2      ``S(q,q) C`` — PE sets on different channels                    r
3      ``S(1,1) Y'`` — the e output rows of a PE set                   e
4      ``S(1,1) R; T(1,1) X'`` — filter rows; each PE slides the row   R (PEs)
=====  =============================================================  ===========

So the array uses t·r·e·R PEs (Table III's active PEs) and the level-0 loop order keeps the
partial sums of ``m`` channels × ``e`` rows × ``n`` images resident in the global buffer while
the channels (C) advance, as the paper describes. The same function serves every layer; only the
Table III numbers change. With n = 1 the N map is left out (images then run one after the
other, the same thing), so the list is also valid MAESTRO input for the ``maestro`` analysis;
with n > 1 only the ``native`` analysis (its ``reuse`` loop nest) can cost it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware_db.dataflow import Dataflow, Directive


@dataclass(frozen=True)
class RowStationaryParams:
    """Table III's mapping parameters of one layer (all >= 1)."""

    m: int  # ofmap channels per processing-pass group (held in the global buffer)
    n: int  # images per processing pass
    e: int  # output rows per PE set (PE-set width)
    p: int  # filters per PE
    q: int  # channels per PE
    r: int  # PE sets on different channels
    t: int  # PE sets on different filters


def row_stationary(filter_rows: int, params: RowStationaryParams, name: str = "") -> Dataflow:
    """The directive list of one layer with R = ``filter_rows`` under ``params`` (table above)."""
    for field, value in vars(params).items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"row-stationary parameter {field} = {value!r}: integers >= 1")
    if not isinstance(filter_rows, int) or filter_rows < 1:
        raise ValueError(f"filter_rows = {filter_rows!r}: integers >= 1")
    m, n, e, p, q, r, t = (params.m, params.n, params.e, params.p, params.q, params.r, params.t)

    def tm(size: int, dim: str) -> Directive:
        return Directive("T", size, size, dim)

    def sp(size: int, dim: str) -> Directive:
        return Directive("S", size, size, dim)

    batch = (tm(n, "N"),) if n > 1 else ()  # MAESTRO's format (and `maestro`) cannot map N
    directives = (
        tm(m, "K"), *batch, tm(e, "Y'"), tm(q * r, "C"), Directive("C", t),
        sp(p, "K"), Directive("C", r),
        sp(q, "C"), Directive("C", e),
        sp(1, "Y'"), Directive("C", filter_rows),
        sp(1, "R"), tm(1, "X'"),
    )  # fmt: skip
    label = name or f"RS-v1-R{filter_rows}-m{m}n{n}e{e}p{p}q{q}r{r}t{t}"
    return Dataflow(label, directives)


def active_pes(filter_rows: int, params: RowStationaryParams) -> int:
    """PEs the mapping uses: t·r PE sets of R × e PEs."""
    return params.t * params.r * params.e * filter_rows
