"""Errors that reach the user as one line, never as a traceback."""

from __future__ import annotations


class MonitorError(Exception):
    """A problem with the user's input that the CLI reports as one line (exit status 2)."""


class ConfigError(MonitorError):
    """A config or rule file that does not load or validate. The message names file:line:column."""


class UnusableInputError(MonitorError):
    """A path that cannot be reviewed: missing, empty of logs, unreadable."""
