"""`eagle3-monitor rules docs`: prints the category page, or with -o writes it, whole; what it
writes is the committed docs/categories.md (tests/test_docs_and_examples.py keeps that fresh)."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import run_cli

REPO = Path(__file__).resolve().parents[1]


def test_rules_docs_with_output_writes_the_page_it_prints(tmp_path: Path) -> None:
    page = tmp_path / "categories.md"

    written = run_cli("rules", "docs", "-o", page)
    printed = run_cli("rules", "docs")

    assert (written.status, written.stdout) == (0, "")
    assert written.stderr == f"wrote {page}\n"
    assert page.read_text() == printed.stdout == (REPO / "docs" / "categories.md").read_text()
    assert "rules docs -o docs/categories.md" in printed.stdout.splitlines()[2]
    assert not list(tmp_path.glob(".*.tmp"))


def test_rules_docs_into_a_missing_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    done = run_cli("rules", "docs", "-o", tmp_path / "no" / "categories.md")

    assert done.status == 2, done
    [line] = done.stderr.splitlines()
    assert line.startswith(f"eagle3-monitor: error: {tmp_path}/no/categories.md: cannot write")
