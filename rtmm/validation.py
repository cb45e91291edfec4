"""From pydantic spec models to the project's one-line errors.

Spec files (hardware, scenarios, sweeps) are checked by declarative pydantic models: each field's
type, bounds (``Field(ge=..., le=...)``), enum (``Literal[...]``) and doc are written once, on the
model. This module is the one translator from a :class:`pydantic.ValidationError` to an
:class:`rtmm.errors.SpecError` (or the subclass a custom error asks for) whose message names the
file, the field path (``accelerators[1].noc_top.bw_words_per_cycle``) and the allowed values —
derived from the constraints of the field the error is about, so they are never restated.

Validators that need more than a field's type (a preset lookup, a cross-field rule) raise
:func:`custom` errors, which carry their own message and allowed values, optionally a field path
below the validator's location (``at``) and an error class (``kind``).
"""

from __future__ import annotations

import argparse
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from rtmm.errors import RtmmError, SpecError
from rtmm.names import close_matches

#: The error type of :func:`custom` errors.
CUSTOM = "rtmm"
#: Pydantic error types of a key the model does not have (a misspelling, or not a string).
_UNKNOWN_KEY = ("extra_forbidden", "invalid_key")


def custom(
    message: str,
    allowed: str | None = None,
    *,
    at: Sequence[str | int] = (),
    kind: str = "spec",
) -> PydanticCustomError:
    """An error for a validator to raise: ``message`` and ``allowed`` are shown as written, ``at``
    extends the field path (a model validator reporting one of its fields), ``kind`` picks the
    exception class (a key of the ``classes`` given to :func:`to_rtmm_error`)."""
    ctx = {"message": message, "allowed": allowed, "at": tuple(at), "kind": kind}
    return PydanticCustomError(CUSTOM, "{message}", ctx)


# --------------------------------------------------------------------------------------------
# Field lookup and allowed values


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """(bare type, constraint metadata) of an annotation: ``Annotated`` and ``Optional`` peeled."""
    metadata: list[Any] = []
    while True:
        if get_origin(tp) is Annotated:
            tp, *extra = get_args(tp)
            metadata.extend(extra)
            continue
        if get_origin(tp) in (typing.Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
                continue
        return tp, metadata


def _field_type(info: FieldInfo) -> tuple[Any, list[Any]]:
    tp, metadata = unwrap(info.annotation)
    return tp, [*info.metadata, *metadata, info]


def lookup(model: Any, loc: Sequence[str | int]) -> tuple[Any, list[Any]] | None:
    """The (type, metadata) of the field at ``loc`` below ``model`` (a model or an annotation)."""
    tp, metadata = unwrap(model)
    for key in loc:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(key))
            if info is None:
                return None
            tp, metadata = _field_type(info)
        elif isinstance(key, int) and get_origin(tp) in (list, tuple):
            args = [a for a in get_args(tp) if a is not Ellipsis]
            if not args:
                return None
            tp, metadata = unwrap(args[min(key, len(args) - 1)])
        else:
            return None
    return tp, metadata


def _number(value: float) -> str:
    """``2^40`` / ``2^63 - 1`` for large powers of two (minus one), else the shortest form."""
    if isinstance(value, int) and value >= 2**20 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"
    if isinstance(value, int) and value >= 2**20 and value & (value + 1) == 0:
        return f"2^{value.bit_length()} - 1"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def bounds(metadata: Sequence[Any]) -> dict[str, Any]:
    """The numeric bounds (``ge``, ``gt``, ``le``, ``lt``, ``min_length``) stated on a field."""
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            for key, value in bounds(item.metadata).items():
                out.setdefault(key, value)
            continue
        for name in ("ge", "gt", "le", "lt", "min_length"):
            value = getattr(item, name, None)
            if value is not None and isinstance(item, annotated_types.BaseMetadata):
                out.setdefault(name, value)
    return out


def _extra(metadata: Sequence[Any], key: str) -> Any:
    for item in metadata:
        extra = getattr(item, "json_schema_extra", None)
        if isinstance(extra, Mapping) and key in extra:
            return extra[key]
    return None


