"""The project's error types: one base class, one line per message.

Every error a user can cause (a malformed file, an unknown name, a bad CLI argument) is raised as
a subclass of :class:`RtmmError`. Its message is a single line naming the source (file, and line or
field where known), what is wrong and what is allowed. The CLI prints ``str(err)`` and exits
with code 2.
"""

from __future__ import annotations

from os import PathLike


class RtmmError(Exception):
    """Base class of every error rtmm raises on bad input.

    ``source`` is the file (or ``"<cli>"``, ``"<api>"``), ``field`` the key path or line inside it,
    ``allowed`` what would have been accepted. The rendered message is always one line.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | PathLike | None = None,
        field: str | None = None,
        allowed: str | None = None,
    ) -> None:
        self.message = message
        self.source = None if source is None else str(source)
        self.field = field
        self.allowed = allowed
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        if self.source:
            parts.append(_clip(self.source, 300))
        if self.field:
            parts.append(_clip(self.field, 200))
        message = _clip(self.message, 600)
        text = ": ".join(parts + [message]) if parts else message
        if self.allowed:
            text += f" (allowed: {_clip(self.allowed, 1500)})"
        return " ".join(text.split())  # one line, always


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (a value quoted in a message may be huge, e.g. a YAML
    list built from aliases; the message stays a readable line)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"


class SpecError(RtmmError):
    """A data file (hardware, model, scenario, sweep spec, cost table) is malformed or invalid."""


class UnknownNameError(RtmmError):
    """A name (system, accelerator, model, scenario, policy, dataflow) is not in the library."""


class CostModelError(RtmmError):
    """A layer or dataflow cannot be analysed (e.g. a directive list maps a dimension twice)."""


class SimulationError(RtmmError):
    """A simulation was configured inconsistently (e.g. a cost table lacks a model's layers)."""
