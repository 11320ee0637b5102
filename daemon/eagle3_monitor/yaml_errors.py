"""YAML syntax errors in words a person can act on: what is wrong, what to change, and the
offending line as written. PyYAML's own messages (`expected <block end>, but found '<block
mapping start>'`, libyaml's `did not find expected key`) name parser states, not mistakes."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

MAX_SHOWN_LINE = 120


@dataclass(frozen=True)
class SyntaxProblem:
    line: int  # 1-based
    column: int  # 1-based
    message: str


def describe_marked_error(error: yaml.MarkedYAMLError, text: str) -> SyntaxProblem:
    """The mistake behind a PyYAML or libyaml error, at the place to change."""
    lines = text.splitlines() or [""]
    problem = error.problem or ""
    context = error.context or ""
    mark = error.problem_mark or error.context_mark
    at = (mark.line, mark.column) if mark else (0, 0)
    opened = (error.context_mark.line, error.context_mark.column) if error.context_mark else at
    for matcher in _MATCHERS:
        found = matcher(problem, context, lines, at, opened)
        if found is not None:
            (line, column), message = found
            return SyntaxProblem(line + 1, column + 1, _with_line(message, lines, line))
    detail = f"{problem} ({context})" if context else problem
    return SyntaxProblem(at[0] + 1, at[1] + 1, _with_line(f"invalid YAML: {detail}", lines, at[0]))


def describe_reader_error(error: yaml.reader.ReaderError, text: str) -> SyntaxProblem:
    """A character YAML does not allow (a control character, a lone surrogate)."""
    before = text[: error.position]
    line, column = before.count("\n"), error.position - (before.rfind("\n") + 1)
    lines = text.splitlines() or [""]
    character = error.character if isinstance(error.character, int) else ord(error.character)
    message = (
        f"a character YAML does not allow (U+{character:04X}, a control character?): "
        "delete it or retype the line"
    )
    return SyntaxProblem(line + 1, column + 1, _with_line(message, lines, line))


Position = tuple[int, int]  # 0-based line, column
Found = tuple[Position, str] | None


def _block_mapping(
    problem: str, context: str, lines: list[str], at: Position, opened: Position
) -> Found:
    if "block mapping" not in context or not (
        "expected key" in problem or "<block end>" in problem
    ):
        return None
    text = _line(lines, at[0])
    if "'-'" in problem or text[at[1] : at[1] + 1] == "-":
        return at, (
            "a list item ('- ...') where a key was expected: put it under a key that holds a "
            "list, indented below that key"
        )
    above = _indent_above(lines, at[0])
    if opened[1] < at[1] < above:
        return at, (
            f"bad indentation: this line is indented between levels (the keys above are at "
            f"columns {opened[1] + 1} and {above + 1}); line it up with one of them"
        )
    if at[1] > opened[1]:
        return at, (
            f"bad indentation: this line is indented more than the keys above it (column "
            f"{opened[1] + 1}, line {opened[0] + 1}); line it up with them, or end the line "
            "above with ':' to make it a key with nested values"
        )
    if at[1] < opened[1]:
        return at, (
            f"bad indentation: this line is indented less than the keys above it (column "
            f"{opened[1] + 1}, line {opened[0] + 1}); keys of one mapping line up"
        )
    return at, "expected a `key: value` line here"


def _mapping_value(
    problem: str, _context: str, lines: list[str], at: Position, _opened: Position
) -> Found:
    if not problem.startswith("mapping values are not allowed"):
        return None
    before = _line(lines, at[0])[: at[1]]
    if ": " in before or before.rstrip().endswith(":"):
        return at, (
            "a value holding ': ' must be quoted: write it in quotes, e.g. key: 'a: b', or put "
            "the nested key on a line of its own"
        )
    return at, (
        "unexpected ':': is the line above a key missing its ':', or does this value need quotes?"
    )


def _bad_character(
    problem: str, _context: str, lines: list[str], at: Position, _opened: Position
) -> Found:
    if "cannot start any token" not in problem:
        return None
    character = _line(lines, at[0])[at[1] : at[1] + 1]
    if character == "\t":
        return at, "a tab character: YAML indents with spaces only; replace the tab with spaces"
    if character in {"@", "`"}:
        return at, (
            f"a value cannot start with '{character}' (reserved in YAML): put the value in "
            f"quotes, e.g. '{character}...'"
        )
    return at, f"'{character}' cannot start a value here: put the value in quotes"


def _unclosed_quote(
    problem: str, context: str, lines: list[str], _at: Position, opened: Position
) -> Found:
    if "quoted scalar" not in context:
        return None
    if "escape" in problem:
        text = _line(lines, _at[0])
        start = text.rfind("\\", 0, _at[1] + 1)
        escape = text[start : start + 2]
        return (_at[0], max(start, 0)), (
            f"unknown escape '{escape}' in a double-quoted string: use single quotes for regexes "
            "and paths (backslashes stay as written), or write the backslash twice"
        )
    quote = _line(lines, opened[0])[opened[1] : opened[1] + 1] or "quote"
    return opened, f"the {quote} opened here is never closed: add the closing {quote}"


def _unclosed_flow(
    problem: str, context: str, lines: list[str], at: Position, opened: Position
) -> Found:
    kind = re.search(r"flow (sequence|mapping)", context)
    if kind is None:
        return None
    close = "]" if kind.group(1) == "sequence" else "}"
    start = "[" if close == "]" else "{"
    return opened, (
        f"the '{start}' opened here is not closed before line {at[0] + 1}, column {at[1] + 1}: "
        f"add '{close}' (and ',' between items)"
    )


def _anchors(problem: str, context: str, lines: list[str], at: Position, opened: Position) -> Found:
    if "duplicate anchor" in context:
        name = _name_at(lines, at, "&")
        return at, (
            f"anchor &{name} is defined twice (first at line {opened[0] + 1}, column "
            f"{opened[1] + 1}): give this one another name"
        )
    if "undefined alias" in problem:
        name = _name_at(lines, at, "*")
        return at, (
            f"alias *{name} names no anchor defined above it: define &{name} first, or quote "
            "the value if '*' is meant literally"
        )
    return None


def _documents(
    problem: str, context: str, lines: list[str], at: Position, opened: Position
) -> Found:
    if "another document" in problem:
        return at, "a second YAML document ('---'): a config is one document; remove the line"
    return None


_MATCHERS = (
    _block_mapping,
    _mapping_value,
    _bad_character,
    _unclosed_quote,
    _unclosed_flow,
    _anchors,
    _documents,
)


def _name_at(lines: list[str], at: Position, sigil: str) -> str:
    match = re.match(rf"\{sigil}?([^\s,\[\]{{}}]+)", _line(lines, at[0])[at[1] :])
    return match.group(1) if match else "?"


def _indent_above(lines: list[str], index: int) -> int:
    """The indentation of the nearest non-blank, non-comment line above line `index`."""
    for text in reversed(lines[:index]):
        stripped = text.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            return len(text) - len(stripped)
    return 0


def _line(lines: list[str], index: int) -> str:
    return lines[index] if 0 <= index < len(lines) else ""


def _with_line(message: str, lines: list[str], index: int) -> str:
    """The message and the line it is about, as written (a tab shown as \\t), on one line."""
    text = _line(lines, index)
    if not text.strip():
        return message
    if len(text) > MAX_SHOWN_LINE:
        text = text[:MAX_SHOWN_LINE] + "…"
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return f"{message}; line {index + 1} reads '{shown}'"
