"""A scan pattern without the tail that only lengthens its match.

The one-pass scan asks *which lines* a rule matches; the line is then confirmed with the rule's
full regex. A pattern ending in `(?:[^\\r\\n]{1,160})` or `[^\\r\\n]*` makes Hyperscan report a
match at every byte of that tail (it reports every end offset), which costs a Python call each:
"NCCL WARN …" lines made 1.6 reports per line. So the tail is cut, from the end inwards:

  X*  X?  X{0,n}  (any lazy form too)    dropped: they also match nothing
  X+  X{m,}  X{m,n}                      become X{m}: a line with more has m of them
  (?:…) or (…) as the last item          its own last item is cut the same way
  A|B at the top of a group or pattern   each branch is cut

A line holds a match of the cut pattern exactly when it holds one of the full pattern, so
the lines found do not change (tests/test_rule_catalog.py checks this on every rule's samples).
A branch that would be cut to nothing is kept whole.
"""

from __future__ import annotations

import re

_QUANTIFIER = re.compile(r"(?:[*+?]|\{(\d*)(?:,(\d*))?\})[?+]?")
_GROUP_OPENING = re.compile(r"\((?:\?(?:[a-zA-Z]*:|P<\w+>|<\w+>))?")


def without_tail(pattern: str) -> str:
    """`pattern` with its match-lengthening tail cut (see the module's docstring)."""
    branches = _split_branches(pattern)
    if branches is None:
        return pattern
    return "|".join(_cut_branch(branch) or branch for branch in branches)


def _cut_branch(branch: str) -> str:
    """The branch cut; "" when all of it may match nothing."""
    items = _items(branch)
    if items is None:
        return branch
    while items:
        atom, quantifier = items[-1]
        minimum = _minimum(quantifier)
        if minimum == 0:
            items.pop()
            continue
        if minimum is not None:
            items[-1] = (atom, "" if minimum == 1 else f"{{{minimum}}}")
        elif (opening := _group_opening(atom)) is not None:
            inner = _cut_group(atom[opening:-1])
            if inner == "":
                items.pop()  # the group may match nothing: it goes like `X?`
                continue
            items[-1] = (atom[:opening] + inner + ")", "")
        break
    return "".join(atom + quantifier for atom, quantifier in items)


def _cut_group(contents: str) -> str:
    """A group's contents cut; "" when one of its branches may match nothing."""
    branches = _split_branches(contents)
    if branches is None:
        return contents
    cut = [_cut_branch(branch) for branch in branches]
    return "" if "" in cut else "|".join(cut)


def _group_opening(atom: str) -> int | None:
    """Where a group's contents start (`(`, `(?:`, `(?i:`, a named group); None for anything
    else, such as a flag setting `(?i)`."""
    opening = _GROUP_OPENING.match(atom)
    if opening is None or not atom.endswith(")") or (atom.startswith("(?") and opening.end() == 1):
        return None
    return opening.end()


def _minimum(quantifier: str) -> int | None:
    """The least repetitions a quantifier allows; None without a quantifier."""
    if not quantifier:
        return None
    if quantifier[0] in "*?":
        return 0
    if quantifier[0] == "+":
        return 1
    match = _QUANTIFIER.fullmatch(quantifier)
    if match is None or not match.group(1):
        return None
    return int(match.group(1))


def _items(branch: str) -> list[tuple[str, str]] | None:
    """The branch as (atom, quantifier) pairs; None when it cannot be read with certainty."""
    items: list[tuple[str, str]] = []
    position = 0
    while position < len(branch):
        end = _atom_end(branch, position)
        if end is None:
            return None
        quantifier = _QUANTIFIER.match(branch, end)
        stop = quantifier.end() if quantifier else end
        items.append((branch[position:end], branch[end:stop]))
        position = stop
    return items


def _atom_end(pattern: str, position: int) -> int | None:
    character = pattern[position]
    if character == "\\":
        return position + 2 if position + 1 < len(pattern) else None
    if character == "[":
        return _class_end(pattern, position)
    if character == "(":
        return _group_end(pattern, position)
    if character in ")|":
        return None
    return position + 1


def _class_end(pattern: str, position: int) -> int | None:
    """The index after the `]` closing the class opened at `position`."""
    index = position + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":
        index += 1  # a literal `]` first in the class
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "[" and pattern.startswith("[:", index):
            close = pattern.find(":]", index + 2)
            if close < 0:
                return None
            index = close + 2
            continue
        if pattern[index] == "]":
            return index + 1
        index += 1
    return None


def _group_end(pattern: str, position: int) -> int | None:
    """The index after the `)` closing the group opened at `position`."""
    depth, index = 0, position
    while index < len(pattern):
        character = pattern[index]
        if character == "\\":
            index += 2
            continue
        if character == "[":
            end = _class_end(pattern, index)
            if end is None:
                return None
            index = end
            continue
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return None


def _split_branches(pattern: str) -> list[str] | None:
    """The pattern's top-level alternatives; None when it cannot be read with certainty."""
    branches: list[str] = []
    start = position = 0
    while position < len(pattern):
        character = pattern[position]
        if character == "|":
            branches.append(pattern[start:position])
            start = position = position + 1
            continue
        end = _atom_end(pattern, position)
        if end is None:
            return None
        position = end
    branches.append(pattern[start:])
    return branches
