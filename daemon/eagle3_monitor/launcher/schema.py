"""The launcher's YAML vocabulary: which keys each level accepts, with their types, and which
scripts exist under `common/`. Kept in `schema.json` beside this file, written from a launcher
checkout by `python -m eagle3_monitor.launcher.refresh`."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LEVELS = ("launch", "pipeline", "task", "global_vars", "slurm_config")
SCHEMA_FILE = "schema.json"


@dataclass(frozen=True)
class LauncherSchema:
    """Field name → type text (`str`, `int`, `bool`, `list[str]`, …) per level."""

    fields: dict[str, dict[str, str]]
    scripts: frozenset[str]
    stale_scripts: dict[str, str]

    def keys(self, level: str) -> dict[str, str]:
        return self.fields.get(level, {})

    def is_stale(self, script: str) -> str | None:
        """Why a script is out of date, or None."""
        if script.startswith("services/"):
            return "the launcher's old layout: scripts now live under common/"
        return self.stale_scripts.get(script)


def closest(name: str, candidates: list[str] | set[str] | frozenset[str]) -> str | None:
    """The candidate a typo most likely meant (`sript` → `script`), or None."""
    found = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


@cache
def bundled_schema() -> LauncherSchema:
    text = resources.files("eagle3_monitor.launcher").joinpath(SCHEMA_FILE).read_text("utf-8")
    return schema_from(json.loads(text))


def schema_from(data: dict[str, Any]) -> LauncherSchema:
    return LauncherSchema(
        fields={level: dict(data.get(level, {})) for level in LEVELS},
        scripts=frozenset(data.get("scripts", ())),
        stale_scripts=dict(data.get("stale_scripts", {})),
    )
