"""Load, merge, validate and compile the rule catalog.

The built-in catalog (catalog.yaml, shipped in the package) is merged with rules from the user's
config: a user rule with a known id overrides just the fields it names (`enabled: false` turns a
rule off); a new id adds a rule. Every problem in every file is reported at once, each as
`file:line:column: at 'path': message`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import re2
from pydantic import ValidationError

from eagle3_monitor.config_errors import describe_validation_error
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.rules.engine import best_engine
from eagle3_monitor.rules.model import CatalogFile, Rule, RuleKind
from eagle3_monitor.rules.regex_tail import without_tail
from eagle3_monitor.yamlpos import KeyPath, LocatedDocument, format_key_path, parse_located

BUILTIN_CATALOG = "catalog.yaml"
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?P<[A-Za-z_][A-Za-z0-9_]*>")
_OPTIONAL_PART = re.compile(r"\[([^\[\]]*)\]")


def re2_options() -> Any:
    """Byte-oriented matching (logs are not always UTF-8), no logging of bad patterns."""
    options = re2.Options()
    options.log_errors = False
    options.encoding = re2.Options.Encoding.LATIN1
    options.max_mem = 64 << 20
    return options


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    pattern: Any  # re2 compiled pattern over bytes

    @property
    def id(self) -> str:
        return self.rule.id

    def groups(self, line: bytes) -> dict[str, str]:
        """Named groups of the first match in `line`; unmatched groups are left out."""
        match = self.pattern.search(line)
        if match is None:
            return {}
        return {
            name.decode(): value.decode("utf-8", "replace")
            for name, value in match.groupdict().items()
            if value is not None
        }

    def summary(self, groups: dict[str, str]) -> str:
        return render_template(self.rule.summary, groups)


def render_template(template: str, groups: dict[str, str]) -> str:
    """Fill `{name}` from groups; a `[...]` part is dropped when one of its names is missing."""

    def fill(text: str) -> str | None:
        names = re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text)
        if any(not groups.get(name) for name in names):
            return None
        return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: groups[m.group(1)], text)

    def optional(match: re.Match[str]) -> str:
        return fill(match.group(1)) or ""

    with_optionals = _OPTIONAL_PART.sub(optional, template)
    filled = fill(with_optionals)
    if filled is None:
        filled = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "?", with_optionals)
    return " ".join(filled.split())


def scan_form(regex: str, *, cut_tail: bool = True) -> str:
    """The pattern as used in the one-pass scan over whole chunks.

    Lines end at `\\n` and at `\\r` (progress bars), so every `^` and `$` outside a character
    class also matches next to a `\\r` (`(?:^|\\r)`, `(?:$|\\r)`), wherever it stands in the
    pattern. Named groups become plain groups: the scan only finds candidate lines, so the
    tail that only lengthens a match is cut too (`regex_tail.without_tail`).
    """
    pattern = _NAMED_GROUP.sub("(?:", regex)
    out: list[str] = []
    position, in_class = 0, False
    while position < len(pattern):
        character = pattern[position]
        if character == "\\":
            out.append(pattern[position : position + 2])
            position += 2
            continue
        if in_class:
            in_class = character != "]" or _class_opened_at(pattern, position)
        elif character == "[":
            in_class = True
        elif character == "^":
            character = r"(?:^|\r)"
        elif character == "$":
            character = r"(?:$|\r)"
        out.append(character)
        position += 1
    return without_tail("".join(out)) if cut_tail else "".join(out)


def _class_opened_at(pattern: str, position: int) -> bool:
    """A `]` right after `[` or `[^` is a literal, not the end of the class."""
    before = pattern[:position]
    return before.endswith("[") or before.endswith("[^")


@dataclass
class Catalog:
    """Compiled rules plus the combined matchers used by the scanner."""

    rules: list[CompiledRule]
    by_id: dict[str, CompiledRule] = field(init=False)
    scan_rules: list[CompiledRule] = field(init=False)
    benign_rules: list[CompiledRule] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {compiled.id: compiled for compiled in self.rules}
        self.scan_rules = [c for c in self.rules if c.rule.kind is not RuleKind.BENIGN]
        self.benign_rules = [c for c in self.rules if c.rule.kind is RuleKind.BENIGN]
        self.benign_set = _compile_set(c.rule.regex for c in self.benign_rules)
        self.engine = best_engine(self.scan_patterns(), re2_options())

    def scan_patterns(self) -> list[str]:
        """One regex per scanning rule, as the single pass over the log uses them."""
        return [scan_form(c.rule.regex) for c in self.scan_rules]

    def is_benign(self, line: bytes) -> bool:
        return bool(self.benign_rules) and bool(self.benign_set.Match(line))


def _compile_set(patterns: Iterable[str]) -> Any:
    rule_set = re2.Set.SearchSet(re2_options())
    for pattern in patterns:
        rule_set.Add(pattern.encode())
    rule_set.Compile()
    return rule_set


@dataclass(frozen=True)
class RuleSource:
    """A rule's fields as written, with the document and path they came from."""

    fields: dict[str, Any]
    document: LocatedDocument
    path: KeyPath