def allowed_values(tp: Any, metadata: Sequence[Any]) -> str | None:
    """What a field accepts, in words, from its type and constraints."""
    stated = _extra(metadata, "allowed")
    if stated is not None:
        return str(stated)
    if get_origin(tp) is Literal:
        return ", ".join(map(str, get_args(tp)))
    if tp is bool:
        return "true, false"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "a mapping with keys " + ", ".join(tp.model_fields)
    b = bounds(metadata)
    if get_origin(tp) is list or tp is list:
        return "a non-empty list" if b.get("min_length") else "a list"
    if tp is str:
        return "non-empty text" if b.get("min_length") else "text"
    noun = {int: "integers", float: "numbers"}.get(tp)
    if noun is None:
        return None
    low = ("ge", b["ge"]) if "ge" in b else ("gt", b["gt"]) if "gt" in b else None
    high = ("le", b["le"]) if "le" in b else ("lt", b["lt"]) if "lt" in b else None
    if low and high and low[0] == "ge" and high[0] == "le":
        return f"{noun} from {_number(low[1])} to {_number(high[1])}"
    symbol = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    parts = [f"{symbol[b[0]]} {_number(b[1])}" for b in (low, high) if b is not None]
    if tp is float and not parts:
        return "finite numbers"
    return f"{noun} {' and '.join(parts)}" if parts else noun


# --------------------------------------------------------------------------------------------
# Messages


