"""Names a user types: "did you mean" hints for unknown names, and short labels for specs.

Every lookup of a user-typed name (model, scenario, policy, system, accelerator, dataflow,
analysis, energy preset, metric) that fails raises :class:`~rtmm.errors.UnknownNameError` through
:func:`unknown_name`, so the message always carries the closest known names. Matching is
case-insensitive and ignores ``-``/``_`` differences, because those are the typos people make
(``VR-gaming`` for ``vr_gaming``).

:func:`spec_label` turns what a user passed (a library name or a file path) into the name used in
output file names, titles and tables: a library name stays as it is, a file path becomes its stem
(``specs/my-npu.yaml`` → ``my-npu``), so no output is called ``uxcost_my-npu.yaml.png``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

from rtmm.errors import UnknownNameError

#: File suffixes that make a spec string a path (stripped by :func:`spec_label`).
SPEC_SUFFIXES = (".yaml", ".yml", ".m", ".csv", ".onnx", ".json", ".sqlite")


def _folded(word: str) -> str:
    return word.lower().replace("-", "_")


def close_matches(word: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` known names closest to ``word`` (case- and ``-``/``_``-insensitive)."""
    known = list(dict.fromkeys(str(c) for c in choices))
    by_folded: dict[str, str] = {}
    for choice in known:
        by_folded.setdefault(_folded(choice), choice)
    exact = by_folded.get(_folded(word))
    if exact is not None:
        return [exact]
    folded = difflib.get_close_matches(_folded(word), list(by_folded), n=n, cutoff=0.5)
    return [by_folded[f] for f in folded]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the closest known name, or ``""`` when none is close."""
    close = close_matches(word, choices, n=2)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


def unknown_name(
    what: str,
    word: str,
    choices: Iterable[str],
    *,
    source: str | os.PathLike | None = None,
    field: str | None = None,
    extra: str = "",
) -> UnknownNameError:
    """The error for an unknown ``what`` called ``word``: hint, then every allowed name."""
    known = list(dict.fromkeys(str(c) for c in choices))
    allowed = ", ".join(known) + (f" {extra}" if extra else "")
    return UnknownNameError(
        f"unknown {what} '{word}'{did_you_mean(word, known)}",
        source=source,
        field=field,
        allowed=allowed or None,
    )


def spec_label(spec: object) -> str:
    """The name to show for a spec: a spec object's ``name``, a file path's stem, else the text."""
    name = getattr(spec, "name", None)
    if isinstance(name, str) and name and not isinstance(spec, os.PathLike):
        return name
    text = os.fspath(spec) if isinstance(spec, str | os.PathLike) else str(spec)
    path = Path(text)
    if isinstance(spec, os.PathLike) or path.suffix.lower() in SPEC_SUFFIXES or os.sep in text:
        return path.stem if path.suffix.lower() in SPEC_SUFFIXES else path.name
    return text
