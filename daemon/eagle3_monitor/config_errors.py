"""pydantic's validation errors said the way a person fixes them: an unknown key with the key it
probably meant, a number with the range it must be in and the value as written."""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from eagle3_monitor.yamlpos import LocatedDocument, format_key_path

_NUMBER_ERRORS = {
    "finite_number",
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "int_from_float",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
}


def describe_validation_error(
    error: ValidationError,
    document: LocatedDocument,
    model: type[BaseModel],
    base: tuple[str | int, ...] = (),
) -> list[str]:
    """One line per problem: `file:line:col: at 'key.path': what to change`. `base` is where in
    the document the validated mapping is (a rule inside `review.rules`, say)."""
    lines = []
    for problem in error.errors():
        location = tuple(part for part in problem["loc"] if part != "[key]")
        path = (*base, *location)
        is_key = problem["loc"][-1:] == ("[key]",) or problem["type"] == "extra_forbidden"
        where = document.where_key(path) if is_key else document.where(path)
        written = str(location[-1]) if is_key else document.scalars.get(path)
        message = _message(problem, location, written, model)
        lines.append(f"{where}: at '{format_key_path(path)}': {message}")
    return lines


def _message(
    problem: Any, location: tuple[str | int, ...], written: str | None, model: type[BaseModel]
) -> str:
    """What to change; `written` is the value (or the key) as the file spells it."""
    kind = problem["type"]
    if kind == "extra_forbidden":
        return unknown_key_message(str(location[-1]), keys_of(model, location[:-1]))
    if kind == "missing":
        return f"'{location[-1]}' is required here"
    if kind in {"literal_error", "enum"}:
        return _choice_message(problem, written)
    if kind in _NUMBER_ERRORS:
        bounds = bounds_at(model, location)
        if bounds is not None:
            return number_message(bounds, written, problem["input"])
    return str(problem["msg"])


def unknown_key_message(key: str, known: Sequence[str]) -> str:
    """`unknown key 'lookbak_hours'; did you mean 'lookback_hours'?`, else the keys there are."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?"
    if not known:
        return f"unknown key '{key}'"
    return f"unknown key '{key}'; the keys here are: {', '.join(known)}"


def _choice_message(problem: Any, written: str | None) -> str:
    choices = re.findall(r"'([^']*)'", str(problem.get("ctx", {}).get("expected", "")))
    value = written if written is not None else str(problem["input"])
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    quoted = ", ".join(f"'{choice}'" for choice in choices)
    return f"'{value}' is not one of {quoted}{hint}"


Bounds = tuple[float | None, bool, float | None, bool, bool]  # low, low inclusive, high, ...


def number_message(bounds: Bounds, written: str | None, value: Any) -> str:
    """`must be a number > 0 and ≤ 720 (got .inf)`."""
    low, low_inclusive, high, high_inclusive, whole = bounds
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {_number(low)}")
    if high is not None:
        parts.append(f"{'≤' if high_inclusive else '<'} {_number(high)}")
    kind = "a whole number" if whole else "a number"
    shown = written if written is not None else repr(value)
    return f"must be {kind} {' and '.join(parts)} (got {shown})".replace("  ", " ")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def keys_of(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The keys the mapping at `path` may hold (its model's fields, by the name written)."""
    target = _annotation_at(model, path)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [info.alias or name for name, info in target.model_fields.items()]
    return []


def bounds_at(model: type[BaseModel], path: Sequence[str | int]) -> Bounds | None:
    """The numeric bounds of the field at `path`, or None when it is not a number."""
    parent = _annotation_at(model, path[:-1])
    info: FieldInfo | None = None
    annotation: Any = None
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        info = _field(parent, path[-1])
        annotation = info.annotation if info else None
    else:
        annotation = _value_type(parent)
    return bounds_of(annotation, info)


def _annotation_at(model: type[BaseModel], path: Sequence[str | int]) -> Any:
    """The type of the value at `path`: a model class, or an annotation like list[str]."""
    current: Any = model
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = _field(current, part)
            if info is None:
                return None
            current = info.annotation
        else:
            current = _value_type(current)
        current = without_none(current)
    return current


def _field(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in {name, info.alias}:
            return info
    return None


def _value_type(annotation: Any) -> Any:
    """The type of a list's items or a dict's values."""
    arguments = get_args(without_none(annotation))
    if get_origin(without_none(annotation)) in {list, tuple} and arguments:
        return arguments[0]
    if get_origin(without_none(annotation)) is dict and len(arguments) == 2:
        return arguments[1]
    return None


def without_none(annotation: Any) -> Any:
    if get_origin(annotation) in {Union, types.UnionType}:
        rest = [argument for argument in get_args(annotation) if argument is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def bounds_of(annotation: Any, info: FieldInfo | None = None) -> Bounds | None:
    """(low, low inclusive, high, high inclusive, whole) of a numeric annotation (its own
    constraints and the field's), or None when it is not a number."""
    metadata: list[Any] = list(info.metadata) if info else []
    if get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
    annotation = without_none(annotation)
    if annotation not in {int, float}:
        return None
    low: float | None = None
    high: float | None = None
    low_inclusive = high_inclusive = True
    for item in metadata:
        if isinstance(item, annotated_types.Gt | annotated_types.Ge):
            bound: Any = item.gt if isinstance(item, annotated_types.Gt) else item.ge
            low = float(bound)
            low_inclusive = isinstance(item, annotated_types.Ge)
        elif isinstance(item, annotated_types.Lt | annotated_types.Le):
            bound = item.lt if isinstance(item, annotated_types.Lt) else item.le
            high = float(bound)
            high_inclusive = isinstance(item, annotated_types.Le)
    return (low, low_inclusive, high, high_inclusive, annotation is int)
