"""The README's performance table, written from the benchmarks' results files.

Each benchmark writes bench/results/<name>.json when run in full ({"bench", "command",
"rows": [{"figure", "measured", "target", "met"}]}); this script renders them as one Markdown
table between the README's `bench-table` markers, so the README says what the benchmarks
printed and nothing else. tests/test_readme_figures.py fails when the two differ.

    python bench/table.py          # rewrite the README's table
    python bench/table.py --check  # exit 1 when the README's table is not the results'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
BEGIN = "<!-- bench-table:begin (written by bench/table.py from bench/results/) -->"
END = "<!-- bench-table:end -->"
ORDER = ("review", "poll", "alert_latency", "daemon", "fault", "adversarial")


def load_results(directory: Path = RESULTS) -> list[dict[str, object]]:
    documents = [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
    rank = {name: index for index, name in enumerate(ORDER)}
    return sorted(
        documents, key=lambda doc: (rank.get(str(doc["bench"]), len(ORDER)), doc["bench"])
    )


def render(documents: list[dict[str, object]]) -> str:
    lines = [BEGIN, "", "| benchmark | figure | measured | target | |", "|---|---|---|---|---|"]
    for document in documents:
        command = f"`{document['command']}`"
        for row in document["rows"]:  # type: ignore[attr-defined]
            verdict = "met" if row["met"] else "**missed**"
            cells = (command, row["figure"], row["measured"], row["target"], verdict)
            lines.append("| " + " | ".join(_cell(str(cell)) for cell in cells) + " |")
            command = ""
    return "\n".join([*lines, "", END])


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readme_table(text: str) -> str:
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise SystemExit(f"bench/table.py: {README.name} has no bench-table markers")
    return text[start : stop + len(END)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = README.read_text()
    current, wanted = readme_table(text), render(load_results())
    if args.check:
        if current != wanted:
            print("README.md's performance table is not what bench/results/ holds; run "
                  "python bench/table.py", file=sys.stderr)  # fmt: skip
            return 1
        return 0
    README.write_text(text.replace(current, wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
