"""Text from files and file names made safe to print: no control characters or escape
sequences reach a terminal or a Slack message raw. A log line or a file name can hold an OSC
sequence (`ESC ] … BEL`: set the window title, write a hyperlink, on some terminals worse), C1
controls (U+0080 to U+009F, `CSI` among them) or bidirectional overrides that make text read
differently from what it is."""

from __future__ import annotations

import re

# ESC-introduced sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ESC \\`, two-byte ESC x).
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?"
)
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def visible(text: str) -> str:
    """`text` with escape sequences removed and other unsafe characters shown as `\\xNN` or
    `\\uNNNN`, so a hostile name stays recognisable but inert."""
    return _UNSAFE.sub(_shown, _ESCAPE_SEQUENCE.sub("", text))


def stripped(text: str) -> str:
    """`text` with escape sequences and unsafe characters removed (log lines quoted as
    evidence: colours and cursor moves are noise there)."""
    return _UNSAFE.sub("", _ESCAPE_SEQUENCE.sub("", text))


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
