"""The config's documentation, generated from its schema (config.py): the commented example
config (config/eagle3-monitor.example.yaml) and the reference page (docs/config.md). Each
field's description, type, bounds and default come from the pydantic model, so a new key is
documented by describing it once, where it is defined; a test keeps the committed files equal to
what this module writes. Regenerate with `make config-docs`."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from eagle3_monitor.config import MonitorConfig
from eagle3_monitor.config_errors import Bounds, bounds_of, without_none

WIDTH = 96
EXAMPLE_PATH = "config/eagle3-monitor.example.yaml"
MARKDOWN_PATH = "docs/config.md"
REGENERATE = "make config-docs"
MAX_INLINE_EXAMPLE = 60

YAML_HEADER = f"""\
# eagle3-monitor configuration: every key with its meaning, type and default. Every key is
# optional; the values shown are the defaults, except those marked "example".
#
# Check a config with:  eagle3-monitor check-config FILE
#   (the schema, every rule against its samples, and that the Slack secrets resolve;
#   `eagle3-monitor rules test --config FILE` checks only the rules' samples)
# Point the tools at it with --config FILE or $EAGLE3_MONITOR_CONFIG; the service reads
# /etc/eagle3-monitor/config.yaml. The reference page is {MARKDOWN_PATH}.
#
# Generated from the schema (daemon/eagle3_monitor/config.py) by `eagle3-monitor config
# example`: edit the descriptions there, then run `{REGENERATE}`.
"""

MARKDOWN_HEADER = f"""\
# Configuration reference

Every key of the config file, by section: its type and bounds, its default and what it does.
Every key is optional. [`{EXAMPLE_PATH}`](../{EXAMPLE_PATH}) says the same as a
commented config file. Check yours with `eagle3-monitor check-config FILE`: every mistake at
once, as `file:line:column`, with the key it probably meant. The tools read `--config FILE`,
else `$EAGLE3_MONITOR_CONFIG`, else `/etc/eagle3-monitor/config.yaml`.

<!-- Generated from daemon/eagle3_monitor/config.py by `eagle3-monitor config example --format
markdown`; edit the descriptions there, then run `{REGENERATE}`. -->
"""


@dataclass(frozen=True)
class Entry:
    """One documented key: where it is, what it is, the value the example shows."""

    path: tuple[str, ...]
    info: FieldInfo
    description: str
    type_text: str
    default: Any
    example: Any  # None when the example shows the default
    section: type[BaseModel] | None  # a nested section's model


def entries(model: type[BaseModel], path: tuple[str, ...] = ()) -> Iterator[Entry]:
    """Every field of `model` and of the sections nested in it, in schema order."""
    for name, info in model.model_fields.items():
        key = (*path, info.alias or name)
        annotation = without_none(info.annotation)
        section = annotation if _is_model(annotation) else None
        yield Entry(
            path=key,
            info=info,
            description=" ".join((info.description or "").split()),
            type_text="section" if section else type_text(info.annotation, info),
            default=_default(info),
            example=info.examples[0] if info.examples else None,
            section=section,
        )
        if section is not None:
            yield from entries(section, key)
        elif get_origin(annotation) is list and _is_model(get_args(annotation)[0]):
            yield from entries(get_args(annotation)[0], (*key, "[]"))


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        return value.model_dump(by_alias=True) if isinstance(value, BaseModel) else value
    return PydanticUndefined  # required


def type_text(annotation: Any, info: FieldInfo | None = None) -> str:
    """`number > 0, ≤ 64`, `one of console, bot, webhook`, `list of strings`, ..."""
    inner = without_none(annotation)
    text = _plain_type(inner)
    bounds = bounds_of(annotation, info)
    if bounds is not None:
        text += _bounds_text(bounds)
    if inner is not annotation:
        text += " or null"
    return text


def _plain_type(annotation: Any) -> str:
    origin, arguments = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _plain_type(arguments[0])
    if origin is Literal:
        return "one of " + ", ".join(str(argument) for argument in arguments)
    if origin is list:
        item = arguments[0] if arguments else Any
        if _is_model(item) or get_origin(item) is dict:
            return "list of mappings"
        return f"list of {_plain_type(item)}s"
    if origin is dict:
        keys, values = arguments
        key_text = _plain_type(keys)
        if get_origin(keys) is Literal:
            key_text = "(" + ", ".join(str(key) for key in get_args(keys)) + ")"
        return f"mapping of {key_text} to {type_text(values)}"
    names = {str: "string", int: "integer", float: "number", bool: "true/false"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds_text(bounds: Bounds) -> str:
    low, low_inclusive, high, high_inclusive, _ = bounds
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {_number(low)}")
    if high is not None:
        parts.append(f"{'≤' if high_inclusive else '<'} {_number(high)}")
    return " " + ", ".join(parts) if parts else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# The example config.


def example_yaml(model: type[BaseModel] = MonitorConfig) -> str:
    """The commented example config: each section and key with its description as a comment,
    its type and bounds, and its default (or, where the schema gives one, an example)."""
    blocks = [YAML_HEADER.rstrip("\n")]
    for entry in entries(model):
        if len(entry.path) == 1:
            blocks.append("\n".join(_yaml_entry(entry, model)))
    return "\n\n".join(blocks) + "\n"


def _yaml_entry(entry: Entry, model: type[BaseModel]) -> list[str]:
    indent = "  " * (len(entry.path) - 1)
    lines = _comment(entry.description, indent)
    if entry.section is not None:
        lines.append(f"{indent}{entry.path[-1]}:")
        children = [
            "\n".join(_yaml_entry(child, model))
            for child in entries(entry.section, entry.path)
            if len(child.path) == len(entry.path) + 1
        ]
        return [*lines, "\n\n".join(children)]
    if entry.example is not None:
        lines.append(f"{indent}# ({entry.type_text}; default: {_inline(entry.default)})")
        lines.extend(_value_lines(entry.path[-1], entry.example, indent, "  # example"))
    else:
        lines.append(f"{indent}# ({entry.type_text})")
        lines.extend(_value_lines(entry.path[-1], entry.default, indent, ""))
    return lines


def _comment(text: str, indent: str) -> list[str]:
    if not text:
        return []
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=f"{indent}# ",
        subsequent_indent=f"{indent}# ",
        break_on_hyphens=False,
        break_long_words=False,
    )


def _value_lines(key: str, value: Any, indent: str, note: str) -> list[str]:
    """`key: value` for scalars and flat lists, else `key:` and the value as a block."""
    if not isinstance(value, dict | list) or _flat(value):
        return [f"{indent}{key}: {_inline(value)}{note}"]
    block = yaml.dump(value, Dumper=_Dumper, sort_keys=False, width=WIDTH, allow_unicode=True)
    nested = [f"{indent}  {line}" for line in block.rstrip("\n").split("\n")]
    return [f"{indent}{key}:{note}", *nested]


def _flat(value: dict[Any, Any] | list[Any]) -> bool:
    return isinstance(value, list) and all(not isinstance(item, dict | list) for item in value)


def _inline(value: Any) -> str:
    """A value on one line as YAML writes it: `null`, `60`, `'#eagle3-runs'`, `[]`."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = yaml.dump(
        value,
        Dumper=_Dumper,
        default_flow_style=True,
        sort_keys=False,
        width=10**6,
        allow_unicode=True,
    )
    return text.removesuffix("\n...\n").rstrip("\n")


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key; strings plain only when plainly safe, else quoted."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, indentless=False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain = value.replace("_", "").replace("-", "").replace(".", "").replace("/", "").isalnum()
    style = None if plain and yaml.safe_load(value) == value else "'"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    if value.is_integer():
        return dumper.represent_int(int(value))
    return dumper.represent_float(value)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(float, _represent_float)


# The reference page.


def config_markdown(model: type[BaseModel] = MonitorConfig) -> str:
    """docs/config.md: per section, its description and a table of its keys."""
    parts = [MARKDOWN_HEADER]
    rows: list[str] = []
    for entry in entries(model):
        if len(entry.path) == 1:
            _flush(parts, rows)
            parts.append(f"## `{entry.path[0]}`\n\n{entry.description}\n")
            rows = ["| key | type | default | description |", "|---|---|---|---|"]
        elif entry.section is None:
            rows.append(_markdown_row(entry))
    _flush(parts, rows)
    return "\n".join(parts)


def _flush(parts: list[str], rows: list[str]) -> None:
    if len(rows) > 2:
        parts.append("\n".join(rows) + "\n")


def _markdown_row(entry: Entry) -> str:
    key = ".".join(entry.path[1:]).replace(".[]", "[]")
    if entry.default is PydanticUndefined:
        default = "(required)"
    else:
        default = f"`{_cell(_inline(entry.default))}`"
    description = entry.description
    if entry.example is not None:
        example = _inline(entry.example)
        shown = (
            f"`{_cell(example)}`" if len(example) <= MAX_INLINE_EXAMPLE else f"in `{EXAMPLE_PATH}`"
        )
        description += f" Example: {shown}."
    return f"| `{key}` | {_cell(entry.type_text)} | {default} | {_cell(description)} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