def builtin_catalog_document() -> LocatedDocument:
    text = resources.files("eagle3_monitor.rules").joinpath(BUILTIN_CATALOG).read_text("utf-8")
    return parse_located(text, f"<builtin>/{BUILTIN_CATALOG}")


def load_catalog(overrides: Sequence[RuleSource] = ()) -> Catalog:
    """The built-in catalog merged with user rules. Raises ConfigError listing every problem."""
    document = builtin_catalog_document()
    problems: list[str] = []
    sources = _builtin_sources(document, problems)
    merged = _merge(sources, overrides, problems)
    compiled = [_compile_rule(source, problems) for source in merged.values()]
    if problems:
        raise ConfigError("\n".join(problems))
    return Catalog([rule for rule in compiled if rule is not None and rule.rule.enabled])


def _builtin_sources(document: LocatedDocument, problems: list[str]) -> list[RuleSource]:
    data = document.data if isinstance(document.data, dict) else {}
    try:
        CatalogFile.model_validate({"schema": data.get("schema"), "rules": []})
    except ValidationError as error:
        problems.extend(_describe(error, document, ()))
    rules = data.get("rules")
    if not isinstance(rules, list):
        problems.append(f"{document.where(('rules',))}: at 'rules': expected a list of rules")
        return []
    return [RuleSource(fields, document, ("rules", index)) for index, fields in enumerate(rules)]


def _merge(
    builtin: list[RuleSource], overrides: Sequence[RuleSource], problems: list[str]
) -> dict[str, RuleSource]:
    merged: dict[str, RuleSource] = {}
    for source in [*builtin, *overrides]:
        if not isinstance(source.fields, dict):
            where = source.document.where(source.path)
            problems.append(f"{where}: at '{format_key_path(source.path)}': expected a mapping")
            continue
        rule_id = source.fields.get("id")
        if not isinstance(rule_id, str):
            where = source.document.where(source.path)
            problems.append(f"{where}: at '{format_key_path(source.path)}': a rule needs an `id`")
            continue
        base = merged.get(rule_id)
        if base is None:
            merged[rule_id] = source
        elif base.document is source.document:
            where = source.document.where(source.path)
            problems.append(f"{where}: duplicate rule id '{rule_id}'")
        else:
            merged[rule_id] = RuleSource(
                {**base.fields, **source.fields}, source.document, source.path
            )
    return merged


def _compile_rule(source: RuleSource, problems: list[str]) -> CompiledRule | None:
    try:
        rule = Rule.model_validate(source.fields)
    except ValidationError as error:
        problems.extend(describe_validation_error(error, source.document, Rule, source.path))
        return None
    regex_where = source.document.where((*source.path, "regex"))
    label = f"{regex_where}: at '{format_key_path((*source.path, 'regex'))}' (rule {rule.id})"
    try:
        pattern = re2.compile(rule.regex.encode(), re2_options())
    except re2.error as error:
        problems.append(f"{label}: invalid regex: {_re2_message(error)}")
        return None
    groups = {name.decode() for name in pattern.groupindex}
    missing = rule.summary_placeholders() - groups
    if missing:
        where = source.document.where((*source.path, "summary"))
        problems.append(
            f"{where}: at '{format_key_path((*source.path, 'summary'))}' (rule {rule.id}): "
            f"summary names groups the regex does not define: {', '.join(sorted(missing))}"
        )
    for needed in _required_groups(rule) - groups:
        problems.append(f"{label}: a rule of kind '{rule.kind}' needs a group named `{needed}`")
    return CompiledRule(rule, pattern)


def _required_groups(rule: Rule) -> set[str]:
    if rule.kind is RuleKind.EXIT:
        return {"code"}
    if rule.kind is RuleKind.METRIC:
        return {"value"}
    return set()


def _re2_message(error: Exception) -> str:
    message = error.args[0] if error.args else error
    return message.decode() if isinstance(message, bytes) else str(message)


def _describe(error: ValidationError, document: LocatedDocument, base: KeyPath) -> list[str]:
    lines = []
    for problem in error.errors():
        location: KeyPath = (*base, *(part for part in problem["loc"] if part != "schema_"))
        if problem["loc"] and problem["loc"][0] == "schema_":
            location = (*base, "schema")
        lines.append(
            f"{document.where(location)}: at '{format_key_path(location)}': {problem['msg']}"
        )
    return lines
