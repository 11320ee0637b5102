"""Making untrusted text safe and short for Slack."""

from __future__ import annotations

from eagle3_monitor.printable import visible

ELLIPSIS = "…"


def escape(text: str) -> str:
    """Slack's three control characters, `&` first: a log line holding `<!channel>` must not
    ping a channel, nor `<https://x|y>` become a disguised link. Code blocks need this too.
    Terminal escape sequences and other control characters are shown, not passed on."""
    text = visible(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """Escaped, then cut without splitting an escape sequence."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def code_block(lines: list[str], limit: int) -> str:
    """Lines in a ``` block, escaped, within `limit` characters including the fences."""
    body_limit = limit - 8
    kept: list[str] = []
    used = 0
    for line in lines:
        piece = safe(line, min(600, body_limit))
        if used + len(piece) + 1 > body_limit:
            kept.append(ELLIPSIS)
            break
        kept.append(piece)
        used += len(piece) + 1
    body = "\n".join(kept).replace("`", "`\u200b")  # no two backticks touch: no fence inside
    return f"```\n{body}\n```"
