"""The scenario file's spec models: the type, bounds and doc of each field, stated once.

Imported by :mod:`workloads.scenario` only when a scenario is read or checked, so commands that
never read one (``rtmm models list``) do not load pydantic.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rtmm.limits import MAX_FPS, MIN_FPS
from rtmm.validation import Checker, custom, field_checker, validate

_FROZEN = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
_Id = Annotated[str, Field(strict=True, min_length=1)]


class ScenarioEntrySpec(BaseModel):
    """One entry of a scenario file's ``models`` list (``model`` or ``file`` required)."""

    model_config = _FROZEN

    model: _Id | None = Field(None, description="zoo id, alias or variant; the entry's id")
    file: _Id | None = Field(None, description="model file (.csv/.m/.onnx), relative to the YAML")
    fps: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=MIN_FPS, le=MAX_FPS)] = Field(
        description="input frame rate, frames per second"
    )
    parent: _Id | None = Field(None, description="cascade parent: a model of this scenario")
    probability: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1)] = Field(
        1.0, description="probability that the parent's frame triggers this model's frame"
    )

    @model_validator(mode="after")
    def _model_or_file(self) -> ScenarioEntrySpec:
        if self.model is None and self.file is None:
            raise custom("missing 'model'", "model: ZOO_ID or file: PATH")
        return self


class ScenarioFileSpec(BaseModel):
    """A scenario YAML file."""

    model_config = _FROZEN

    name: _Id | None = Field(None, description="default: the file's stem")
    description: Annotated[str, Field(strict=True)] = ""
    models: list[ScenarioEntrySpec] = Field(min_length=1)


@functools.cache
def _checker(name: str) -> Checker:
    return field_checker(ScenarioEntrySpec, name)


def check_entry_field(name: str, value: Any, *, source: str, prefix: str) -> Any:
    """``value`` checked by field ``name`` of :class:`ScenarioEntrySpec` (one-line error)."""
    return validate(_checker(name), value, source=source, prefix=prefix)


def validate_file(data: Any, *, source: str) -> ScenarioFileSpec:
    """A parsed scenario YAML document checked by :class:`ScenarioFileSpec`."""
    result: ScenarioFileSpec = validate(ScenarioFileSpec, data, source=source)
    return result
