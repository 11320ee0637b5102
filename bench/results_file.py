"""The one format every benchmark writes its figures in: bench/results/<bench>.json, read by
bench/table.py to write the README's performance table."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
Row = dict[str, object]


def row(figure: str, measured: str, target: str, met: bool) -> Row:
    return {"figure": figure, "measured": measured, "target": target, "met": met}


def print_row(found: Row) -> None:
    verdict = "OK" if found["met"] else "MISSED"
    print(f"{found['figure']}: {found['measured']}  target {found['target']}  {verdict}")


def write_results(bench: str, command: str, rows: list[Row]) -> Path:
    """Write the figures of a full run (the README's table is generated from them)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{bench}.json"
    document = {"bench": bench, "command": command, "rows": rows}
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"written: bench/results/{path.name}")
    return path
