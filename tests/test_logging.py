"""The daemon's logs: JSON lines off a terminal, stdlib loggers routed through structlog,
secrets redacted everywhere, tracebacks included."""

from __future__ import annotations

import json
import subprocess
import sys

SECRET = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
PROGRAM = f"""
import logging
import structlog
from eagle3_monitor.service.logging_setup import configure_logging

configure_logging("info", json=True)
structlog.get_logger("eagle3_monitor").info("posted", token="{SECRET}", channel="C1")
logging.getLogger("slack_sdk.web").warning("request failed for %s", "{SECRET}")
logging.getLogger("apscheduler.scheduler").warning("skipped: maximum number of running instances")
try:
    raise RuntimeError("auth failed with {SECRET}")
except RuntimeError:
    structlog.get_logger("eagle3_monitor").exception("review failed")
structlog.get_logger("eagle3_monitor").debug("not shown at info")
"""


def test_logs_are_json_lines_with_secrets_redacted_and_stdlib_records_included() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True
    )
    assert SECRET not in done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(r["event"].split()[0], r["level"]) for r in records] == [
        ("posted", "info"),
        ("request", "warning"),
        ("review", "error"),
    ]
    assert records[0]["channel"] == "C1" and "redacted" in records[0]["token"]
    assert "redacted" in records[1]["event"]
    assert "RuntimeError: auth failed with xox?-…redacted…" in records[2]["exception"]
    assert all(record["timestamp"].endswith("Z") for record in records)


def test_console_format_is_one_readable_line_per_event() -> None:
    program = PROGRAM.replace("json=True", "json=False")
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert SECRET not in done.stderr
    first = done.stderr.splitlines()[0]
    assert "posted" in first and "channel=C1" in first and not first.startswith("{")