def hint_for(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'X'?)`` for the one closest choice, or ``""``."""
    close = close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def describe(value: Any) -> str:
    """``type repr`` of a value, cut to 40 characters."""
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _numeric_hint(value: Any) -> str:
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return " (YAML reads this as text; write e.g. 1.0e+9 or 1000000000)"
    return ""


def path_text(loc: Sequence[Any], prefix: str = "") -> str:
    """``accelerators[1].noc_top`` from a location tuple (``prefix`` is prepended)."""
    text = prefix
    for key in loc:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            text = f"{text}.{key}" if text else str(key)
    return text


def _fields_of(model: Any, loc: Sequence[Any]) -> tuple[list[str], list[str]]:
    """(all keys, required keys) of the mapping at ``loc``."""
    found = lookup(model, loc)
    tp = found[0] if found else None
    if not (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return [], []
    keys = list(tp.model_fields)
    return keys, [k for k, f in tp.model_fields.items() if f.is_required()]


def _compare(kind: str, ctx: Mapping[str, Any]) -> str:
    op, key = {
        "greater_than_equal": (">=", "ge"),
        "greater_than": (">", "gt"),
        "less_than_equal": ("<=", "le"),
        "less_than": ("<", "lt"),
    }[kind]
    return f"must be {op} {_number(ctx[key])}"


def _message(err: Mapping[str, Any], model: Any) -> tuple[str, tuple[Any, ...], str | None]:
    """(message, location, allowed) of one pydantic error."""
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    ctx = err.get("ctx") or {}
    found = lookup(model, loc)
    allowed = allowed_values(*found) if found else None
    if kind == CUSTOM:
        return ctx["message"], loc + tuple(ctx.get("at", ())), ctx.get("allowed")
    if kind == "missing":
        _, required = _fields_of(model, loc[:-1])
        return f"missing field '{loc[-1]}'", loc[:-1], "required: " + ", ".join(required)
    if kind in _UNKNOWN_KEY:
        keys, _ = _fields_of(model, loc[:-1])
        hint = hint_for(str(loc[-1]), keys)
        return f"unknown key '{loc[-1]}'{hint}", loc[:-1], ", ".join(keys)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        what = "empty" if value is None else describe(value)
        return f"expected a mapping, got {what}", loc, allowed
    if found and _extra(found[1], "pattern_name"):
        return f"invalid {_extra(found[1], 'pattern_name')} {describe(value)}", loc, allowed
    if kind in ("int_type", "int_parsing", "int_from_float"):
        if isinstance(value, float) and not math.isfinite(value):
            return f"must be a finite integer, got {value}", loc, allowed
        return f"must be an integer, got {describe(value)}{_numeric_hint(value)}", loc, allowed
    if kind in ("float_type", "float_parsing"):
        if isinstance(value, int) and not isinstance(value, bool):
            return f"too large ({len(str(value))} digits)", loc, allowed
        return f"must be a number, got {describe(value)}{_numeric_hint(value)}", loc, allowed
    if kind == "finite_number":
        return f"must be a finite number, got {value}", loc, allowed
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, got {describe(value)}", loc, allowed
    if kind == "string_type":
        return f"expected text, got {describe(value)}", loc, allowed
    if kind == "string_too_short":
        return f"expected non-empty text, got {describe(value)}", loc, allowed
    if kind in ("list_type", "tuple_type", "too_short", "too_long"):
        min_length = bounds(found[1]).get("min_length") if found else None
        what = "a non-empty list" if min_length else "a list"
        return f"expected {what}, got {describe(value)}", loc, allowed
    if kind == "literal_error":
        hint = hint_for(str(value), map(str, get_args(found[0]))) if found else ""
        return f"unknown value {value!r}{hint}", loc, allowed
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        if isinstance(value, int) and len(str(value)) > 20:
            return f"too large ({len(str(value))} digits)", loc, allowed
        return f"{_compare(kind, ctx)}, got {value}", loc, allowed
    return err["msg"], loc, allowed


def to_rtmm_error(
    exc: ValidationError,
    model: Any,
    *,
    source: str,
    prefix: str = "",
    classes: Mapping[str, type[RtmmError]] | None = None,
    within: tuple[str | int, ...] = (),
) -> RtmmError:
    """The one-line error for the first problem ``exc`` reports (``model``: what was validated;
    ``within``: where in ``model`` the validated value sits, for looking up its constraints)."""
    errors = exc.errors(include_url=False)
    # A misspelt key also leaves its field missing: name the misspelling (with a hint) first.
    first = next((e for e in errors if e["type"] in _UNKNOWN_KEY), errors[0])
    err: dict[str, Any] = {**first, "loc": within + tuple(first["loc"])}
    message, loc, allowed = _message(err, model)
    loc = loc[len(within) :]
    ctx: Mapping[str, Any] = first.get("ctx") or {}
    kind = ctx.get("kind", "spec") if first["type"] == CUSTOM else "spec"
    cls = (classes or {}).get(kind, SpecError)
    return cls(message, source=source, field=path_text(loc, prefix) or None, allowed=allowed)


@dataclass(frozen=True)
class Checker:
    """A validator for one field of a model alone (e.g. the values of a sweep axis)."""

    model: type[BaseModel]
    name: str
    adapter: TypeAdapter


def field_checker(model: type[BaseModel], name: str) -> Checker:
    """A :class:`Checker` of one field of ``model`` (its type, bounds and validators)."""
    info = model.model_fields[name]
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return Checker(model, name, TypeAdapter(annotation))


def validate(
    target: type[BaseModel] | Checker,
    value: Any,
    *,
    source: str,
    prefix: str = "",
    classes: Mapping[str, type[RtmmError]] | None = None,
) -> Any:
    """``value`` validated by ``target`` (a pydantic model class or a :class:`Checker`), any
    problem raised as a one-line :class:`SpecError` (see :func:`to_rtmm_error`)."""
    try:
        if isinstance(target, Checker):
            return target.adapter.validate_python(value)
        return target.model_validate(value)
    except ValidationError as exc:
        if isinstance(target, Checker):
            raise to_rtmm_error(
                exc, target.model, source=source, prefix=prefix, classes=classes,
                within=(target.name,),
            ) from None  # fmt: skip
        raise to_rtmm_error(exc, target, source=source, prefix=prefix, classes=classes) from None


# --------------------------------------------------------------------------------------------
# Command-line flags that set a model field


def flag_help(model: type[BaseModel], name: str, text: str) -> str:
    """A flag's help: ``text`` and the field's allowed values (from its constraints)."""
    found = lookup(model, (name,))
    allowed = allowed_values(*found) if found else None
    return f"{text} ({allowed})" if allowed else text


def flag_type(model: type[BaseModel], name: str) -> Callable[[str], Any]:
    """An argparse ``type=`` for a flag that sets field ``name`` of ``model``: the text is read
    as the field's number type and checked by the field's constraints; a bad value is an
    ``argparse.ArgumentTypeError`` whose one line says what is allowed."""
    found = lookup(model, (name,))
    parse: Callable[[str], Any] = found[0] if found and found[0] in (int, float) else str
    check = field_checker(model, name)

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            allowed = allowed_values(*found) if found else None
            suffix = f" (allowed: {allowed})" if allowed else ""
            noun = "an integer" if parse is int else "a number"
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not {noun}{suffix}") from None
        try:
            return validate(check, value, source="")
        except RtmmError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert
