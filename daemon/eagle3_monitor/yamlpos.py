"""YAML loading that remembers where every value came from, for file:line:column errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eagle3_monitor.errors import ConfigError, UnusableInputError
from eagle3_monitor.safe_read import read_small_text
from eagle3_monitor.yaml_errors import describe_marked_error, describe_reader_error

KeyPath = tuple[str | int, ...]
MAX_YAML_BYTES = 4 << 20
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 64
_COMPOSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser where built


@dataclass
class LocatedDocument:
    """Plain Python data plus the source position of each key path."""

    data: Any
    source: str
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    scalars: dict[KeyPath, str] = field(default_factory=dict)  # each scalar's text as written
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)  # where each key is written
    nodes: int = 0  # values built so far (aliases count each time they are expanded)
    problems: list[str] = field(default_factory=list)  # e.g. duplicate keys, all of them

    def where(self, path: Sequence[str | int]) -> str:
        """`file:line:col` of the deepest known prefix of `path`."""
        key = tuple(path)
        while key and key not in self.positions:
            key = key[:-1]
        line, column = self.positions.get(key, (1, 1))
        return f"{self.source}:{line}:{column}"

    def where_key(self, path: Sequence[str | int]) -> str:
        """`file:line:col` of the key itself (not its value), e.g. a misspelt key."""
        if tuple(path) in self.keys:
            line, column = self.keys[tuple(path)]
            return f"{self.source}:{line}:{column}"
        return self.where(path)


def format_key_path(path: Sequence[str | int]) -> str:
    """`review.rules[3].regex` for ('review', 'rules', 3, 'regex')."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def load_located(path: Path, *, strict: bool = True) -> LocatedDocument:
    """Parse a YAML file (opened safely: never a FIFO, at most MAX_YAML_BYTES); syntax errors
    and oversized documents become one ConfigError with file:line:column. See parse_located
    for `strict`."""
    try:
        text = read_small_text(path, MAX_YAML_BYTES)
    except UnusableInputError as error:
        raise ConfigError(str(error)) from None
    return parse_located(text, str(path), strict=strict)


def parse_located(text: str, source: str, *, strict: bool = True) -> LocatedDocument:
    """Parse YAML text. Aliases are expanded at most MAX_YAML_NODES nodes and nesting at most
    MAX_YAML_DEPTH levels deep, so an alias bomb or a 900-level document is a one-line error.
    A syntax error is one line in plain words with the offending line shown. A key written
    twice in one mapping is a problem naming both places: raised with every other such
    problem when `strict`, else left in `document.problems` for the caller to report with
    its own (the last value is kept, as PyYAML does)."""
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as error:
        problem = describe_marked_error(error, text)
        raise ConfigError(f"{source}:{problem.line}:{problem.column}: {problem.message}") from None
    except yaml.reader.ReaderError as error:
        problem = describe_reader_error(error, text)
        raise ConfigError(f"{source}:{problem.line}:{problem.column}: {problem.message}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: invalid YAML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a config") from None
    document = LocatedDocument(data=None, source=source)
    if node is not None:
        loader = yaml.SafeLoader("")
        try:
            document.data = _construct(node, (), document, loader)
        finally:
            loader.dispose()
    if strict and document.problems:
        raise ConfigError("\n".join(document.problems))
    return document


def _note_duplicate(document: LocatedDocument, path: KeyPath, again: tuple[int, int]) -> None:
    first_line, first_column = document.keys[path]
    document.problems.append(
        f"{document.source}:{again[0]}:{again[1]}: at '{format_key_path(path)}': key "
        f"'{path[-1]}' is written twice in one mapping (first at line {first_line}, column "
        f"{first_column}); keep one"
    )


def _construct(node: yaml.Node, path: KeyPath, document: LocatedDocument, loader: Any) -> Any:
    source = document.source
    document.nodes += 1
    if document.nodes > MAX_YAML_NODES or len(path) > MAX_YAML_DEPTH:
        line = node.start_mark.line + 1
        what = "nested too deeply" if len(path) > MAX_YAML_DEPTH else "too many values (aliases?)"
        raise ConfigError(f"{source}:{line}: {what} to be a config")
    positions = document.positions
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise ConfigError(
                    f"{source}:{line}:{column}: a key must be a plain word, not a list or a "
                    "mapping: write it as `name: value`"
                )
            key = key_node.value
            mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if str(key) in result:
                _note_duplicate(document, (*path, str(key)), mark)
            positions[(*path, key)] = mark
            document.keys[(*path, str(key))] = mark
            result[str(key)] = _construct(value_node, (*path, str(key)), document, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), document, loader)
            for index, item in enumerate(node.value)
        ]
    document.scalars[path] = str(node.value)
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        line, column = positions[path]
        raise ConfigError(f"{source}:{line}:{column}: {_unusable_scalar(node)}") from None


def _unusable_scalar(node: yaml.Node) -> str:
    """Why a tagged value (`!!python/object x`, `!!int x`) cannot be read, in plain words."""
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    if tag.startswith("!!") and tag[2:] in {"int", "float", "bool", "null", "timestamp", "str"}:
        return f"{str(node.value)!r} is not a valid {tag}: fix the value or remove the tag"
    return f"the tag {tag!r} is not allowed here: remove it (a config holds plain values)"
