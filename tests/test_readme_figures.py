"""The README's performance table is exactly what the benchmarks last wrote to bench/results/."""

from __future__ import annotations

import json
from pathlib import Path

from bench.table import README, load_results, readme_table, render


def test_readme_performance_table_is_the_committed_results() -> None:
    assert readme_table(README.read_text()) == render(load_results())


def test_every_results_file_has_rows_with_a_verdict() -> None:
    for document in load_results():
        assert document["command"] and document["rows"], document["bench"]
        for row in document["rows"]:  # type: ignore[attr-defined]
            assert set(row) >= {"figure", "measured", "target", "met"}, row
            assert isinstance(row["met"], bool)


def test_a_missed_target_is_shown_as_missed(tmp_path: Path) -> None:
    row = {"figure": "ratio", "measured": "1.4", "target": "<= 1", "met": False}
    (tmp_path / "review.json").write_text(
        json.dumps({"bench": "review", "command": "python b.py", "rows": [row]})
    )

    table = render(load_results(tmp_path))

    assert "| `python b.py` | ratio | 1.4 | <= 1 | **missed** |" in table
